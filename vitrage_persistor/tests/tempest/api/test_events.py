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

"""The read-only API as a deployment serves it."""

from tempest.lib import decorators, exceptions

from vitrage_persistor.tests.tempest.api import base


class EventsTest(base.BaseTest):

    @decorators.idempotent_id('6f3c3c3a-1c1e-4a55-9d0e-5f8b1a3e7c01')
    def test_versions(self):
        body = self.client.versions()
        self.assertEqual('v1', body['versions'][0]['id'])

    @decorators.idempotent_id('0a9f6c6e-2c55-4a1f-8b8e-4b1d8d9e7c02')
    def test_published_event_is_served_with_its_payload(self):
        before = self.admin_client.status()['events']['count']
        entity_type, (event,) = self.publish(self.reader_project)
        (served,) = self.wait_stored(entity_type, 1)
        self.assertServedAsPublished(event, served)
        self.assertEqual(entity_type, served['entity_type'])
        self.assertEqual(self.reader_project, served['project_id'])
        one = self.client.show_event(served['id'])
        self.assertEqual(served['payload'], one['payload'])
        mine = self.client.list_events(entity_type=entity_type)['events']
        self.assertEqual([served['id']], [e['id'] for e in mine])
        status = self.admin_client.status()
        self.assertGreater(status['events']['count'], before)
        self.assertGreaterEqual(status['events']['max_id'], served['id'])
        self.assertEqual(1, status['events']['by_entity_type'][entity_type])

    @decorators.idempotent_id('b2f1f7d4-6a0f-4b7b-9c1e-0e2d5c9a7c03')
    def test_events_page_in_id_order(self):
        total = self.client.status()['events']['count']
        page = self.client.list_events(limit=2)
        ids = [e['id'] for e in page['events']]
        self.assertEqual(sorted(ids), ids)
        self.assertEqual(min(total, 2), len(ids))
        if total > 2:
            self.assertIn('next', page)
            nxt = self.client.list_events(after_id=ids[-1], limit=2)
            self.assertGreater(nxt['events'][0]['id'], ids[-1])
        for item in page['events']:
            one = self.client.show_event(item['id'])
            self.assertEqual(item['payload'], one['payload'])

    @decorators.idempotent_id('c4d2e8f1-3b6a-4c7d-8e9f-1a2b3c4d7c04')
    def test_unknown_event_is_404(self):
        self.assertRaises(exceptions.NotFound, self.client.show_event,
                          2 ** 40)

    @decorators.idempotent_id('d5e3f9a2-4c7b-4d8e-9fa0-2b3c4d5e7c05')
    def test_quarantine_is_admin_only(self):
        self.admin_client.list_quarantine()
        if self.reader_client is not self.admin_client:
            self.assertRaises(exceptions.Forbidden,
                              self.reader_client.list_quarantine)

    @decorators.idempotent_id('e6f4a0b3-5d8c-4e9f-8a1b-3c4d5e6f7c06')
    def test_unknown_parameter_is_refused(self):
        err = self.assertRaises(exceptions.BadRequest,
                                self.client.list_events, since='yesterday')
        self.assertIn('since', str(err.resp_body))
