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

"""Test bases: a private ConfigOpts per test, never a global CONF."""

import fixtures
import testtools
from oslo_config import fixture as config_fixture

from vitrage_persistor import service


class TestCase(testtools.TestCase):
    """Base for every test: a fresh ConfigOpts with all options registered."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.conf = service.make_conf()
        self.conf([], project='vitrage-persistor', default_config_files=[])
        self.config = self.useFixture(
            config_fixture.Config(self.conf)).config
        self.state_dir = self.useFixture(fixtures.TempDir()).path
        self.config(state_path=self.state_dir)
