# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Vitrage's read API at a past time: ``/v1/at/<RFC 3339 time>/v1/...``.

``/v1/at/<time>`` is a base URL that python-vitrageclient takes as its
endpoint (``vitrage --endpoint .../v1/at/2026-11-21T03:12:00Z topology
show``): under it, ``v1/topology/``, ``v1/resources/``, ``v1/alarm/`` and
``v1/rca/`` answer as vitrage-api 15.0.1 does, with the same methods (a
topology or resource list is a POST with a JSON body, as Vitrage's client
sends it), parameters and JSON shapes, over the graph replayed at that
time (:mod:`vitrage_persistor.replay.vitrage_views`).

Tenants are Vitrage's: the caller's project and admin role make Vitrage's
API context, and ``all_tenants`` needs ``persistor:vitrage:get:all_tenants``
(admin by default), as Vitrage's ``...:all_tenants`` rules do.
"""

import webob.exc

from vitrage_persistor.api import params
from vitrage_persistor.replay import vitrage_views

_MAX_ID = 255
_ALARM_LIST_PARAMS = ('vitrage_id', 'all_tenants', 'limit', 'sort_by',
                      'sort_dirs', 'filter_by', 'filter_vals', 'next_page',
                      'marker')
_REPEATABLE = ('sort_by', 'sort_dirs', 'filter_by', 'filter_vals')


class VitrageAtHandlers:
    """Handlers of the ``/v1/at/{at}/v1/...`` routes (mixed into the API)."""

    def _caller(self, context, all_tenants: bool) -> vitrage_views.Caller:
        if all_tenants:
            self._authorize(context, 'persistor:vitrage:get:all_tenants')
        return vitrage_views.Caller(
            project_id=context.project_id,
            is_admin=self._allowed(context, 'context_is_admin'))

    def _graph_at(self, at: str):
        when = params.timestamp('at', at)
        return self.graphs.replay('at', at=when).graph

    def _answer(self, produce):
        try:
            return self._json_any(produce())
        except vitrage_views.QueryError as exc:
            raise params.bad_request(str(exc)) from None
        except vitrage_views.NotFound as exc:
            raise webob.exc.HTTPNotFound(detail=str(exc)) from None
        except vitrage_views.NetworkxTooNew as exc:
            raise webob.exc.HTTPNotImplemented(detail=str(exc)) from None

    def at_topology(self, req, context, at):
        self._query(req)
        body = params.json_body(req, ('depth', 'graph_type', 'query',
                                      'root', 'all_tenants'))
        all_tenants = params.loose_boolean('all_tenants',
                                           body.get('all_tenants'))
        graph_type = body.get('graph_type') or 'graph'
        if graph_type not in ('graph', 'tree'):
            raise params.bad_request('graph_type must be graph or tree, got '
                                     '%r' % (graph_type,))
        depth = params.optional_integer('depth', body.get('depth'), 1,
                                        10000)
        query = params.graph_query('query', body.get('query'))
        root = params.optional_text('root', body.get('root'), _MAX_ID)
        caller = self._caller(context, all_tenants)
        graph = self._graph_at(at)
        return self._answer(lambda: vitrage_views.topology(
            graph, caller, graph_type, depth, query, root, all_tenants))

    def _resource_args(self, req):
        if req.method == 'POST':
            self._query(req)
            return params.json_body(req, ('resource_type', 'all_tenants',
                                          'query'))
        return self._query(req, 'resource_type', 'all_tenants', 'query')

    def at_resources(self, req, context, at):
        args = self._resource_args(req)
        all_tenants = params.loose_boolean('all_tenants',
                                           args.get('all_tenants'))
        resource_type = params.optional_text(
            'resource_type', args.get('resource_type'), _MAX_ID)
        query = params.graph_query('query', args.get('query'))
        caller = self._caller(context, all_tenants)
        graph = self._graph_at(at)
        return self._answer(lambda: vitrage_views.resources(
            graph, caller, resource_type, all_tenants, query))

    def at_resource(self, req, context, at, vitrage_id):
        self._query(req)
        params.text('vitrage_id', vitrage_id, _MAX_ID)
        caller = self._caller(context, False)
        graph = self._graph_at(at)
        return self._answer(lambda: vitrage_views.resource(
            graph, caller, vitrage_id))

    def at_alarms(self, req, context, at):
        q = params.query_lists(req.environ, _ALARM_LIST_PARAMS, _REPEATABLE)
        all_tenants = params.boolean('all_tenants', q.get('all_tenants'))
        limit = params.integer('limit', q.get('limit'), 1000, 1,
                               vitrage_views.MAX_ALARMS)
        vitrage_id = params.text('vitrage_id', q.get('vitrage_id', 'all'),
                                 _MAX_ID)
        marker = q.get('marker')
        if marker is not None:
            params.text('marker', marker, _MAX_ID)
        next_page = params.boolean('next_page', q.get('next_page', 'true'))
        caller = self._caller(context, all_tenants)
        graph = self._graph_at(at)
        return self._answer(lambda: vitrage_views.alarms(
            graph, caller, vitrage_id, all_tenants, limit,
            q.get('sort_by', ['start_timestamp', 'vitrage_id']),
            q.get('sort_dirs', ['asc', 'asc']), q.get('filter_by', []),
            q.get('filter_vals', []), next_page, marker))

    def at_alarm(self, req, context, at, vitrage_id):
        self._query(req)
        params.text('vitrage_id', vitrage_id, _MAX_ID)
        caller = self._caller(context, False)
        graph = self._graph_at(at)
        return self._answer(lambda: vitrage_views.alarm(
            graph, caller, vitrage_id))

    def _rca(self, context, at, alarm_id, all_tenants):
        params.text('alarm_id', alarm_id, _MAX_ID)
        caller = self._caller(context, all_tenants)
        graph = self._graph_at(at)
        return self._answer(lambda: vitrage_views.rca(
            graph, caller, alarm_id, all_tenants))

    def at_rca_query(self, req, context, at):
        q = self._query(req, 'alarm_id', 'all_tenants')
        if q.get('alarm_id') is None:
            raise params.bad_request('alarm_id is required')
        return self._rca(context, at, q['alarm_id'],
                         params.boolean('all_tenants', q.get('all_tenants')))

    def at_rca(self, req, context, at, alarm_id):
        q = self._query(req, 'all_tenants')
        return self._rca(context, at, alarm_id,
                         params.boolean('all_tenants', q.get('all_tenants')))
