"""WSGI application of the read-only API.

Routes (all GET, JSON):

* ``/``                      versions
* ``/v1/status``             counts, newest event, quarantine summary
* ``/v1/events``             events in id order: ``after_id``, ``limit``,
                             ``entity_type``
* ``/v1/events/{id}``        one event
* ``/v1/quarantine``         quarantined notifications (admin)

Authentication is keystonemiddleware's ``auth_token`` when
``[api] auth_strategy = keystone``; with ``noauth`` every request acts as
an admin, which is for development only.
"""

import json

import webob
import webob.dec
import webob.exc
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log
from oslo_middleware import http_proxy_to_wsgi, request_id
from oslo_policy import policy as oslo_policy

from vitrage_persistor.api import policy, views
from vitrage_persistor.storage import api as storage_api

LOG = log.getLogger(__name__)


def _json(body, status=200) -> webob.Response:
    return webob.Response(
        body=json.dumps(body, ensure_ascii=False).encode('utf-8'),
        status=status, content_type='application/json', charset='utf-8')


def _error(status: int, message: str) -> webob.Response:
    return _json({'error': {'code': status, 'message': message}}, status)


def _int_param(req, name, default, minimum=0, maximum=None):
    raw = req.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise webob.exc.HTTPBadRequest(
            '%s must be an integer, got %r' % (name, raw)) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise webob.exc.HTTPBadRequest('%s must be between %d and %s' % (
            name, minimum, maximum if maximum is not None else 'any'))
    return value


class PersistorAPI:
    """Routes requests to handlers; each handler checks one policy rule."""

    def __init__(self, conf: cfg.ConfigOpts, store: storage_api.Store):
        self.conf = conf
        self.store = store
        self.enforcer = policy.make_enforcer(conf)

    def _context(self, req) -> oslo_context.RequestContext:
        if self.conf.api.auth_strategy == 'noauth':
            return oslo_context.RequestContext(roles=['admin', 'reader'],
                                               is_admin=True)
        return oslo_context.RequestContext.from_environ(req.environ)

    def _authorize(self, req, rule):
        context = self._context(req)
        try:
            self.enforcer.authorize(rule, {}, context.to_policy_values(),
                                    do_raise=True)
        except oslo_policy.PolicyNotAuthorized:
            raise webob.exc.HTTPForbidden(
                'policy does not allow %s' % rule) from None

    @webob.dec.wsgify
    def __call__(self, req):
        if req.method != 'GET':
            return _error(405, 'the API is read-only')
        parts = [p for p in req.path_info.split('/') if p]
        try:
            if not parts:
                return _json({'versions': [{'id': 'v1', 'status': 'CURRENT',
                                            'links': [{'rel': 'self',
                                                       'href': '/v1'}]}]})
            if parts[0] != 'v1':
                return _error(404, 'no such resource')
            return self._route(req, parts[1:])
        except webob.exc.HTTPException as exc:
            return _error(exc.code, exc.detail or exc.explanation)

    def _route(self, req, parts):
        if parts == ['status']:
            self._authorize(req, 'persistor:status:get')
            return _json(views.status(self.store.event_counts(),
                                      self.store.quarantine_summary(),
                                      self.store.list_snapshots()))
        if parts == ['events']:
            self._authorize(req, 'persistor:event:get')
            return self._list_events(req)
        if len(parts) == 2 and parts[0] == 'events':
            self._authorize(req, 'persistor:event:get')
            if not parts[1].isdigit():
                return _error(400, 'event id must be an integer')
            item = self.store.get_event(int(parts[1]))
            if item is None:
                return _error(404, 'event %s not found' % parts[1])
            return _json(views.event(item))
        if parts == ['quarantine']:
            self._authorize(req, 'persistor:quarantine:get')
            limit = _int_param(req, 'limit', 100, 1,
                               self.conf.api.max_limit)
            return _json({'quarantine': [
                views.quarantined(r)
                for r in self.store.list_quarantine(limit)]})
        return _error(404, 'no such resource')

    def _list_events(self, req):
        after_id = _int_param(req, 'after_id', 0)
        limit = _int_param(req, 'limit', 100, 1, self.conf.api.max_limit)
        entity_type = req.GET.get('entity_type')
        items = []
        for item in self.store.iter_events_by_id(after_id,
                                                 page_size=limit):
            if entity_type and item.entity_type != entity_type:
                continue
            items.append(views.event(item))
            if len(items) >= limit:
                break
        body = {'events': items}
        if len(items) == limit:
            body['next'] = '/v1/events?after_id=%d&limit=%d%s' % (
                items[-1]['id'], limit,
                '&entity_type=%s' % entity_type if entity_type else '')
        return _json(body)


def make_app(conf: cfg.ConfigOpts, store: storage_api.Store | None = None):
    """Build the WSGI pipeline: proxy headers, request id, auth, the API."""
    store = store or storage_api.Store.from_conf(conf)
    app = PersistorAPI(conf, store)
    if conf.api.auth_strategy == 'keystone':
        from keystonemiddleware import auth_token
        app = auth_token.AuthProtocol(app, {'oslo_config_config': conf})
    app = request_id.RequestId(app)
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return app
