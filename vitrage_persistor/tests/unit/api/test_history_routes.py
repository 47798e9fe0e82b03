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

"""Entity history, graph and /v1/at/ routes: paging, scoping, refusals."""

import dataclasses
import urllib.parse

import webob

from vitrage_persistor.storage import entity_ids
from vitrage_persistor.tests.common import records as test_records
from vitrage_persistor.tests.unit.api import test_app

AT = '/v1/at/2026-01-01T00:00:00Z'


def _event(i, payload):
    record = test_records.make_event(
        i, payload=payload, entity_type=payload['vitrage_entity_type'])
    return dataclasses.replace(record,
                               entity_id=entity_ids.entity_id_of(payload))


class TestEntityHistory(test_app.APITestCase):

    def setUp(self):
        super().setUp()
        events = []
        for i in range(12):
            events.append(_event(i, {'vitrage_entity_type': 'nova.host',
                                     'host': 'host-%d' % (i % 2)}))
        events.append(_event(20, {'vitrage_entity_type': 'nagios',
                                  'resource_name': 'host-0'}))
        events.append(_event(21, {'vitrage_entity_type': 'nova.instance',
                                  'id': 'vm-1', 'tenant_id': 'p1'}))
        self.store.add_batch(events)

    def test_pages_through_one_entity(self):
        seen, path = [], '/v1/entities/host-0/history?limit=4'
        while path:
            body = self._get(path)
            self.assertEqual('host-0', body['entity_id'])
            seen += body['events']
            path = body.get('next')
        self.assertEqual(6, len(seen))
        self.assertEqual({'host-0'}, {e['entity_id'] for e in seen})
        self.assertEqual({'nova.host'}, {e['entity_type'] for e in seen})
        ids = [e['id'] for e in seen]
        self.assertEqual(sorted(ids), ids)

    def test_related_adds_its_alarms_and_keys_work(self):
        body = self._get('/v1/entities/host-0/history?related=true')
        self.assertEqual(['nagios'], [e['entity_type'] for e in
                                      body['events']][-1:])
        key = urllib.parse.quote('RESOURCE:nova.host:host-1', safe='')
        body = self._get('/v1/entities/%s/history' % key)
        self.assertEqual(6, len(body['events']))

    def test_time_bounds_and_tenants(self):
        body = self._get('/v1/entities/host-0/history?from='
                         '2026-11-21T03:12:04Z&to=2026-11-21T03:12:08Z')
        self.assertEqual(2, len(body['events']), body)
        reader = {'X-Roles': 'reader', 'X-Project-Id': 'p1'}
        self.assertEqual([], self._get('/v1/entities/host-0/history',
                                       headers=reader)['events'])
        self.assertEqual(1, len(self._get('/v1/entities/vm-1/history',
                                          headers=reader)['events']))
        self._get('/v1/entities/vm-1/history?all_tenants=true', status=403,
                  headers=reader)

    def test_refusals_name_the_parameter(self):
        for query, name in (('related=maybe', 'related'),
                            ('limit=0', 'limit'), ('from=yesterday', 'from'),
                            ('since=1', 'since')):
            error = self._get('/v1/entities/host-0/history?' + query,
                              status=400)['error']
            self.assertIn(name, error['message'])
        self._get('/v1/entities/%s/history' % ('x' * 400), status=400)


class TestGraphAndAtRoutes(test_app.APITestCase):

    def _send(self, path, method='GET', body=b'', headers=None):
        req = webob.Request.blank(path, method=method, body=body,
                                  headers=headers or {},
                                  content_type='application/json')
        return req.get_response(self.app)

    def test_bad_input_is_refused_before_any_replay(self):
        for path, name in (
                ('/v1/graph?format=png', 'format'),
                ('/v1/graph?at=never', 'at'),
                ('/v1/graph?event_id=%C2%B2', 'event_id'),
                ('/v1/graph?at=2026-01-01T00:00:00Z&event_id=1', 'event_id'),
                ('/v1/graph/diff?from=2026-01-01T00:00:00Z', 'to'),
                ('/v1/at/yesterday/v1/alarm', 'at'),
                (AT + '/v1/alarm?limit=0', 'limit'),
                (AT + '/v1/alarm?next_page=perhaps', 'next_page'),
                (AT + '/v1/alarm?vitrage_id=a&vitrage_id=b', 'vitrage_id'),
                (AT + '/v1/rca', 'alarm_id'),
                (AT + '/v1/resources?query=%7B%22like%22%3A1%7D', 'query')):
            resp = self._send(path)
            self.assertEqual(400, resp.status_int, path)
            self.assertIn(name, resp.json['error']['message'], path)
            self.assertEqual(resp.json['error']['message'],
                             resp.json['description'])

    def test_topology_body_is_checked(self):
        for body, name in ((b'[1]', 'JSON object'), (b'{"x": 1}', 'x'),
                           (b'\xff', 'JSON'),
                           (b'{"graph_type": "ring"}', 'graph_type'),
                           (b'{"depth": "deep"}', 'depth'),
                           (b'{"depth": 0}', 'depth'),
                           (b'{"all_tenants": 3}', 'all_tenants'),
                           (b'{"query": "{\\"==\\": 1}"}', 'query'),
                           (b'{"root": 5}', 'root')):
            resp = self._send(AT + '/v1/topology/', 'POST', body)
            self.assertEqual(400, resp.status_int, body)
            self.assertIn(name, resp.json['error']['message'], body)

    def test_methods_and_policy(self):
        resp = self._send(AT + '/v1/topology')
        self.assertEqual(405, resp.status_int)
        self.assertEqual('POST', resp.headers['Allow'])
        resp = self._send(AT + '/v1/alarm', 'POST', b'{}')
        self.assertEqual('GET', resp.headers['Allow'])
        reader = {'X-Roles': 'reader', 'X-Project-Id': 'p1'}
        self.assertEqual(403, self._send('/v1/graph',
                                         headers=reader).status_int)
        self.assertEqual(403, self._send(
            AT + '/v1/alarm?all_tenants=true', headers=reader).status_int)
        self.assertEqual(403, self._send(
            AT + '/v1/topology', 'POST', b'{"all_tenants": true}',
            headers=reader).status_int)
