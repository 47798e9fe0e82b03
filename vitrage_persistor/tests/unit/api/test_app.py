"""The read-only API over a real (SQLite) store."""

import json

import webob

from vitrage_persistor.api import app as api_app
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import migration, records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional.db import test_store


class TestAPI(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(auth_strategy='noauth', max_limit=50, group='api')
        self.store = storage_api.Store.from_conf(self.conf)
        self.addCleanup(self.store.dispose)
        migration.upgrade(self.store)
        self.app = api_app.make_app(self.conf, self.store)

    def _get(self, path, status=200):
        resp = webob.Request.blank(path).get_response(self.app)
        self.assertEqual(status, resp.status_int, resp.text)
        self.assertTrue(resp.headers['x-openstack-request-id'])
        return json.loads(resp.text)

    def test_versions(self):
        self.assertEqual('v1', self._get('/')['versions'][0]['id'])

    def test_events_are_paged_in_id_order(self):
        self.store.add_batch([test_store.make_event(i) for i in range(7)])
        page = self._get('/v1/events?limit=3')
        self.assertEqual(3, len(page['events']))
        ids = [e['id'] for e in page['events']]
        nxt = self._get(page['next'])
        ids += [e['id'] for e in nxt['events']]
        last = self._get(nxt['next'])
        ids += [e['id'] for e in last['events']]
        self.assertEqual(7, len(set(ids)))
        self.assertEqual(sorted(ids), ids)
        self.assertNotIn('next', last)
        one = self._get('/v1/events/%d' % ids[0])
        self.assertEqual('host-0', one['payload']['name'])
        self.assertTrue(one['collector_timestamp'].endswith('Z'))

    def test_filter_by_entity_type(self):
        self.store.add_batch(
            [test_store.make_event(i, entity_type='nova.host')
             for i in range(3)] +
            [test_store.make_event(10 + i, entity_type='nova.instance')
             for i in range(2)])
        page = self._get('/v1/events?entity_type=nova.instance')
        self.assertEqual({'nova.instance'},
                         {e['entity_type'] for e in page['events']})
        self.assertEqual(2, len(page['events']))

    def test_status_and_quarantine(self):
        self.store.add_batch([test_store.make_event(1)], [
            records.QuarantineRecord(reason='not_a_dict', detail='list',
                                     raw='[1]', message_id='q1')])
        status = self._get('/v1/status')
        self.assertEqual(1, status['events']['count'])
        self.assertEqual({'not_a_dict': 1}, status['quarantine'])
        rows = self._get('/v1/quarantine')['quarantine']
        self.assertEqual('not_a_dict', rows[0]['reason'])

    def test_bad_requests_are_clear(self):
        err = self._get('/v1/events?limit=abc', status=400)
        self.assertIn('limit must be an integer', err['error']['message'])
        self._get('/v1/events?limit=51', status=400)
        self._get('/v1/events/999', status=404)
        self._get('/v1/nothing', status=404)
        resp = webob.Request.blank('/v1/events', method='POST').get_response(
            self.app)
        self.assertEqual(405, resp.status_int)


class TestPolicy(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(auth_strategy='noauth', group='api')
        self.store = storage_api.Store.from_conf(self.conf)
        self.addCleanup(self.store.dispose)
        migration.upgrade(self.store)
        self.api = api_app.PersistorAPI(self.conf, self.store)

    def _as(self, roles, path):
        from oslo_context import context
        self.api._context = lambda req: context.RequestContext(roles=roles)
        return webob.Request.blank(path).get_response(self.api)

    def test_reader_reads_events_but_not_quarantine(self):
        self.assertEqual(200, self._as(['reader'], '/v1/events').status_int)
        self.assertEqual(403,
                         self._as(['reader'], '/v1/quarantine').status_int)
        self.assertEqual(403, self._as(['member'], '/v1/events').status_int)
        self.assertEqual(200, self._as(['admin'], '/v1/quarantine').status_int)
