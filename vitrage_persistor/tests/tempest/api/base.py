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

from tempest import config, test

from vitrage_persistor.tests.tempest.services import client

CONF = config.CONF


class BaseTest(test.BaseTestCase):

    credentials = []

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.service_available.vitrage_persistor:
            raise cls.skipException('vitrage-persistor is not deployed')

    @classmethod
    def setup_credentials(cls):
        if CONF.vitrage_persistor.auth_strategy == 'keystone':
            cls.credentials = ['admin', 'project_reader']
        super().setup_credentials()

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        opts = CONF.vitrage_persistor
        if opts.auth_strategy == 'noauth':
            auth = client.StaticAuthProvider(opts.endpoint)
            cls.client = client.PersistorClient(auth, opts.catalog_type,
                                                CONF.identity.region)
            cls.admin_client = cls.client
            cls.reader_client = cls.client
            return
        kwargs = dict(endpoint_type=opts.endpoint_type)
        cls.admin_client = client.PersistorClient(
            cls.os_admin.auth_provider, opts.catalog_type,
            CONF.identity.region, **kwargs)
        cls.reader_client = client.PersistorClient(
            cls.os_project_reader.auth_provider, opts.catalog_type,
            CONF.identity.region, **kwargs)
        cls.client = cls.reader_client
