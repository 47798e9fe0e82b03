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

"""Real Vitrage 15.0.1 drivers through driver_exec, hooks on, real RabbitMQ.

Every event the processor receives must reach the persistor topic exactly
once, equal to what the processor got, in the processor's order.
"""

import time
import warnings

from oslo_serialization import jsonutils

from vitrage_persistor import wire
from vitrage_persistor.demo import harness
from vitrage_persistor.publish import messaging
from vitrage_persistor.publish.hooks import install
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as vp_fixtures
from vitrage_persistor.tests.functional.hooks import consumer

warnings.filterwarnings('ignore', category=DeprecationWarning)


def normalise(event):
    """The JSON form, as it travels and is stored."""
    return jsonutils.loads(jsonutils.dumps(event))


class HookTestBase(base.TestCase):

    HOOKS = ['collector']
    SENDER = 'process'

    def setUp(self):
        super().setUp()
        self.rabbit = self.useFixture(vp_fixtures.RabbitVhost())
        self.config(transport_url=self.rabbit.url, hooks=self.HOOKS,
                    sender=self.SENDER, log_interval=1,
                    group='persistor_hooks')
        self.addCleanup(harness.configure_vitrage().cleanUp)

    def install_hooks(self):
        installed = install.install(self.conf, register_atexit=False)
        self.addCleanup(installed.uninstall)
        self.addCleanup(installed.stop, 5)
        return installed

    def listen(self, url=None):
        messaging.prepare_conf(self.conf)   # durable, like the agent
        collected = consumer.Collected(self.conf, url or self.rabbit.url)
        collected.start()
        self.addCleanup(collected.stop)
        return collected

    def hooked_scenario(self):
        """The full scenario with the hooks on.

        Returns ``(collected, installed, pipeline)`` once the publishers
        have flushed: the broker then holds every message they sent.
        """
        collected = self.listen()
        installed = self.install_hooks()
        pipeline = harness.Pipeline(harness.FakeCloud())
        pipeline.full_scenario()
        self.assertTrue(installed.flush(30))
        return collected, installed, pipeline


class TestCollectorHook(HookTestBase):

    def test_every_processed_event_published_once_in_order(self):
        collected, installed, pipeline = self.hooked_scenario()
        received = [normalise(e) for e in pipeline.received]
        actions = {(e['vitrage_datasource_action'],
                    e.get('vitrage_event_type')) for e in received}
        for wanted in (('init_snapshot', None), ('snapshot', None),
                       ('update', 'instance.create.end'),
                       ('update', 'instance.delete.end'),
                       ('update', 'delete_entity'),
                       ('update', 'remove_deleted_entity')):
            self.assertIn(wanted, actions)
        types = {e['vitrage_entity_type'] for e in received}
        self.assertEqual(set(harness.DATASOURCES) | {'consistency'}, types)

        collected.wait_for(len(received))
        events = collected.events()
        publisher = installed.publishers['collector']
        self.assertEqual(
            [(publisher.publisher_id, n, wire.event_type('collector'))
             for n in range(1, len(received) + 1)],
            [e[:3] for e in events])
        self.assertEqual(received, [e[3] for e in events])
        stats = publisher.stats.as_dict()
        self.assertEqual(len(received), stats['sent'])
        self.assertEqual(0, stats['dropped'] + stats['unserialisable'])
        queues = self.rabbit.queues()
        self.assertEqual({'vitrage_persistor.sample': 0}, queues)

    def test_unserialisable_event_reported_not_raised(self):
        collected = self.listen()
        installed = self.install_hooks()
        cloud = harness.FakeCloud()
        cloud.vms[0].opaque = harness.Opaque()   # not JSON-able
        pipeline = harness.Pipeline(cloud)
        pipeline.init_snapshot()
        self.assertTrue(installed.flush(30))
        stats = installed.publishers['collector'].stats
        self.assertEqual(1, stats.unserialisable)
        # the processor still got every event, the broker all but one
        self.assertEqual(len(pipeline.received) - 1, stats.sent)
        self.assertEqual(stats.sent, len(collected.wait_for(stats.sent)))
        vm = cloud.vms[0].id
        self.assertIn(vm, [v.get('id') for v in pipeline.graph.get_vertices()])


