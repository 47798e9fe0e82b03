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

"""The endpoint's error paths, with a mocked Store (only here)."""

import threading
from unittest import mock

import oslo_messaging
from oslo_db import exception as db_exception

from vitrage_persistor import wire
from vitrage_persistor.persistor import endpoint, stats
from vitrage_persistor.storage import records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.unit.persistor import test_validation as tv


def _messages(n, start=0):
    return [tv._message(message_id='m-%d' % i) for i in range(start,
                                                              start + n)]


class TestEndpoint(base.TestCase):

    def setUp(self):
        super().setUp()
        self.store = mock.Mock()
        self.store.max_payload_bytes.return_value = 8 * 1024 * 1024
        self.store.add_batch.side_effect = lambda ev, q=(): \
            records.BatchResult(stored=len(ev), duplicates=0,
                                quarantined=len(q))
        self.stats = stats.Stats()
        self.stop = threading.Event()
        self.backoff = endpoint.Backoff(8.0, 0.5, stop_event=self.stop)
        self.ep = endpoint.PersistorEndpoint(self.store, self.stats, 4096,
                                             self.backoff)
        self.waits = []
        self.stop.wait = lambda t=None: self.waits.append(t) or False

    def test_only_sample_priority(self):
        for prio in ('audit', 'debug', 'info', 'warn', 'error', 'critical'):
            self.assertFalse(hasattr(self.ep, prio), prio)
        self.assertEqual('sample', wire.PRIORITY)
        self.assertTrue(callable(self.ep.sample))

    def test_one_transaction_per_batch_then_ack(self):
        bad = tv._message(message_id='bad', event_type='other.type')
        result = self.ep.sample(_messages(5) + [bad])
        self.assertIsNone(result)
        self.assertEqual(1, self.store.add_batch.call_count)
        events, quarantined = self.store.add_batch.call_args[0]
        self.assertEqual(['m-%d' % i for i in range(5)],
                         [e.message_id for e in events])
        self.assertEqual(['wrong_event_type'],
                         [q.reason for q in quarantined])
        snap = self.stats.snapshot_and_reset()
        self.assertEqual(5, snap['interval']['stored'])
        self.assertEqual({'wrong_event_type': 1},
                         snap['quarantine_reasons'])

    def test_db_down_requeues_with_growing_capped_backoff(self):
        self.store.add_batch.side_effect = db_exception.DBConnectionError(
            'gone')
        for _ in range(6):
            self.assertEqual(oslo_messaging.NotificationResult.REQUEUE,
                             self.ep.sample(_messages(3)))
        self.assertEqual([0.5, 1.0, 2.0, 4.0, 8.0, 8.0], self.waits)
        self.assertEqual(6, self.stats.totals['requeued_batches'])
        # back again: acked, and the back-off starts from the bottom
        self.store.add_batch.side_effect = lambda ev, q=(): \
            records.BatchResult(len(ev), 0, len(q))
        self.assertIsNone(self.ep.sample(_messages(3)))
        self.assertEqual(0, self.backoff.failures)

    def test_any_unexpected_error_requeues_never_acks(self):
        self.store.add_batch.side_effect = RuntimeError('bug')
        self.assertEqual(oslo_messaging.NotificationResult.REQUEUE,
                         self.ep.sample(_messages(2)))

    def test_row_rejected_by_db_is_isolated_and_quarantined(self):
        stored, quarantined = [], []

        def add_batch(events, q=()):
            if any(e.message_id == 'm-2' for e in events):
                raise db_exception.DBDataError('value too long')
            stored.extend(e.message_id for e in events)
            quarantined.extend((i.message_id, i.reason) for i in q)
            return records.BatchResult(len(events), 0, len(q))
        self.store.add_batch.side_effect = add_batch
        self.assertIsNone(self.ep.sample(_messages(4)))
        self.assertEqual(['m-0', 'm-1', 'm-3'], stored)
        self.assertEqual([('m-2', endpoint.DB_REJECTED)], quarantined)

    def test_refused_quarantine_row_is_stored_in_plain_ascii(self):
        bad = tv._message(message_id='bad\u00e9', event_type='other.type')
        written = []

        def add_batch(events, q=()):
            if q and not q[0].message_id.isascii():
                raise db_exception.DBDataError('refused')
            if events and q:
                raise db_exception.DBDataError('refused')
            written.extend(q)
            return records.BatchResult(len(events), 0, len(q))
        self.store.add_batch.side_effect = add_batch
        self.assertIsNone(self.ep.sample(_messages(1) + [bad]))
        self.assertEqual(1, len(written))
        row = written[0]
        self.assertEqual('wrong_event_type', row.reason)
        self.assertTrue(row.text_escaped)
        self.assertTrue(row.message_id.isascii())
        self.assertIn('the database refused the first form', row.detail)

    def test_a_classifier_bug_quarantines_instead_of_wedging(self):
        with mock.patch.object(endpoint.validation, 'classify_message',
                               side_effect=RuntimeError('bug')):
            self.assertIsNone(self.ep.sample(_messages(2)))
        events, quarantined = self.store.add_batch.call_args[0]
        self.assertEqual([], events)
        self.assertEqual([endpoint.INTERNAL_ERROR] * 2,
                         [q.reason for q in quarantined])
        self.assertIn('RuntimeError: bug', quarantined[0].detail)

    def test_connection_lost_while_isolating_requeues(self):
        calls = []

        def add_batch(events, quarantined=()):
            calls.append(1)
            if len(calls) == 1:
                raise db_exception.DBDataError('bad row')
            raise db_exception.DBConnectionError('gone')
        self.store.add_batch.side_effect = add_batch
        self.assertEqual(oslo_messaging.NotificationResult.REQUEUE,
                         self.ep.sample(_messages(3)))

    def test_stop_interrupts_backoff(self):
        real = endpoint.Backoff(30.0, 30.0)
        real.stop_event.set()
        ep = endpoint.PersistorEndpoint(self.store, self.stats, 4096, real)
        self.store.add_batch.side_effect = db_exception.DBConnectionError(
            'gone')
        watch = threading.Event()
        threading.Timer(5, watch.set).start()
        self.assertEqual(oslo_messaging.NotificationResult.REQUEUE,
                         ep.sample(_messages(1)))
        self.assertFalse(watch.is_set(), 'back-off ignored the stop')

    def test_quarantine_logged_once_per_kind(self):
        bad = [tv._message(message_id='b-%d' % i, payload='x')
               for i in range(50)]
        with self.assertLogs('vitrage_persistor.persistor.endpoint',
                             'WARNING') as logs:
            self.ep.sample(bad)
        self.assertEqual(1, len(logs.records))
        self.assertIn('quarantined 50 message(s)', logs.output[0])
