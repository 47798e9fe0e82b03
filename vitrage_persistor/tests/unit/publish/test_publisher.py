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

"""Publisher error paths: overflow policies, stamps, never raising."""

import os
import threading

from vitrage_persistor import wire
from vitrage_persistor.publish import publisher, queue
from vitrage_persistor.tests import base


def unbundle(message):
    """``(message_id, wire.Envelope)`` of every event a message carries."""
    items = wire.bundle_items(message['payload'])
    if items is None:
        return [(message['message_id'], wire.unwrap(message['payload']))]
    return [(item['message_id'], wire.unwrap_item(item)) for item in items]


class BlockingTransport:
    """Stands in for the broker: records messages, can hang or fail."""

    def __init__(self):
        self.sent = []
        self.gate = threading.Event()
        self.fail = False

    def _send_notification(self, target, ctxt, message, version, retry):
        self.gate.wait(10)
        if self.fail:
            raise ConnectionError('broker down')
        self.sent.append((target.topic, message))


class TestPublisher(base.TestCase):

    def make(self, **opts):
        self.config(group='persistor_hooks', **opts)
        self.transport = BlockingTransport()
        pub = publisher.Publisher(self.conf, 'collector',
                                  transport=self.transport,
                                  register_atexit=False)
        self.addCleanup(pub.stop, 1)
        self.addCleanup(self.transport.gate.set)
        return pub

    def events_sent(self):
        return [event for _, message in self.transport.sent
                for _, event in unbundle(message)]

    def test_stamps_and_wire_format(self):
        pub = self.make(sender_threads=1, events_per_message=1)
        self.transport.gate.set()
        for n in range(5):
            self.assertTrue(pub.publish({'n': n}))
        self.assertTrue(pub.flush(5))
        topics = {t for t, _ in self.transport.sent}
        self.assertEqual({'vitrage_persistor.sample'}, topics)
        msgs = [m for _, m in self.transport.sent]
        self.assertEqual([wire.event_type('collector')] * 5,
                         [m['event_type'] for m in msgs])
        self.assertEqual([wire.message_id(pub.publisher_id, n)
                          for n in range(1, 6)],
                         [m['message_id'] for m in msgs])
        self.assertEqual({pub.publisher_id}, {m['publisher_id']
                                              for m in msgs})
        self.assertTrue(pub.publisher_id.startswith(
            'vitrage.persistor.collector.'))
        unwrapped = [wire.unwrap(m['payload']) for m in msgs]
        self.assertEqual([{'n': n} for n in range(5)],
                         [u.event for u in unwrapped])
        self.assertEqual([1, 2, 3, 4, 5], [u.sequence for u in unwrapped])
        stamps = [u.collector_timestamp for u in unwrapped]
        self.assertEqual(sorted(stamps), stamps)
        self.assertRegex(stamps[0], r'^\d{4}-\d\d-\d\dT[\d:]{8}\.\d{6}Z$')

    def test_bundles_while_the_sender_is_busy(self):
        pub = self.make(sender_threads=1, events_per_message=3)
        for n in range(10):   # the sender is held at the gate meanwhile
            self.assertTrue(pub.publish({'n': n}))
        self.transport.gate.set()
        self.assertTrue(pub.flush(5))
        sizes = [len(unbundle(m)) for _, m in self.transport.sent]
        self.assertLessEqual(max(sizes), 3)
        self.assertGreater(max(sizes), 1)
        self.assertEqual(10, sum(sizes))
        self.assertEqual(10, pub.stats.sent)
        ids = [(message_id, event.sequence, event.event['n'])
               for _, m in self.transport.sent
               for message_id, event in unbundle(m)]
        self.assertEqual(
            [(wire.message_id(pub.publisher_id, n + 1), n + 1, n)
             for n in range(10)], ids)

    def test_publish_encoded_adds_extra_keys(self):
        pub = self.make()
        self.transport.gate.set()
        self.assertTrue(pub.publish_encoded(queue.encode({'a': 1}),
                                            {'ids': {'k': 'v'}}))
        self.assertTrue(pub.publish_encoded(queue.encode({'b': 2})))
        # a bytes object marshal cannot read is counted when it is sent
        self.assertTrue(pub.publish_encoded(b'not marshal'))
        self.assertTrue(pub.flush(5))
        self.assertEqual([{'a': 1, 'ids': {'k': 'v'}}, {'b': 2}],
                         [e.event for e in self.events_sent()])
        self.assertEqual((2, 1), (pub.stats.sent, pub.stats.unserialisable))

    def test_event_frozen_at_enqueue(self):
        pub = self.make()
        event = {'a': 1}
        pub.publish(event)
        event['QUERY_RESULT'] = 'added by the processor'
        self.transport.gate.set()
        self.assertTrue(pub.flush(5))
        self.assertEqual({'a': 1}, self.events_sent()[0].event)

    def test_drop_oldest(self):
        pub = self.make(queue_size=3, sender_threads=1,
                        overflow_policy='drop_oldest')
        for n in range(10):
            self.assertTrue(pub.publish({'n': n}))   # never blocks
        self.assertEqual(10, pub.stats.enqueued)
        self.transport.gate.set()
        self.assertTrue(pub.flush(5))
        got = [e.event['n'] for e in self.events_sent()]
        # the queue kept the newest three (plus what the sender held)
        self.assertEqual([7, 8, 9], got[-3:])
        self.assertEqual(10 - len(got), pub.stats.dropped)

    def test_drop_newest(self):
        pub = self.make(queue_size=3, sender_threads=1,
                        events_per_message=1, overflow_policy='drop_newest')
        accepted = [pub.publish({'n': n}) for n in range(10)]
        self.transport.gate.set()
        self.assertTrue(pub.flush(5))
        got = [e.event['n'] for e in self.events_sent()]
        # The queue holds 3 and the blocked sender may hold one more; which
        # event the sender took first is a race, so compare with what
        # publish() said it accepted, in order.
        self.assertLessEqual(len(got), 4)
        self.assertEqual([n for n, ok in enumerate(accepted) if ok], got)
        self.assertEqual(10 - len(got), pub.stats.dropped)

    def test_unserialisable_reported_not_raised(self):
        pub = self.make()
        self.transport.gate.set()
        self.assertFalse(pub.publish({'bad': object()}))
        self.assertEqual(1, pub.stats.unserialisable)
        self.assertTrue(pub.publish({'good': 1}))
        self.assertTrue(pub.flush(5))
        self.assertEqual([{'good': 1}],
                         [e.event for e in self.events_sent()])

    def test_send_failure_retried_then_sent(self):
        pub = self.make(retry_interval_max=0.1)
        self.transport.fail = True
        self.transport.gate.set()
        pub.publish({'x': 1})
        self.assertFalse(pub.flush(1))
        self.assertGreater(pub.stats.send_errors, 0)
        self.transport.fail = False
        self.assertTrue(pub.flush(5))
        self.assertEqual(1, pub.stats.sent)

    def test_stop_bounded_when_broker_hangs(self):
        pub = self.make(sender_threads=1)
        for n in range(3):
            pub.publish({'n': n})
        self.assertFalse(pub.stop(0.3))
        self.assertEqual(3, pub.stats.abandoned)
        self.assertFalse(pub.publish({'late': True}))

    def test_fork_gets_new_identity(self):
        pub = self.make()
        self.transport.gate.set()
        pub.publish({'x': 1})
        self.assertTrue(pub.flush(5))
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:   # the child: a fresh publisher, no parent's state
            try:
                os.write(write_fd, ('%s %d %s' % (
                    pub.publisher_id, pub.queue.sequence, pub.sender is None)
                ).encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        os.waitpid(pid, 0)
        with os.fdopen(read_fd) as f:
            child_id, sequence, threads = f.read().split()
        self.assertNotEqual(pub.publisher_id, child_id)
        self.assertTrue(child_id.startswith('vitrage.persistor.collector.'))
        self.assertEqual(('0', 'True'), (sequence, threads))
        self.assertEqual(1, pub.queue.sequence)
