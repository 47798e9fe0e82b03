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

"""The sender process (``[persistor_hooks] sender = process``), real broker.

What only a separate process can get wrong: it dies, the caller forks
(cotyledon), an event that ``marshal`` takes but JSON refuses.
"""

import collections
import os
import signal

from vitrage_persistor.publish import messaging, publisher
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as vp_fixtures
from vitrage_persistor.tests.functional.hooks import consumer
from vitrage_persistor.tests.functional.persistor import helpers


class TestSenderProcess(base.TestCase):

    def setUp(self):
        super().setUp()
        self.rabbit = self.useFixture(vp_fixtures.RabbitVhost())
        self.config(transport_url=self.rabbit.url, sender='process',
                    log_interval=1, retry_interval_max=0.5,
                    group='persistor_hooks')
        messaging.prepare_conf(self.conf)   # durable, like the agent
        self.collected = consumer.Collected(self.conf, self.rabbit.url)
        self.collected.start()
        self.addCleanup(self.collected.stop)

    def publisher(self):
        pub = publisher.Publisher(self.conf, 'collector',
                                  register_atexit=False)
        self.addCleanup(pub.stop, 5)
        self.assertEqual('process', pub.mode)
        self.assertTrue(pub.start(timeout=60))
        return pub

    def test_killed_sender_replaced_nothing_lost(self):
        pub = self.publisher()
        first = pub.sender_pid()
        os.kill(first, signal.SIGSTOP)   # hold what it was handed
        for n in range(300):
            self.assertTrue(pub.publish({'n': n}))
        helpers.wait_for(pub.in_flight, 10, what='hand-over')
        os.kill(first, signal.SIGKILL)
        self.assertTrue(pub.flush(60))
        self.assertNotEqual(first, pub.sender_pid())
        self.assertGreaterEqual(pub.stats.send_errors, 1)
        messages = self.collected.wait_for(300)
        by_id = collections.defaultdict(list)
        for msg in messages:
            by_id[msg['metadata']['message_id']].append(
                msg['envelope'].sequence)
        # every event arrived; a resent one keeps its message_id, so the
        # agent stores it once
        self.assertEqual(300, len(by_id))
        self.assertEqual(list(range(1, 301)),
                         sorted(seqs[0] for seqs in by_id.values()))
        self.assertTrue(all(len(set(s)) == 1 for s in by_id.values()))
        self.assertEqual(0, pub.stats.dropped + pub.stats.abandoned)
        # the 300 queued again went out in bundles, not one by one
        self.assertLess(self.collected.notifications, 100)

    def test_json_refused_in_sender_is_counted(self):
        pub = self.publisher()
        # marshal takes a tuple key, JSON does not
        self.assertTrue(pub.publish({'bad': {(1, 2): 'x'}}))
        self.assertTrue(pub.publish({'good': 1}))
        self.assertTrue(pub.flush(30))
        self.assertEqual(1, pub.stats.unserialisable)
        self.assertEqual(1, pub.stats.sent)
        events = self.collected.wait_for(1)
        self.assertEqual([{'good': 1}],
                         [msg['envelope'].event for msg in events])

    def test_json_refused_inside_a_bundle_the_rest_is_sent(self):
        pub = self.publisher()
        child = pub.sender_pid()
        os.kill(child, signal.SIGSTOP)   # the events pile up: one bundle
        try:
            for n in range(50):
                self.assertTrue(pub.publish({'n': n}))
                if n == 25:   # marshal takes a tuple key, JSON does not
                    self.assertTrue(pub.publish({'bad': {(1, 2): 'x'}}))
            helpers.wait_for(pub.in_flight, 10, what='hand-over')
        finally:
            os.kill(child, signal.SIGCONT)
        self.assertTrue(pub.flush(30))
        self.assertEqual((50, 1), (pub.stats.sent,
                                   pub.stats.unserialisable))
        self.collected.wait_for(50)
        self.assertEqual(list(range(50)),
                         [e[3]['n'] for e in self.collected.events()])
        self.assertLess(self.collected.notifications, 50)

    def test_forked_worker_gets_its_own_sender(self):
        pub = self.publisher()
        self.assertTrue(pub.publish({'who': 'parent'}))
        self.assertTrue(pub.flush(30))
        pid = os.fork()
        if pid == 0:   # a cotyledon worker
            code = 1
            try:
                ok = all(pub.publish({'who': 'worker', 'n': n})
                         for n in range(5))
                if ok and pub.flush(30) and pub.stop(5):
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(0, os.waitstatus_to_exitcode(status))
        self.assertTrue(pub.publish({'who': 'parent'}))
        self.assertTrue(pub.flush(30))
        self.collected.wait_for(7)
        events = self.collected.events()
        publishers = {e[0] for e in events}
        self.assertEqual(2, len(publishers))
        worker = [e for e in events if e[3]['who'] == 'worker']
        self.assertEqual([1, 2, 3, 4, 5], [e[1] for e in worker])
        parent = [e for e in events if e[3]['who'] == 'parent']
        self.assertEqual([1, 2], [e[1] for e in parent])
        self.assertEqual({pub.publisher_id}, {e[0] for e in parent})
