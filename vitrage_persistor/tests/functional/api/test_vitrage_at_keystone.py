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

"""python-vitrageclient in keystone mode, against history at a time.

The same history as ``test_vitrage_at`` (a deduced alarm and its causal
edge that come and go), the API under uWSGI with ``auth_strategy =
keystone`` against the run's real Keystone, and the real ``vitrage``
command authenticating with a password, as operators do, with
``--endpoint <API>/v1/at/<time>``:

* the admin gets Vitrage's own answers (topology and RCA) at that time;
* a reader of another project is refused ``--all-tenants`` (403), as
  vitrage-api refuses it;
* a wrong password never reaches the API (Keystone answers 401).
"""

import json
import os
import subprocess

from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor import wire
from vitrage_persistor.replay import vitrage_views
from vitrage_persistor.tests.common import rca_history, replay_base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.api import (
    server,
    test_tempest,
    test_vitrage_at,
)

ADMIN = vitrage_views.Caller('admin', True)


class TestVitrageAtTimeKeystone(func_fixtures.OpportunisticDB,
                                replay_base.ReplayTestCase):

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def setUp(self):
        super().setUp()
        self.history = rca_history.build(self.conf)
        self.store.add_batch(self.history.records)
        self.keystone = self.useFixture(test_tempest.Keystone(self.state_dir))
        info = self.keystone.info
        config = os.path.join(self.state_dir, 'api.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = %s'
                    '\nmax_retries = 0\n[api]\nauth_strategy = keystone\n'
                    '[replay]\ndatasources_values_dir = %s\n'
                    '[keystone_authtoken]\nwww_authenticate_uri = %s\n'
                    'auth_url = %s\nauth_type = password\n'
                    'username = admin\npassword = %s\n'
                    'project_name = admin\nuser_domain_id = default\n'
                    'project_domain_id = default\nregion_name = %s\n' % (
                        self.state_dir, self.db_url, self.values_dir,
                        info['auth_url'], info['auth_url'], info['password'],
                        info['region']))
        self.api = self.useFixture(server.UwsgiAPI(
            config, os.path.join(self.state_dir, 'uwsgi.log')))

    def vitrage(self, label, *args, user='admin', project='admin',
                password=None):
        info = self.keystone.info
        endpoint = '%s/v1/at/%s' % (self.api.url, wire.format_timestamp(
            self.history.times[label]))
        return subprocess.run(
            [test_vitrage_at.VITRAGE, '--os-auth-url', info['auth_url'],
             '--os-username', user, '--os-password',
             password or info['password'], '--os-project-name', project,
             '--os-user-domain-id', 'default',
             '--os-project-domain-id', 'default',
             '--os-region-name', info['region'],
             '--endpoint', endpoint, *args, '-f', 'json'],
            capture_output=True, text=True, timeout=120, check=False)

    def answer(self, result):
        self.assertEqual(0, result.returncode, result.stderr[-3000:])
        return json.loads(result.stdout)

    def test_admin_reader_and_wrong_password(self):
        h = self.history
        topology = self.answer(self.vitrage(
            'during', 'topology', 'show', '--all-tenants'))
        self.assertEqual(test_vitrage_at._wire(vitrage_views.topology(
            h.graphs['during'], ADMIN, all_tenants=True)), topology)
        rca = self.answer(self.vitrage(
            'during', 'rca', 'show', h.deduced_alarm, '--all-tenants'))
        self.assertEqual(test_vitrage_at._wire(vitrage_views.rca(
            h.graphs['during'], ADMIN, h.deduced_alarm, True)), rca)
        self.assertTrue(rca['links'])

        refused = self.vitrage('during', 'topology', 'show', '--all-tenants',
                               user='vp-reader', project='vp-a')
        self.assertNotEqual(0, refused.returncode)
        self.assertIn('403', refused.stderr)
        # without --all-tenants the reader gets an answer: its own project
        self.answer(self.vitrage('during', 'topology', 'show',
                                 user='vp-reader', project='vp-a'))

        wrong = self.vitrage('during', 'topology', 'show',
                             password='not-the-password')
        self.assertNotEqual(0, wrong.returncode)
        self.assertIn('401', wrong.stderr)
