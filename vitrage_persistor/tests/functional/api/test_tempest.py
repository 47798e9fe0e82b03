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

"""The in-tree tempest plugin against a deployed API, in both auth modes.

A real agent consumes a fresh RabbitMQ vhost into a real database, the
API runs under uWSGI, and ``tempest run`` (tempest is a test requirement)
runs the plugin's tests against it. The tests publish their own events
and read them back, payload and all.

* keystone: a real Keystone (``tools/keystone-setup.sh``, started once
  per run by ``tools/run-tests.sh`` and named by ``VP_KEYSTONE_DIR``, or
  started here when that is unset), tempest's dynamic credentials, a
  catalog entry for the API; checks 401 without or with a bogus token,
  200 for a reader, 403 for a role the policy does not know, and tenant
  scoping (own project only; ``all_tenants`` needs admin).
* noauth: the same event tests with no credentials at all.
"""

import json
import os
import re
import subprocess
import time
import urllib.request
import uuid

import fixtures
from oslo_db.sqlalchemy import test_fixtures
from testtools import content

from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.api import server
from vitrage_persistor.tests.functional.persistor import helpers

TEMPEST = os.path.join(helpers.BIN_DIR, 'tempest')
KEYSTONE_SETUP = os.path.join(func_fixtures.REPO, 'tools',
                              'keystone-setup.sh')


