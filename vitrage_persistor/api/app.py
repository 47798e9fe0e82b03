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

"""WSGI application of the read-only API.

The routes are the table :data:`ROUTES`; ``openapi.yaml`` next to this
module describes each of them, and a unit test keeps the two in step.
``/healthcheck`` is oslo.middleware's healthcheck.

Public routes need no token: the version documents, the OpenAPI document
and the static files of the history page (which hold no data; the page
fetches its data from the protected routes).

Authentication is keystonemiddleware's ``auth_token`` when
``[api] auth_strategy = keystone``; the version documents, the OpenAPI
document and the healthcheck need no token. With ``noauth`` a request acts
as an admin of no project unless it narrows itself with ``X-Roles`` and
``X-Project-Id`` headers (as Vitrage's noauth mode reads them); that mode
is for development and tests only.

Every refusal is a JSON error ``{"error": {"code", "message"}}``: 4xx with
a message naming the parameter for bad input, 503 while the database is
unreachable, and 500, logged with its traceback, only for a fault of ours.
"""

import dataclasses
import json
import os
import urllib.parse
from collections.abc import Callable

import webob
import webob.dec
import webob.exc
import yaml
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log
from oslo_middleware import (
    healthcheck,
    http_proxy_to_wsgi,
    request_id,
    sizelimit,
)
from oslo_middleware.healthcheck import opts as healthcheck_opts

from vitrage_persistor.api import (
    graph_routes,
    graphs,
    health,
    history_page,
    params,
    policy,
    views,
    vitrage_at,
)
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import entity_ids

LOG = log.getLogger(__name__)

OPENAPI_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'openapi.yaml')
HEALTHCHECK_PATH = '/healthcheck'
_MAX_TEXT = 255


class ConfigurationError(Exception):
    """The API cannot start with this configuration; the message says why."""


def _json(body, status=200) -> webob.Response:
    """A JSON response; ``body`` may be any JSON value."""
    return webob.Response(
        body=json.dumps(body, ensure_ascii=False).encode('utf-8'),
        status=status, content_type='application/json', charset='utf-8')


def _error(status: int, message: str, **headers) -> webob.Response:
    # 'description' too: python-vitrageclient shows that key of an error
    # (vitrage-api's pecan errors), and says "Unknown Error" without it.
    resp = _json({'error': {'code': status, 'message': message},
                  'description': message}, status)
    resp.headers.update(headers)
    return resp


