"""Tempest plugin of vitrage-persistor."""

import os

from tempest.test_discover import plugins

from vitrage_persistor.tests.tempest import config


class VitragePersistorTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        # .../<base>/vitrage_persistor/tests/tempest/plugin.py
        test_dir = os.path.dirname(os.path.abspath(__file__))
        base_path = os.path.dirname(os.path.dirname(os.path.dirname(
            test_dir)))
        return test_dir, base_path

    def register_opts(self, conf):
        conf.register_opt(config.service_option,
                          group='service_available')
        conf.register_group(config.GROUP)
        conf.register_opts(config.OPTS, group=config.GROUP)

    def get_opt_lists(self):
        return [(config.GROUP.name, config.OPTS),
                ('service_available', [config.service_option])]
