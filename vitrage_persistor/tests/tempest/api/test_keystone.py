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

"""Keystone mode: tokens, roles and tenant scoping, against real Keystone.

Only for ``auth_strategy = keystone``; a noauth deployment skips them (it
has no tokens to check).
"""

from tempest import config
from tempest.lib import decorators, exceptions

from vitrage_persistor.tests.tempest.api import base
from vitrage_persistor.tests.tempest.services import client

CONF = config.CONF


class KeystoneAuthTest(base.BaseTest):

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not base.keystone_mode():
            raise cls.skipException('the API runs with noauth')

    @classmethod
    def setup_credentials(cls):
        cls.credentials = [
            'admin', 'project_reader', 'project_alt_reader',
            ['no_access', CONF.vitrage_persistor.no_access_role]]
        super(base.BaseTest, cls).setup_credentials()

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.alt_client = cls._client(cls.os_project_alt_reader.auth_provider)
        cls.alt_project = cls.os_project_alt_reader.credentials.project_id
        cls.no_access_client = cls._client(cls.os_no_access.auth_provider)
        opts = CONF.vitrage_persistor
        cls.endpoint = cls.os_admin.auth_provider.base_url(filters={
            'service': opts.catalog_type, 'endpoint_type': opts.endpoint_type,
            'region': CONF.identity.region})

    def _tokenless(self, token=None):
        auth = client.StaticAuthProvider(self.endpoint, token=token)
        return self._client(auth)

    @decorators.idempotent_id('1d0c7f52-7a8e-4f0b-9c55-3e6f0b1a2c11')
    def test_no_token_is_401(self):
        self.assertRaises(exceptions.Unauthorized,
                          self._tokenless().list_events)
        self.assertRaises(exceptions.Unauthorized, self._tokenless().status)

    @decorators.idempotent_id('2e1d8063-8b9f-4a1c-8d66-4f7a1c2b3d12')
    def test_bogus_token_is_401(self):
        bogus = self._tokenless('gAAAAABbogus-not-a-token')
        self.assertRaises(exceptions.Unauthorized, bogus.list_events)

    @decorators.idempotent_id('3f2e9174-9ca0-4b2d-9e77-5a8b2d3c4e13')
    def test_reader_is_200_and_no_role_is_403(self):
        self.assertIn('events', self.reader_client.status())
        self.assertEqual([], self.reader_client.list_events(
            entity_type='tempest.none')['events'])
        self.assertRaises(exceptions.Forbidden,
                          self.no_access_client.list_events)
        self.assertRaises(exceptions.Forbidden, self.no_access_client.status)
        self.assertRaises(exceptions.Forbidden,
                          self.reader_client.list_quarantine)

    @decorators.idempotent_id('4a3fa285-adb1-4c3e-8f88-6b9c3e4d5f14')
    def test_tenant_scoping(self):
        entity_type, (mine, theirs, nobodys) = self.publish(
            self.reader_project, self.alt_project, None)
        stored = {e['payload']['name']: e
                  for e in self.wait_stored(entity_type, 3)}
        self.assertEqual(3, len(stored))
        for event in (mine, theirs, nobodys):
            self.assertServedAsPublished(event, stored[event['name']])
        mine_id = stored[mine['name']]['id']
        theirs_id = stored[theirs['name']]['id']
        nobodys_id = stored[nobodys['name']]['id']

        # a project reader sees its own project's events only
        seen = self.reader_client.list_events(entity_type=entity_type)
        self.assertEqual([mine_id], [e['id'] for e in seen['events']])
        self.assertEqual(mine['name'], self.reader_client.show_event(
            mine_id)['payload']['name'])
        for other in (theirs_id, nobodys_id):
            self.assertRaises(exceptions.NotFound,
                              self.reader_client.show_event, other)
        seen = self.alt_client.list_events(entity_type=entity_type)
        self.assertEqual([theirs_id], [e['id'] for e in seen['events']])

        # all_tenants needs admin
        for reader in (self.reader_client, self.alt_client):
            self.assertRaises(exceptions.Forbidden, reader.list_events,
                              entity_type=entity_type, all_tenants='true')
        every = self.admin_client.list_events(entity_type=entity_type,
                                              all_tenants='true')
        self.assertEqual(sorted([mine_id, theirs_id, nobodys_id]),
                         [e['id'] for e in every['events']])
