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

"""The publisher's queue as the sender process's feeder uses it."""

from vitrage_persistor.publish import queue
from vitrage_persistor.tests import base


def _queue(size=100, max_in_flight=4, drop_oldest=True):
    logged = []
    q = queue.EventQueue('collector', size, drop_oldest, max_in_flight,
                         queue.PublisherStats(),
                         lambda msg, *args: logged.append(msg % args))
    return q, logged


class TestEventQueue(base.TestCase):

    def test_hand_over_holds_at_most_the_window(self):
        q, _ = _queue(max_in_flight=4)
        for _n in range(10):
            self.assertTrue(q.put(b'x', None))
        take = [q.hand_over(2, lambda: True, 0) for _ in range(2)]
        self.assertEqual([[1, 2], [3, 4]],
                         [[item[1] for item in batch] for batch in take])
        self.assertEqual((10, 4), (q.pending(), q.in_flight()))
        q.acked(2, 2, 0, 0)     # 1 and 2 are done: room for a batch
        self.assertEqual((8, 2), (q.pending(), q.in_flight()))
        batch = q.hand_over(2, lambda: True, 0)
        self.assertEqual([5, 6], [item[1] for item in batch])
        self.assertEqual(2, q.stats.sent)

    def test_unacknowledged_events_are_queued_again_in_order(self):
        q, _ = _queue(max_in_flight=4)
        for _n in range(6):
            q.put(b'x', None)
        q.hand_over(4, lambda: True, 0)
        q.acked(1, 1, 0, 0)
        self.assertEqual(3, q.requeue_unacked())
        batch = q.hand_over(4, lambda: True, 0)
        self.assertEqual([2, 3, 4, 5], [item[1] for item in batch])

    def test_dead_sender_and_stop(self):
        q, _ = _queue()
        q.put(b'x', None)
        self.assertEqual([], q.hand_over(4, lambda: False, 0))
        self.assertEqual(1, q.close())
        self.assertIsNone(q.hand_over(4, lambda: True, 0))
        self.assertEqual(1, q.stats.abandoned)
        self.assertFalse(q.put(b'x', None))
        self.assertEqual(1, q.stats.dropped)

    def test_overflow_counted_and_logged(self):
        q, logged = _queue(size=2, drop_oldest=False)
        self.assertEqual([True, True, False],
                         [q.put(b'x', None) for _ in range(3)])
        self.assertEqual({'enqueued': 2, 'dropped': 1},
                         {k: v for k, v in q.stats.as_dict().items() if v})
        self.assertIn('dropped the newest event', logged[0])
        self.assertEqual(2, q.sequence)