@dataclasses.dataclass(frozen=True)
class Route:
    """One GET route: a path template, its handler and its policy rule."""

    template: str
    handler: str
    rule: str | None = None
    public: bool = False
    methods: tuple[str, ...] = ('GET',)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.template.split('/') if s)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        args = {}
        for pattern, segment in zip(self.segments, segments, strict=True):
            if pattern.startswith('{'):
                args[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return args


ROUTES = (
    Route('/', 'versions', public=True),
    Route('/v1', 'version', public=True),
    Route('/v1/openapi.json', 'openapi_json', public=True),
    Route('/v1/openapi.yaml', 'openapi_yaml', public=True),
    Route('/v1/status', 'status', 'persistor:status:get'),
    Route('/v1/events', 'list_events', 'persistor:event:get'),
    Route('/v1/events/{event_id}', 'show_event', 'persistor:event:get'),
    Route('/v1/quarantine', 'list_quarantine', 'persistor:quarantine:get'),
    Route('/v1/entities/{key}/history', 'entity_history',
          'persistor:event:get'),
    Route('/v1/graph', 'show_graph', 'persistor:graph:get'),
    Route('/v1/graph/diff', 'graph_diff', 'persistor:graph:get'),
    # the history page (api/history_page.py): static and public, its data
    # under the graph routes' rule
    Route('/v1/history', 'history_page', public=True),
    Route('/v1/history/history.js', 'history_script', public=True),
    Route('/v1/history/cytoscape.min.js', 'history_cytoscape', public=True),
    Route('/v1/history/times', 'history_times', 'persistor:graph:get'),
    Route('/v1/history/graph', 'history_graph', 'persistor:graph:get'),
    # Vitrage's read API at a past time (api/vitrage_at.py)
    Route('/v1/at/{at}/v1/topology', 'at_topology', 'persistor:vitrage:get',
          methods=('POST',)),
    Route('/v1/at/{at}/v1/resources', 'at_resources',
          'persistor:vitrage:get', methods=('GET', 'POST')),
    Route('/v1/at/{at}/v1/resources/{vitrage_id}', 'at_resource',
          'persistor:vitrage:get'),
    Route('/v1/at/{at}/v1/alarm', 'at_alarms', 'persistor:vitrage:get'),
    Route('/v1/at/{at}/v1/alarm/{vitrage_id}', 'at_alarm',
          'persistor:vitrage:get'),
    Route('/v1/at/{at}/v1/rca', 'at_rca_query', 'persistor:vitrage:get'),
    Route('/v1/at/{at}/v1/rca/{alarm_id}', 'at_rca',
          'persistor:vitrage:get'),
)
_PUBLIC_PATHS = frozenset(r.template.rstrip('/') for r in ROUTES if r.public)


def load_openapi(max_limit: int) -> dict:
    """The committed OpenAPI document, with this deployment's page size."""
    with open(OPENAPI_PATH, encoding='utf-8') as f:
        document = yaml.safe_load(f)
    limit = document['components']['parameters']['Limit']['schema']
    limit['maximum'] = max_limit
    limit['default'] = min(limit['default'], max_limit)
    document['components']['parameters']['LargestLimit']['schema'][
        'maximum'] = max_limit
    return document


class PersistorAPI(vitrage_at.VitrageAtHandlers, graph_routes.GraphHandlers,
                   history_page.HistoryHandlers):
    """Routes requests to handlers; each handler checks one policy rule."""

    def __init__(self, conf: cfg.ConfigOpts, store: storage_api.Store):
        self.conf = conf
        self.store = store
        self.graphs = graphs.GraphCache(conf, store)
        self.enforcer = policy.make_enforcer(conf)
        self._openapi = load_openapi(conf.api.max_limit)
        self._openapi_yaml = yaml.safe_dump(self._openapi, sort_keys=False,
                                            allow_unicode=True)

    # -- auth ------------------------------------------------------------

    def _context(self, req) -> oslo_context.RequestContext:
        if (self.conf.api.auth_strategy == 'noauth'
                and 'HTTP_X_ROLES' not in req.environ):
            return oslo_context.RequestContext(roles=['admin', 'reader'],
                                               is_admin=True)
        return oslo_context.RequestContext.from_environ(req.environ)

    def _allowed(self, context, rule: str) -> bool:
        return self.enforcer.authorize(rule, {}, context.to_policy_values(),
                                       do_raise=False)

    def _authorize(self, context, rule: str) -> None:
        if not self._allowed(context, rule):
            raise webob.exc.HTTPForbidden(
                detail='policy does not allow %s' % rule)

    def _projects(self, context, all_tenants: bool):
        """Which projects' events this caller reads; None for all.

        Vitrage's rule: a non-admin reads its own project, an admin also
        the entities of no project, and ``all_tenants`` needs admin.
        """
        if all_tenants:
            self._authorize(context, 'persistor:event:get:all_tenants')
            return None
        if context.project_id is None:
            if self._allowed(context, 'persistor:event:get:all_tenants'):
                return None
            raise webob.exc.HTTPForbidden(
                detail='a project-scoped token is needed to read events')
        if self._allowed(context, 'persistor:event:get:no_project'):
            return (context.project_id, None)
        return (context.project_id,)

    # -- dispatch --------------------------------------------------------

    @webob.dec.wsgify
    def __call__(self, req):
        allowed: list[str] = []
        try:
            segments = params.path_segments(req.environ)
            for route in ROUTES:
                args = route.match(segments)
                if args is None:
                    continue
                if req.method in route.methods:
                    return self._handle(req, route, args)
                allowed.extend(route.methods)
            if segments == [HEALTHCHECK_PATH.strip('/')]:
                allowed.append('GET')   # GET and HEAD go to oslo's app
            if allowed:
                raise webob.exc.HTTPMethodNotAllowed(
                    detail='the API is read-only: this route takes %s'
                    % ', '.join(sorted(set(allowed))))
            raise webob.exc.HTTPNotFound(detail='no such resource')
        except webob.exc.HTTPException as exc:
            extra = ({'Allow': ', '.join(sorted(set(allowed)) or ['GET'])}
                     if exc.code == 405 else {})
            return _error(exc.code, exc.detail or exc.explanation, **extra)
        except storage_api.UNAVAILABLE as exc:
            LOG.warning('database unavailable: %s', exc)
            return _error(503, 'the database is unavailable; retry later',
                          **{'Retry-After': '10'})
        except Exception:
            LOG.exception('unexpected error on GET %r',
                          req.environ.get('PATH_INFO'))
            return _error(500, 'internal error, logged with request id %s'
                          % req.environ.get('openstack.request_id'))

    def _handle(self, req, route: Route, args: dict[str, str]):
        handler: Callable = getattr(self, route.handler)
        context = None
        if route.rule is not None:
            context = self._context(req)
            self._authorize(context, route.rule)
        return handler(req, context, **args)

    @staticmethod
    def _json_any(body) -> webob.Response:
        return webob.Response(
            body=json.dumps(body, ensure_ascii=False,
                            default=str).encode('utf-8'),
            content_type='application/json', charset='utf-8')

    def _query(self, req, *allowed: str) -> dict[str, str]:
        return params.query(req.environ, allowed)

    def _link(self, req, path: str, query: dict) -> str:
        """A link relative to the host, URL-encoded, under SCRIPT_NAME."""
        return '%s%s?%s' % (urllib.parse.quote(req.script_name), path,
                            urllib.parse.urlencode(query))

    # -- handlers --------------------------------------------------------

    def versions(self, req, context):
        self._query(req)
        return _json({'versions': [views.version(req.application_url)]})

    def version(self, req, context):
        self._query(req)
        return _json({'version': views.version(req.application_url)})

    def openapi_json(self, req, context):
        self._query(req)
        return _json(self._openapi)

    def openapi_yaml(self, req, context):
        self._query(req)
        return webob.Response(body=self._openapi_yaml.encode('utf-8'),
                              content_type='application/yaml',
                              charset='utf-8')

    def status(self, req, context):
        self._query(req)
        return _json(views.status(self.store.event_counts(),
                                  self.store.quarantine_summary(),
                                  self.store.list_snapshots(),
                                  self.store.quarantine_by_source(),
                                  self.store.agent_reports()))

    def list_events(self, req, context):
        q = self._query(req, 'after_id', 'limit', 'entity_type', 'from',
                        'to', 'all_tenants')
        after_id = params.integer('after_id', q.get('after_id'), 0, 0,
                                  params.MAX_ID)
        limit = params.integer('limit', q.get('limit'),
                               min(100, self.conf.api.max_limit), 1,
                               self.conf.api.max_limit)
        entity_type = params.text('entity_type', q.get('entity_type'),
                                  _MAX_TEXT)
        since = params.timestamp('from', q.get('from'))
        before = params.timestamp('to', q.get('to'))
        projects = self._projects(
            context, params.boolean('all_tenants', q.get('all_tenants')))
        items = self.store.list_events_page(
            after_id=after_id, limit=limit, entity_type=entity_type,
            since=since, before=before, projects=projects)
        body = {'events': [views.event(item) for item in items]}
        if len(items) == limit:
            q.update(after_id=str(items[-1].id), limit=str(limit))
            body['next'] = self._link(req, '/v1/events', q)
        return _json(body)

    def show_event(self, req, context, event_id):
        q = self._query(req, 'all_tenants')
        number = params.integer('event_id', event_id, 0, 1, params.MAX_ID)
        projects = self._projects(
            context, params.boolean('all_tenants', q.get('all_tenants')))
        item = self.store.get_event(number, projects=projects)
        if item is None:
            raise webob.exc.HTTPNotFound(detail='event %d not found' % number)
        return _json(views.event(item))

    def entity_history(self, req, context, key):
        q = self._query(req, 'after_id', 'limit', 'from', 'to', 'related',
                        'all_tenants')
        key = params.text('key', key, entity_ids.MAX_ENTITY_ID_LEN + 64)
        entity = entity_ids.from_key(key)
        after_id = params.integer('after_id', q.get('after_id'), 0, 0,
                                  params.MAX_ID)
        limit = params.integer('limit', q.get('limit'),
                               min(100, self.conf.api.max_limit), 1,
                               self.conf.api.max_limit)
        since = params.timestamp('from', q.get('from'))
        before = params.timestamp('to', q.get('to'))
        related = params.boolean('related', q.get('related'))
        projects = self._projects(
            context, params.boolean('all_tenants', q.get('all_tenants')))
        items = self.store.entity_history_page(
            [entity], after_id=after_id, limit=limit, alarms=related,
            since=since, before=before, projects=projects)
        body = {'entity_id': entity,
                'events': [views.event(item) for item in items]}
        if len(items) == limit:
            q.update(after_id=str(items[-1].id), limit=str(limit))
            body['next'] = self._link(
                req, '/v1/entities/%s/history' % urllib.parse.quote(
                    key, safe=''), q)
        return _json(body)

    def list_quarantine(self, req, context):
        q = self._query(req, 'after_id', 'limit')
        after_id = params.integer('after_id', q.get('after_id'), 0, 0,
                                  params.MAX_ID)
        limit = params.integer('limit', q.get('limit'),
                               min(100, self.conf.api.max_limit), 1,
                               self.conf.api.max_limit)
        rows = self.store.list_quarantine(limit, after_id=after_id)
        body = {'quarantine': [views.quarantined(r) for r in rows]}
        if len(rows) == limit:
            body['next'] = self._link(req, '/v1/quarantine', {
                'after_id': rows[-1]['id'], 'limit': limit})
        return _json(body)


class _PublicOrProtected:
    """Send the healthcheck and public routes past authentication."""

    def __init__(self, public, protected, health):
        self.public = public
        self.protected = protected
        self.health = health

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '').rstrip('/')
        if path == HEALTHCHECK_PATH and environ.get('REQUEST_METHOD') in (
                'GET', 'HEAD'):
            return self.health(environ, start_response)
        if path in _PUBLIC_PATHS or path == '':
            return self.public(environ, start_response)
        return self.protected(environ, start_response)


