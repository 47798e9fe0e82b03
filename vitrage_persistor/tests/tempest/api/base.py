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

"""Base class: a client for noauth (static) or keystone credentials."""

import time
import uuid

from tempest import config, test

from vitrage_persistor.tests.tempest.services import client, publisher

CONF = config.CONF


def keystone_mode() -> bool:
    return CONF.vitrage_persistor.auth_strategy == 'keystone'


class BaseTest(test.BaseTestCase):

    credentials = []

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.service_available.vitrage_persistor:
            raise cls.skipException('vitrage-persistor is not deployed')

    @classmethod
    def setup_credentials(cls):
        if keystone_mode():
            cls.credentials = ['admin', 'project_reader']
        super().setup_credentials()

    @classmethod
    def _client(cls, auth):
        opts = CONF.vitrage_persistor
        return client.PersistorClient(auth, opts.catalog_type,
                                      CONF.identity.region,
                                      endpoint_type=opts.endpoint_type)

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        opts = CONF.vitrage_persistor
        if not keystone_mode():
            cls.client = cls._client(client.StaticAuthProvider(opts.endpoint))
            cls.admin_client = cls.client
            cls.reader_client = cls.client
            cls.reader_project = None
            return
        cls.admin_client = cls._client(cls.os_admin.auth_provider)
        cls.reader_client = cls._client(cls.os_project_reader.auth_provider)
        cls.reader_project = cls.os_project_reader.credentials.project_id
        cls.client = cls.reader_client

    # -- events of our own, through the deployed agent --------------------
    def publish(self, *projects):
        """Publish one event per project; return them, in that order."""
        opts = CONF.vitrage_persistor
        if not opts.transport_url:
            raise self.skipException('[vitrage_persistor] transport_url is '
                                     'not set: cannot publish')
        entity_type = 'tempest.%s' % uuid.uuid4().hex[:12]
        events = [publisher.host_event(entity_type, p) for p in projects]
        publisher.publish(opts.transport_url, opts.topic, events)
        return entity_type, events

    def wait_stored(self, entity_type, count):
        """The stored events of ``entity_type`` once there are ``count``."""
        deadline = time.monotonic() + CONF.vitrage_persistor.store_timeout
        while True:
            body = self.admin_client.list_events(
                entity_type=entity_type, all_tenants='true' if
                keystone_mode() else 'false')
            if len(body['events']) >= count:
                return body['events']
            if time.monotonic() > deadline:
                self.fail('%d events of type %s were published; the API '
                          'serves %d after %d s' % (
                              count, entity_type, len(body['events']),
                              CONF.vitrage_persistor.store_timeout))
            time.sleep(0.5)

    def assertServedAsPublished(self, published, served):
        self.assertEqual(published['name'], served['payload']['name'])
        for key, value in published.items():
            self.assertEqual(value, served['payload'].get(key), key)
