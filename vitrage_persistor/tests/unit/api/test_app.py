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

"""The read-only API over a real (SQLite) store."""

import datetime
import json
import urllib.parse
from unittest import mock

import webob
from oslo_db import exception as db_exc

from vitrage_persistor.api import app as api_app
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import migration, records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional.db import test_store


class APITestCase(base.TestCase):

    MAX_LIMIT = 50

    def setUp(self):
        super().setUp()
        self.config(auth_strategy='noauth', max_limit=self.MAX_LIMIT,
                    group='api')
        self.store = storage_api.Store.from_conf(self.conf)
        self.addCleanup(self.store.dispose)
        migration.upgrade(self.store)
        self.app = api_app.make_app(self.conf, self.store)

    def _response(self, path, headers=None):
        req = webob.Request.blank(path, headers=headers or {})
        return req.get_response(self.app)

    def _get(self, path, status=200, headers=None):
        resp = self._response(path, headers)
        self.assertEqual(status, resp.status_int, resp.text)
        self.assertTrue(resp.headers['x-openstack-request-id'])
        return json.loads(resp.text)


class TestAPI(APITestCase):

    def test_versions_link_to_a_v1_that_exists(self):
        versions = self._get('/')['versions']
        self.assertEqual('v1', versions[0]['id'])
        href = versions[0]['links'][0]['href']
        self.assertEqual('http://localhost/v1', href)
        version = self._get(urllib.parse.urlsplit(href).path)['version']
        self.assertEqual('CURRENT', version['status'])

    def test_healthcheck_asks_the_database(self):
        resp = self._response('/healthcheck',
                              headers={'Accept': 'application/json'})
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual(['database answers'], resp.json['reasons'])
        # Nothing listens on port 1: refused at once.
        self.config(connection='postgresql+psycopg2://u@127.0.0.1:1/db',
                    max_retries=0, group='database')
        self.app = api_app.make_app(self.conf, self.store)
        resp = self._response('/healthcheck',
                              headers={'Accept': 'application/json'})
        self.assertEqual(503, resp.status_int, resp.text)
        self.assertEqual(['database unavailable'], resp.json['reasons'])

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

    def test_next_link_is_url_encoded_and_keeps_the_filters(self):
        odd = 'a&b=c d/é?#'
        self.store.add_batch([test_store.make_event(i, entity_type=odd)
                              for i in range(3)] +
                             [test_store.make_event(10)])
        page = self._get('/v1/events?limit=2&entity_type=' +
                         urllib.parse.quote(odd, safe=''))
        self.assertEqual(2, len(page['events']))
        link = urllib.parse.urlsplit(page['next'])
        self.assertEqual('/v1/events', link.path)
        self.assertEqual({'entity_type': [odd], 'limit': ['2'],
                          'after_id': [str(page['events'][-1]['id'])]},
                         urllib.parse.parse_qs(link.query))
        rest = self._get(page['next'])['events']
        self.assertEqual([odd], [e['entity_type'] for e in rest])

    def test_time_bounds(self):
        self.store.add_batch([test_store.make_event(i) for i in range(6)])
        t0 = test_store.T0.replace(microsecond=0)

        def stamp(seconds):
            return (t0 + datetime.timedelta(seconds=seconds)).strftime(
                '%Y-%m-%dT%H:%M:%SZ')

        page = self._get('/v1/events?from=%s&to=%s' % (stamp(2), stamp(4)))
        # T0 has .123456: from 2 s keeps events 2 and 3, to 4 s drops 4.
        self.assertEqual(['host-2', 'host-3'],
                         [e['payload']['name'] for e in page['events']])
        empty = self._get('/v1/events?from=%s&to=%s' % (stamp(4), stamp(2)))
        self.assertEqual([], empty['events'])
        offset = (t0 + datetime.timedelta(hours=1, seconds=5)).strftime(
            '%Y-%m-%dT%H:%M:%S+01:00')
        page = self._get('/v1/events?from=' + urllib.parse.quote(offset))
        self.assertEqual(['host-5'],
                         [e['payload']['name'] for e in page['events']])

    def test_status_and_quarantine(self):
        self.store.add_batch([test_store.make_event(1)], [
            records.QuarantineRecord(reason='not_a_dict', detail='list',
                                     raw='[1]', message_id='q1')])
        status = self._get('/v1/status')
        self.assertEqual(1, status['events']['count'])
        self.assertEqual({'not_a_dict': 1}, status['quarantine'])
        rows = self._get('/v1/quarantine')['quarantine']
        self.assertEqual('not_a_dict', rows[0]['reason'])

    def test_status_counts_poison_messages(self):
        self.store.add_batch([], [
            records.QuarantineRecord(reason='not_json', detail='d',
                                     raw='x', source='dead_letter',
                                     raw_format='text'),
            records.QuarantineRecord(reason='conflicting_duplicate',
                                     detail='d', raw='{}',
                                     message_id='m~1'),
            records.QuarantineRecord(reason='bad_priority', detail='d',
                                     raw='{}', source='dispatcher',
                                     text_escaped=True)])
        started = datetime.datetime(2026, 12, 1, 3, 12)
        self.store.report_agent('h1:10', started,
                                {'totals': {'duplicates': 4, 'stored': 9}})
        self.store.report_agent('h2:11', started,
                                {'totals': {'duplicates': 3}})
        status = self._get('/v1/status')
        self.assertEqual({'quarantined': 3, 'dead_lettered': 1,
                          'conflicting_duplicates': 1, 'redeliveries': 7},
                         status['counters'])
        self.assertEqual({'dead_letter': 1, 'endpoint': 1,
                          'dispatcher': 1}, status['quarantine_by_source'])
        self.assertEqual({'h1:10', 'h2:11'},
                         {a['agent'] for a in status['agents']})
        rows = self._get('/v1/quarantine')['quarantine']
        self.assertEqual(['dead_letter', 'endpoint', 'dispatcher'],
                         [r['source'] for r in rows])
        self.assertEqual([False, False, True],
                         [r['text_escaped'] for r in rows])

    def test_quarantine_is_paged(self):
        self.store.add_batch([], [
            records.QuarantineRecord(reason='r%d' % i, detail='d', raw=None,
                                     message_id='q%d' % i)
            for i in range(5)])
        page = self._get('/v1/quarantine?limit=2')
        reasons = [r['reason'] for r in page['quarantine']]
        while 'next' in page:
            page = self._get(page['next'])
            reasons += [r['reason'] for r in page['quarantine']]
        self.assertEqual(['r0', 'r1', 'r2', 'r3', 'r4'], reasons)

    def test_a_full_last_page_ends_with_an_empty_one(self):
        self.store.add_batch([test_store.make_event(i) for i in range(2)])
        page = self._get('/v1/events?limit=2')
        self.assertEqual([], self._get(page['next'])['events'])