def check_auth_config(conf: cfg.ConfigOpts) -> None:
    """Refuse a keystone mode that would answer every request with 500.

    keystonemiddleware starts without an auth plugin in
    ``[keystone_authtoken]`` and then fails on each request
    (``MissingAuthPlugin``). Call it after keystonemiddleware registered
    its options on ``conf``.
    """
    if conf.api.auth_strategy != 'keystone':
        return
    if ks_loading.load_auth_from_conf_options(
            conf, 'keystone_authtoken') is None:
        raise ConfigurationError(
            '[api] auth_strategy = keystone needs [keystone_authtoken] '
            'settings: auth_type (e.g. password) with its options (auth_url, '
            'username, password, project_name...) and www_authenticate_uri; '
            'or auth_strategy = noauth, for development only')


def make_app(conf: cfg.ConfigOpts, store: storage_api.Store | None = None):
    """Build the WSGI pipeline: proxy headers, request id, auth, the API.

    Raises :class:`ConfigurationError` on an auth configuration that
    could not serve a single request.
    """
    store = store or storage_api.Store.from_conf(conf)
    api = protected = PersistorAPI(conf, store)
    if conf.api.auth_strategy == 'keystone':
        from keystonemiddleware import auth_token
        try:
            protected = auth_token.AuthProtocol(
                api, {'oslo_config_config': conf})
        except ks_exc.ClientException as exc:
            raise ConfigurationError(
                '[api] auth_strategy = keystone, but the auth plugin of '
                '[keystone_authtoken] does not load: %s' % exc) from None
        check_auth_config(conf)
    conf.register_opts(healthcheck_opts.HEALTHCHECK_OPTS, group='healthcheck')
    conf.set_default('backends', [health.NAME], group='healthcheck')
    app = _PublicOrProtected(api, protected,
                             healthcheck.Healthcheck(None, conf))
    app = sizelimit.RequestBodySizeLimiter(app, conf)
    app = request_id.RequestId(app)
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return app
