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

"""Where the WSGI entry point finds its configuration files."""

import os

from vitrage_persistor.api import app as api_app
from vitrage_persistor.cmd import api as cmd_api
from vitrage_persistor.tests import base


class TestConfigFiles(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.state_dir
        for name in ('vitrage-persistor.conf', 'extra.conf'):
            with open(os.path.join(self.dir, name), 'w') as f:
                f.write('[api]\n')

    def test_default_file_in_the_directory(self):
        env = {cmd_api.ENV_DIR: self.dir}
        self.assertEqual([os.path.join(self.dir, 'vitrage-persistor.conf')],
                         cmd_api.config_files(env))

    def test_named_files_relative_or_absolute(self):
        absolute = os.path.join(self.dir, 'extra.conf')
        env = {cmd_api.ENV_DIR: self.dir,
               cmd_api.ENV_FILES: 'vitrage-persistor.conf; ' + absolute}
        self.assertEqual([os.path.join(self.dir, 'vitrage-persistor.conf'),
                          absolute], cmd_api.config_files(env))

    def test_a_named_file_that_is_missing_stops_the_start(self):
        env = {cmd_api.ENV_DIR: self.dir, cmd_api.ENV_FILES: 'nope.conf'}
        err = self.assertRaises(api_app.ConfigurationError,
                                cmd_api.config_files, env)
        self.assertIn('nope.conf', str(err))

    def test_no_default_file_means_no_file(self):
        env = {cmd_api.ENV_DIR: os.path.join(self.dir, 'missing')}
        self.assertEqual([], cmd_api.config_files(env))
