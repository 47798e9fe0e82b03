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

import filecmp
import os
import subprocess
import sys

from vitrage_persistor.tests import base

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
GENERATOR_CONF = os.path.join(
    REPO, 'etc', 'vitrage-persistor',
    'vitrage-persistor-config-generator.conf')
SAMPLE = os.path.join(REPO, 'etc', 'vitrage-persistor',
                      'vitrage-persistor.conf.sample')


class TestDefaults(base.TestCase):

    def test_topic_default_is_the_blueprints(self):
        self.assertEqual('vitrage_persistor', self.conf.persistor.topic)

    def test_default_connection_is_sqlite_under_state_path(self):
        self.assertEqual(
            'sqlite:///%s/vitrage_persistor.sqlite' % self.state_dir,
            self.conf.database.connection)

    def test_database_group_is_oslo_dbs(self):
        # oslo.db's knobs, not a copy with a subset of them.
        for name in ('max_pool_size', 'max_retries', 'mysql_sql_mode',
                     'connection_recycle_time'):
            self.assertIn(name, self.conf.database)

    def test_private_confs_do_not_leak(self):
        self.config(topic='other', group='persistor')
        other = base.service.make_conf()
        other([], project='vitrage-persistor', default_config_files=[])
        self.assertEqual('vitrage_persistor', other.persistor.topic)


class TestSampleConfig(base.TestCase):

    def test_committed_sample_is_current(self):
        out = os.path.join(self.state_dir, 'sample.conf')
        # A fresh interpreter, as "tox -e genconfig" runs it: other tests
        # in this process change option defaults of shared libraries.
        subprocess.run(
            [sys.executable, '-c',
             'import sys; from oslo_config import generator; '
             'sys.exit(generator.main(sys.argv[1:]))',
             '--config-file', GENERATOR_CONF, '--output-file', out],
            check=True, capture_output=True, timeout=120)
        self.assertTrue(
            filecmp.cmp(out, SAMPLE, shallow=False),
            'etc/vitrage-persistor/vitrage-persistor.conf.sample is stale: '
            'run "tox -e genconfig" and commit the result')