class TestBadInput(APITestCase):
    """Every input error is a 4xx whose message names the parameter."""

    def setUp(self):
        super().setUp()
        self.store.add_batch([test_store.make_event(i) for i in range(4)])

    def _refused(self, path, names, status=400):
        err = self._get(path, status=status)['error']
        self.assertEqual(status, err['code'])
        for name in names:
            self.assertIn(name, err['message'])
        return err['message']

    def test_invalid_utf8(self):
        self._refused('/v1/events?limit=%ff', ['limit', 'UTF-8'])
        self._refused('/v1/events?%ff=1', ['UTF-8'])
        self._refused('/v1/events/%ff', ['path', 'UTF-8'])

    def test_ids_are_ascii_digits(self):
        self._refused('/v1/events/%C2%B2', ['event_id'])
        # Arabic-Indic three: int() would read 3, and event 3 exists.
        self._get('/v1/events/3')
        self._refused('/v1/events/%D9%A3', ['event_id'])
        self._refused('/v1/events/-1', ['event_id'])
        self._refused('/v1/events/0', ['event_id'])
        self._refused('/v1/events/1e3', ['event_id'])

    def test_ids_beyond_64_bits(self):
        self._refused('/v1/events/99999999999999999999', ['event_id'])
        self._refused('/v1/events/' + '9' * 5000, ['event_id'])
        self._refused('/v1/events?after_id=9223372036854775808',
                      ['after_id'])
        self._get('/v1/events?after_id=9223372036854775807')

    def test_limits(self):
        self._refused('/v1/events?limit=abc', ['limit must be an integer'])
        self._refused('/v1/events?limit=-1', ['limit', '1 and 50'])
        self._refused('/v1/events?limit=0', ['limit'])
        self._refused('/v1/events?limit=51', ['limit'])
        self._refused('/v1/events?limit=' + '9' * 40, ['limit'])
        self._refused('/v1/quarantine?limit=-5', ['limit'])
        self._refused('/v1/quarantine?after_id=x', ['after_id'])

    def test_unknown_parameters_are_named(self):
        message = self._refused('/v1/events?since=1&until=2&marker=3&at=4',
                                ['since', 'until', 'marker', 'at'])
        self.assertIn('entity_type', message)  # says what it takes
        self._refused('/v1/status?verbose=1', ['verbose'])
        self._refused('/v1/events/1?limit=1', ['limit'])
        self._refused('/?x=1', ['x'])

    def test_repeated_parameter(self):
        self._refused('/v1/events?limit=1&limit=2', ['limit', 'more than'])

    def test_text_and_times(self):
        self._refused('/v1/events?entity_type=%00', ['entity_type'])
        self._refused('/v1/events?entity_type=', ['entity_type'])
        self._refused('/v1/events?entity_type=' + 'x' * 256, ['entity_type'])
        self._refused('/v1/events?from=yesterday', ['from', 'RFC 3339'])
        self._refused('/v1/events?to=2026-13-01T00:00:00Z', ['to'])
        self._refused('/v1/events?to=0001-01-01T00:00:00%2B01:00', ['to'])
        self._refused('/v1/events?all_tenants=maybe', ['all_tenants'])

    def test_not_found_and_read_only(self):
        self._refused('/v1/events/999', ['999'], status=404)
        self._refused('/v1/nothing', ['no such'], status=404)
        self._refused('/v2', ['no such'], status=404)
        for path in ('/v1/events', '/healthcheck'):
            resp = webob.Request.blank(path, method='POST').get_response(
                self.app)
            self.assertEqual(405, resp.status_int)
            self.assertEqual('GET', resp.headers['Allow'])


