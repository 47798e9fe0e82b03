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
