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

"""Tenant scoping as Vitrage does it, through the policy rules in code."""

from vitrage_persistor.storage import tenancy
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional.db import test_store
from vitrage_persistor.tests.unit.api import test_app


def _event(i, **payload):
    payload.setdefault('name', 'e%d' % i)
    payload.setdefault('vitrage_entity_type', 'nova.instance')
    return test_store.make_event(i, payload=payload)


class TestProjectOf(base.TestCase):
    """Where Vitrage 15.0.1's transformers read an entity's project."""

    def test_datasource_fields(self):
        self.assertEqual('p1', tenancy.project_of({'tenant_id': 'p1'}))
        self.assertEqual('p2', tenancy.project_of({'project_id': 'p2'}))
        self.assertEqual('p3', tenancy.project_of(
            {'os-vol-tenant-attr:tenant_id': 'p3'}))
        self.assertEqual('p4', tenancy.project_of(
            {'nova_object.data': {'tenant_id': 'p4'}}))

    def test_no_project(self):
        for event in ({'name': 'host-1'}, {'tenant_id': ''},
                      {'tenant_id': None}, {'project_id': 7},
                      {'tenant_id': 'x' * 65}, {'tenant_id': 'a\x00b'},
                      {'nova_object.data': 'p'}, ['tenant_id'], None):
            self.assertIsNone(tenancy.project_of(event), event)


class TestScoping(test_app.APITestCase):

    def setUp(self):
        super().setUp()
        self.store.add_batch([
            _event(1, tenant_id='pA'), _event(2, tenant_id='pB'),
            _event(3, name='host-1', vitrage_entity_type='nova.host'),
            _event(4, project_id='pA', vitrage_entity_type='aodh'),
        ])
        self.ids = {e.payload['name']: e.id
                    for e in self.store.iter_events_by_id()}

    def _names(self, path, roles, project=None, status=200):
        headers = {'X-Roles': roles}
        if project:
            headers['X-Project-Id'] = project
        body = self._get(path, status=status, headers=headers)
        if status != 200:
            return body['error']['message']
        return sorted(e['payload']['name'] for e in body['events'])

    def test_a_reader_sees_its_project_only(self):
        self.assertEqual(['e1', 'e4'],
                         self._names('/v1/events', 'reader', 'pA'))
        self.assertEqual(['e2'], self._names('/v1/events', 'reader', 'pB'))
        self.assertEqual([], self._names('/v1/events', 'reader', 'pC'))

    def test_an_admin_also_sees_events_of_no_project(self):
        self.assertEqual(['e1', 'e4', 'host-1'],
                         self._names('/v1/events', 'admin', 'pA'))

    def test_all_tenants_needs_admin(self):
        self.assertEqual(
            ['e1', 'e2', 'e4', 'host-1'],
            self._names('/v1/events?all_tenants=true', 'admin', 'pA'))
        message = self._names('/v1/events?all_tenants=true', 'reader', 'pA',
                              status=403)
        self.assertIn('persistor:event:get:all_tenants', message)

    def test_one_event_of_another_project_is_not_found(self):
        path = '/v1/events/%d' % self.ids['e2']
        self._get(path, status=404,
                  headers={'X-Roles': 'reader', 'X-Project-Id': 'pA'})
        self._get(path, headers={'X-Roles': 'reader', 'X-Project-Id': 'pB'})
        self._get(path + '?all_tenants=true',
                  headers={'X-Roles': 'admin', 'X-Project-Id': 'pA'})

    def test_without_a_project(self):
        message = self._names('/v1/events', 'reader', status=403)
        self.assertIn('project-scoped', message)
        # noauth without headers: an admin of no project, reads all.
        body = self._get('/v1/events')
        self.assertEqual(4, len(body['events']))

    def test_policy_rules_per_route(self):
        headers = {'X-Roles': 'reader', 'X-Project-Id': 'pA'}
        self._get('/v1/status', headers=headers)
        self._get('/v1/quarantine', status=403, headers=headers)
        self._get('/v1/events', status=403,
                  headers={'X-Roles': 'member', 'X-Project-Id': 'pA'})
        self._get('/v1/quarantine',
                  headers={'X-Roles': 'admin', 'X-Project-Id': 'pA'})

    def test_project_in_the_event_view(self):
        body = self._get('/v1/events/%d' % self.ids['e4'])
        self.assertEqual('pA', body['project_id'])