class TestDriverHook(HookTestBase):

    HOOKS = ['driver']

    def test_driver_enriched_events(self):
        collected, installed, pipeline = self.hooked_scenario()
        enriched = [normalise(e) for e in pipeline.received
                    if e['vitrage_entity_type'] != 'consistency']
        events = collected.events()
        collected.wait_for(len(enriched))
        events = collected.events()
        self.assertEqual(enriched, [e[3] for e in events])
        self.assertEqual({wire.event_type('driver')},
                         {e[2] for e in events})


class TestBothHooks(HookTestBase):

    HOOKS = ['driver', 'collector']

    def test_no_event_published_twice(self):
        collected, installed, pipeline = self.hooked_scenario()
        received = [normalise(e) for e in pipeline.received]
        collected.wait_for(len(received))
        events = collected.events()
        self.assertEqual(len(received), len(events))
        by_hook = {}
        for _pub, _seq, event_type, event in events:
            by_hook.setdefault(event_type, []).append(event)
        self.assertEqual(
            [e for e in received if e['vitrage_entity_type'] != 'consistency'],
            by_hook[wire.event_type('driver')])
        self.assertEqual(
            [e for e in received if e['vitrage_entity_type'] == 'consistency'],
            by_hook[wire.event_type('collector')])
        self.assertEqual(0, len(installed.registry))


class TestBrokerDown(HookTestBase):

    def timed_scenario(self, cloud):
        pipeline = harness.Pipeline(cloud)
        start = time.monotonic()
        pipeline.full_scenario(scale=2)
        return pipeline, time.monotonic() - start

    def test_broker_down_then_back(self):
        # nothing listens on the proxy's port until start(): broker down
        switch = vp_fixtures.TcpProxy('127.0.0.1', 5672)
        self.addCleanup(switch.close)
        vhost = self.rabbit.url.rsplit('/', 1)[1]
        url = 'rabbit://guest:guest@127.0.0.1:%d/%s' % (switch.port, vhost)
        self.config(transport_url=url, queue_size=50,
                    overflow_policy='drop_oldest', group='persistor_hooks')
        # reconnect quickly once the broker is back
        messaging.prepare_conf(self.conf)
        self.config(rabbit_interval_max=1, rabbit_retry_interval=1,
                    group='oslo_messaging_rabbit')

        # baseline without hooks, same data, same process
        baseline, base_time = self.timed_scenario(harness.FakeCloud())
        installed = self.install_hooks()
        pipeline, hooked_time = self.timed_scenario(harness.FakeCloud())
        # Vitrage was not held up by the dead broker
        self.assertLess(hooked_time, base_time * 1.5 + 0.5)
        self.assertGreater(len(baseline.received), 100)
        publisher = installed.publishers['collector']
        stats = publisher.stats
        total = len(pipeline.received)
        self.assertEqual(total, stats.enqueued)
        self.assertEqual(0, stats.sent)
        self.assertEqual(total, stats.dropped + publisher.pending())
        # the queue, plus what the senders hold
        self.assertLessEqual(publisher.pending(),
                             50 + publisher.max_in_flight)

        collected = self.listen()
        switch.start()
        self.assertTrue(publisher.flush(60))
        self.assertEqual(total - stats.dropped, stats.sent)
        got = collected.wait_for(stats.sent)
        self.assertEqual(stats.sent, len(got))
        received = [normalise(e) for e in pipeline.received]
        for _pub, seq, _type, event in collected.events():
            self.assertEqual(received[seq - 1], event)
        # drop_oldest kept the newest events
        seqs = [e[1] for e in collected.events()]
        self.assertEqual(list(range(total - 49, total + 1)), seqs[-50:])


class TestCollectorHookThreads(TestCollectorHook):
    SENDER = 'thread'


class TestBrokerDownThreads(TestBrokerDown):
    SENDER = 'thread'