class Keystone(fixtures.Fixture):
    """The run's Keystone, or one of this test's own.

    ``.info`` is the ``keystone.json`` the setup script writes: URLs,
    the admin password, project and user ids.
    """

    def __init__(self, state_dir):
        super().__init__()
        self.state_dir = state_dir

    def _setUp(self):
        shared = os.environ.get('VP_KEYSTONE_DIR')
        if shared:
            self.dir = shared
            helpers.wait_for(self._ready_or_failed, 900, interval=1,
                             what='the run\'s Keystone (%s)' % shared)
        else:
            self.dir = os.path.join(self.state_dir, 'keystone')
            env = dict(os.environ)
            env.setdefault('VP_KEYSTONE_VENV', os.path.join(
                func_fixtures.REPO, '.keystone-venv'))
            self.addCleanup(subprocess.run,
                            ['bash', KEYSTONE_SETUP, 'stop', self.dir],
                            check=False, timeout=60)
            subprocess.run(['bash', KEYSTONE_SETUP, 'start', self.dir],
                           check=False, timeout=900, env=env)
        if not os.path.exists(os.path.join(self.dir, 'keystone.json')):
            raise AssertionError('Keystone did not start:\n%s' % (
                self._log()[-4000:]))
        with open(os.path.join(self.dir, 'keystone.json')) as f:
            self.info = json.load(f)

    def _ready_or_failed(self):
        return any(os.path.exists(os.path.join(self.dir, name))
                   for name in ('keystone.json', 'failed'))

    def _log(self):
        try:
            with open(os.path.join(self.dir, 'setup.log'),
                      errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def call(self, method, path, body=None):
        """One admin call to Keystone's v3 API; the decoded body."""
        token = self._admin_token()
        req = urllib.request.Request(
            self.info['url'] + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={'Content-Type': 'application/json',
                     'X-Auth-Token': token})
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def _admin_token(self):
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': 'admin', 'domain': {'id': 'default'},
                'password': self.info['password']}}},
            'scope': {'project': {'name': 'admin',
                                  'domain': {'id': 'default'}}}}}
        req = urllib.request.Request(
            self.info['url'] + '/v3/auth/tokens', method='POST',
            data=json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.headers['X-Subject-Token']

    def register(self, service_type, url):
        """A catalog entry for ``url``, removed at cleanup."""
        service = self.call('POST', '/v3/services', {'service': {
            'type': service_type, 'name': service_type}})['service']
        self.addCleanup(self.call, 'DELETE',
                        '/v3/services/%s' % service['id'])
        for interface in ('public', 'internal', 'admin'):
            self.call('POST', '/v3/endpoints', {'endpoint': {
                'service_id': service['id'], 'interface': interface,
                'url': url, 'region_id': self.info['region']}})


class TempestTestCase(func_fixtures.OpportunisticDB, base.TestCase):

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(900, gentle=True))
        self.rabbit = self.useFixture(func_fixtures.RabbitVhost())
        self.agent = helpers.make_agent(self, self.rabbit.url, self.db_url)
        self.agent.start()

    def start_api(self, **api):
        path = os.path.join(self.state_dir, 'api.conf')
        server.write_config(path, self.db_url, **api)
        return self.useFixture(server.UwsgiAPI(
            path, os.path.join(self.state_dir, 'api.log')))

    def run_tempest(self, conf_text):
        workspace = os.path.join(self.state_dir, 'tempest')
        result = subprocess.run(
            [TEMPEST, 'init', '--workspace-path',
             os.path.join(self.state_dir, 'workspaces.yaml'),
             '--name', 'vp-%s' % uuid.uuid4().hex[:8], workspace],
            capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(0, result.returncode, result.stderr[-3000:])
        with open(os.path.join(workspace, 'etc', 'tempest.conf'), 'w') as f:
            f.write(conf_text)
        env = dict(os.environ, PYTHONWARNINGS='ignore')
        env.pop('TEMPEST_CONFIG', None)
        started = time.monotonic()
        result = subprocess.run(
            [TEMPEST, 'run', '--concurrency', '1', '--regex',
             r'^vitrage_persistor\.tests\.tempest\.'],
            cwd=workspace, capture_output=True, text=True, timeout=600,
            env=env, check=False)
        out = result.stdout + result.stderr
        self.addDetail('tempest', content.text_content(out[-20000:]))
        self.addDetail('tempest seconds', content.text_content(
            '%.1f' % (time.monotonic() - started)))
        self.assertEqual(0, result.returncode, out[-6000:])
        counts = {k: int(v) for k, v in re.findall(
            r' - (Passed|Failed|Skipped): (\d+)', out)}
        return counts, out

    def tempest_conf(self, **sections):
        lines = []
        for section, opts in sections.items():
            lines.append('[%s]' % section)
            lines += ['%s = %s' % kv for kv in opts.items()]
        return '\n'.join(lines) + '\n'


class TestTempestKeystone(TempestTestCase):

    def test_keystone_mode(self):
        keystone = self.useFixture(Keystone(self.state_dir))
        info = keystone.info
        api_conf = os.path.join(self.state_dir, 'api.conf')
        server.write_config(api_conf, self.db_url, auth_strategy='keystone')
        with open(api_conf, 'a') as f:
            f.write('[keystone_authtoken]\nwww_authenticate_uri = %s\n'
                    'auth_url = %s\nauth_type = password\n'
                    'username = admin\npassword = %s\n'
                    'project_name = admin\nuser_domain_id = default\n'
                    'project_domain_id = default\nregion_name = %s\n' % (
                        info['auth_url'], info['auth_url'], info['password'],
                        info['region']))
        api = self.useFixture(server.UwsgiAPI(
            api_conf, os.path.join(self.state_dir, 'api.log')))
        catalog_type = 'rca-history-%s' % uuid.uuid4().hex[:8]
        keystone.register(catalog_type, api.url)
        self.assertEqual(401, api.get('/v1/events')[0])
        counts, out = self.run_tempest(self.tempest_conf(
            auth={'use_dynamic_credentials': 'True',
                  'admin_username': 'admin',
                  'admin_password': info['password'],
                  'admin_project_name': 'admin',
                  'admin_domain_name': 'Default',
                  'create_isolated_networks': 'False'},
            identity={'uri_v3': info['auth_url'], 'auth_version': 'v3',
                      'region': info['region']},
            **{'identity-feature-enabled': {'api_v2': 'False'},
               'service_available': {'vitrage_persistor': 'True',
                                     'nova': 'False', 'neutron': 'False',
                                     'cinder': 'False', 'glance': 'False',
                                     'swift': 'False'},
               'vitrage_persistor': {
                   'auth_strategy': 'keystone',
                   'catalog_type': catalog_type,
                   'endpoint_type': 'publicURL',
                   'transport_url': self.rabbit.url,
                   'no_access_role': 'vp_observer'}}))
        # every test ran: the event tests and the keystone ones
        self.assertEqual({'Passed': 10, 'Failed': 0, 'Skipped': 0},
                         counts, out[-6000:])
        for name in ('test_no_token_is_401', 'test_bogus_token_is_401',
                     'test_reader_is_200_and_no_role_is_403',
                     'test_tenant_scoping',
                     'test_published_event_is_served_with_its_payload'):
            self.assertRegex(out, r'%s\b.*\.\.\. ok' % name)


class TestTempestNoauth(TempestTestCase):

    def test_noauth_mode(self):
        api = self.start_api(auth_strategy='noauth')
        counts, out = self.run_tempest(self.tempest_conf(
            auth={'use_dynamic_credentials': 'False'},
            service_available={'vitrage_persistor': 'True', 'nova': 'False',
                               'neutron': 'False', 'cinder': 'False',
                               'glance': 'False', 'swift': 'False'},
            vitrage_persistor={'auth_strategy': 'noauth',
                               'endpoint': api.url,
                               'transport_url': self.rabbit.url}))
        # the event tests all pass; the keystone-only class is skipped
        self.assertEqual((6, 0), (counts.get('Passed'), counts.get('Failed')),
                         out[-6000:])
        self.assertGreaterEqual(counts.get('Skipped', 0), 1)
        self.assertRegex(
            out, r'test_published_event_is_served_with_its_payload\b.*'
                 r'\.\.\. ok')
