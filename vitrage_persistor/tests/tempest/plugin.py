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