class TestServerFaults(APITestCase):
    """A database that is down is a 503; a bug of ours a JSON 500."""

    def test_database_down_is_503(self):
        error = db_exc.DBConnectionError(Exception('connection refused'))
        with mock.patch.object(self.store, 'list_events_page',
                               side_effect=error):
            err = self._get('/v1/events', status=503)['error']
        self.assertIn('database is unavailable', err['message'])

    def test_unexpected_error_is_a_json_500_without_traceback(self):
        with mock.patch.object(self.store, 'event_counts',
                               side_effect=KeyError('secret detail')):
            resp = self._response('/v1/status')
        self.assertEqual(500, resp.status_int)
        self.assertEqual('application/json', resp.content_type)
        self.assertNotIn('secret detail', resp.text)
        self.assertNotIn('Traceback', resp.text)
        self.assertIn(resp.headers['x-openstack-request-id'],
                      json.loads(resp.text)['error']['message'])


class TestKeystoneMode(base.TestCase):
    """auth_token in front of the API; no Keystone is contacted here."""

    def _app(self):
        self.config(auth_strategy='keystone', group='api')
        self.config(connection='sqlite://', group='database')
        return api_app.make_app(self.conf)

    def test_refuses_to_start_without_keystone_authtoken(self):
        err = self.assertRaises(api_app.ConfigurationError, self._app)
        self.assertIn('[keystone_authtoken]', str(err))
        self.assertIn('auth_type', str(err))
        self.config(auth_type='password', group='keystone_authtoken')
        err = self.assertRaises(api_app.ConfigurationError, self._app)
        self.assertIn('auth_url', str(err))

    def test_token_needed_except_for_public_routes(self):
        # The first try registers [keystone_authtoken] and refuses.
        self.assertRaises(api_app.ConfigurationError, self._app)
        self.config(www_authenticate_uri='http://127.0.0.1:5000/v3',
                    auth_type='password', group='keystone_authtoken')
        # keystoneauth registers a plugin's options when it loads it.
        self.assertRaises(api_app.ConfigurationError, self._app)
        self.config(auth_url='http://127.0.0.1:5000/v3', username='vp',
                    password='secret', project_name='service',
                    user_domain_name='Default',
                    project_domain_name='Default',
                    group='keystone_authtoken')
        app = self._app()
        for path in ('/v1/events', '/v1/status', '/v1/quarantine'):
            resp = webob.Request.blank(path).get_response(app)
            self.assertEqual(401, resp.status_int, path)
        for path in ('/', '/v1', '/v1/openapi.json', '/healthcheck'):
            resp = webob.Request.blank(path).get_response(app)
            self.assertEqual(200, resp.status_int, path)
