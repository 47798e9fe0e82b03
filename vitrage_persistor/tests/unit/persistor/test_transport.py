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

"""The agent's RabbitMQ prefetch: bounded by default, the operator wins."""

import os

from vitrage_persistor.persistor import transport
from vitrage_persistor.tests import base


class TestPrefetch(base.TestCase):

    def setUp(self):
        super().setUp()
        transport.set_defaults(self.conf)

    def prefetch(self):
        return self.conf.oslo_messaging_rabbit.rabbit_qos_prefetch_count

    def test_default_is_batches_times_batch_size(self):
        self.config(batch_size=300, group='persistor')
        self.assertEqual(600, transport.apply_prefetch(self.conf))
        self.assertEqual(600, self.prefetch())

    def test_capped_at_what_amqp_carries(self):
        self.config(batch_size=100000, group='persistor')
        with self.assertLogs('vitrage_persistor.persistor.transport',
                             'WARNING'):
            self.assertEqual(65535, transport.apply_prefetch(self.conf))

    def test_explicit_rabbit_setting_wins(self):
        # Set in a config file, even 0 (unlimited) is kept.
        for value in (0, 5000):
            path = os.path.join(self.state_dir, 'p%d.conf' % value)
            with open(path, 'w') as f:
                f.write('[oslo_messaging_rabbit]\n'
                        'rabbit_qos_prefetch_count = %d\n' % value)
            self.conf(['--config-file', path], project='vitrage-persistor',
                      default_config_files=[])
            self.assertEqual(value, transport.apply_prefetch(self.conf))
            self.assertEqual(value, self.prefetch())

    def test_zero_batches_leaves_oslo_messaging_default(self):
        self.config(prefetch_batches=0, group='persistor')
        self.assertEqual(0, transport.apply_prefetch(self.conf))

    def test_prefetch_below_batch_size_warns(self):
        self.conf.set_override('rabbit_qos_prefetch_count', 10,
                               group='oslo_messaging_rabbit')
        with self.assertLogs('vitrage_persistor.persistor.transport',
                             'WARNING') as logs:
            transport.apply_prefetch(self.conf)
        self.assertIn('batches can never fill', logs.output[0])
