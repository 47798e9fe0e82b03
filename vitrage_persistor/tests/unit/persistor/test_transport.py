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


class TestFailoverStrategy(base.TestCase):
    """kombu's failover: random by default (the stuck round-robin)."""

    def setUp(self):
        super().setUp()
        transport.set_defaults(self.conf)

    def strategy(self):
        return self.conf.oslo_messaging_rabbit.kombu_failover_strategy

    def test_default_is_shuffle(self):
        self.conf([], project='vitrage-persistor', default_config_files=[])
        self.assertEqual('shuffle', self.strategy())

    def test_config_file_wins(self):
        path = os.path.join(self.state_dir, 'failover.conf')
        with open(path, 'w') as f:
            f.write('[oslo_messaging_rabbit]\n'
                    'kombu_failover_strategy = round-robin\n')
        self.conf(['--config-file', path], project='vitrage-persistor',
                  default_config_files=[])
        self.assertEqual('round-robin', self.strategy())

    def test_kombu_knows_shuffle(self):
        # oslo.messaging passes the name to kombu, which looks it up in
        # this table (an unknown name is then called, and fails)
        import kombu.connection
        self.assertIn('shuffle', kombu.connection.failover_strategies)


class TestQuorumQueues(base.TestCase):
    """Both sides declare the same queue: type and arguments agree."""

    def setUp(self):
        super().setUp()
        transport.set_defaults(self.conf)

    def driver_arguments(self):
        # oslo.messaging's own rule (private), to pin that ours matches it
        from oslo_messaging._drivers import impl_rabbit
        rabbit = self.conf.oslo_messaging_rabbit
        return impl_rabbit._get_queue_arguments(
            rabbit.rabbit_ha_queues, 0, rabbit.rabbit_quorum_queue,
            impl_rabbit.QuorumMemConfig(
                rabbit.rabbit_quorum_delivery_limit,
                rabbit.rabbit_quorum_max_memory_length,
                rabbit.rabbit_quorum_max_memory_bytes), False)

    def test_arguments_match_the_driver(self):
        cases = [{}, {'rabbit_quorum_queue': True},
                 {'rabbit_quorum_queue': True,
                  'rabbit_quorum_delivery_limit': 5,
                  'rabbit_quorum_max_memory_length': 100,
                  'rabbit_quorum_max_memory_bytes': 1000},
                 {'rabbit_ha_queues': True}]
        for case in cases:
            self.conf.clear_override('rabbit_quorum_delivery_limit',
                                     group='oslo_messaging_rabbit')
            for name, value in case.items():
                self.config(**{name: value}, group='oslo_messaging_rabbit')
            self.assertEqual(self.driver_arguments(),
                             transport.queue_arguments(self.conf) or {},
                             case)
            for name in case:
                self.conf.clear_override(name, group='oslo_messaging_rabbit')

    def test_delivery_limit_warns(self):
        self.config(rabbit_quorum_queue=True, rabbit_quorum_delivery_limit=3,
                    group='oslo_messaging_rabbit')
        with self.assertLogs('vitrage_persistor.persistor.transport',
                             'WARNING') as logs:
            transport.warn_delivery_limit(self.conf)
        self.assertIn('requeues every event', logs.output[0])

    def test_quorum_mismatch_names_both_settings(self):
        self.config(rabbit_quorum_queue=True, group='oslo_messaging_rabbit')
        text = transport.quorum_mismatch_message(
            self.conf, 'vitrage_persistor.sample', 'PRECONDITION_FAILED')
        self.assertIn('[persistor_hooks] rabbit_quorum_queue', text)
        self.assertIn('rabbit_quorum_queue = true', text)
        self.assertIn('rabbitmq-cluster.rst', text)


class TestHooksQuorum(base.TestCase):
    """The hooks' option sets oslo.messaging's, on their private conf."""

    def test_quorum_for_the_publisher_only(self):
        from vitrage_persistor.publish import messaging
        messaging.register_opts(self.conf)
        self.config(rabbit_ha_queues=True, rabbit_quorum_delivery_limit=7,
                    group='oslo_messaging_rabbit')
        self.config(rabbit_quorum_queue=True, group='persistor_hooks')
        messaging.prepare_conf(self.conf)
        rabbit = self.conf.oslo_messaging_rabbit
        self.assertTrue(rabbit.rabbit_quorum_queue)
        self.assertFalse(rabbit.rabbit_ha_queues)
        self.assertEqual(0, rabbit.rabbit_quorum_delivery_limit)
        # the sender process gets the same
        settings = messaging.settings(self.conf)
        self.assertTrue(
            settings['oslo_messaging_rabbit']['rabbit_quorum_queue'])

    def test_default_is_classic(self):
        from vitrage_persistor.publish import messaging
        messaging.prepare_conf(self.conf)
        self.assertFalse(self.conf.oslo_messaging_rabbit.rabbit_quorum_queue)
