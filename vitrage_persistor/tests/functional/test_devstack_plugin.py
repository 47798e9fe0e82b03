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

"""devstack/plugin.sh, really exercised, and the tempest plugin with it.

``tools/devstack-harness.sh`` sources the plugin against stand-in devstack
functions, runs its install, post-config, extra and test-config phases
(so the agent and the API, under uWSGI, really start from the config the
plugin wrote), publishes events the agent stores, runs the in-tree tempest
plugin against the API (noauth), then unstacks and cleans.

With vitrage-graph enabled (a stand-in for Vitrage's own plugin starts
the real vitrage-graph, on its own database), the plugin swaps it for
vitrage-persistor-graph, and a doctor event pushed to vitrage-graph's
notification topic must come back from the API. Vitrage's database is on
MariaDB (15.0.1's storage fails on PostgreSQL). ``clean`` must drop the
databases: nothing is left on the shared servers.
"""

import os
import re
import subprocess

import fixtures
from oslo_db.sqlalchemy import provision, test_fixtures

from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import replay_base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.api import server

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))


class TestDevstackPlugin(func_fixtures.OpportunisticDB, base.TestCase):

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    MIGRATE = False

    def test_phases_start_services_and_tempest_passes(self):
        # The harness installs tempest into a fresh venv and starts every
        # service: on a loaded 2-core machine that passes the base 300 s.
        self.useFixture(fixtures.Timeout(900, gentle=True))
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        prefix = self.db_url.rsplit('/', 1)[0]
        env = dict(os.environ, VP_HARNESS_DIR=self.state_dir)
        env.setdefault('VP_HARNESS_VENV',
                       os.path.join(self.state_dir, 'venv'))
        # Not the fixed default: a harness running beside this one (another
        # checkout on the same machine) would answer tempest instead.
        env.setdefault('VP_HARNESS_PORT', str(server.free_port()))
        env['VP_HARNESS_VITRAGE_GRAPH'] = replay_base.datasources_values_dir()
        # Vitrage's own database on MariaDB: its storage fails on
        # PostgreSQL (a GROUP BY error in 15.0.1)
        mysql = provision.Backend.backend_for_database_type('mysql').url
        env['VP_HARNESS_VITRAGE_DB_PREFIX'] = mysql.set(
            database='').render_as_string(hide_password=False).rstrip('/')
        result = subprocess.run(
            ['bash', os.path.join(REPO, 'tools', 'devstack-harness.sh'),
             rabbit.url, prefix],
            capture_output=True, text=True, timeout=900, env=env,
            check=False)
        out = result.stdout + result.stderr
        self.assertEqual(0, result.returncode, out[-4000:])
        self.assertIn('agent stored 5 events', out)
        self.assertRegex(out, r'vitrage-graph event stored and served: '
                              r'event \d+, \S+ on harness-host-1')
        passed = re.search(r' - Passed: (\d+)', out)
        failed = re.search(r' - Failed: (\d+)', out)
        self.assertIsNotNone(passed, out[-4000:])
        self.assertGreaterEqual(int(passed.group(1)), 6)
        self.assertEqual('0', failed.group(1))
        self.assertEqual({}, {q: n for q, n in rabbit.queues().items()
                              if n})
