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

"""The store's contract, asserted once and run on every backend."""

import datetime
import json
import time

from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import records as test_records
from vitrage_persistor.tests.functional import fixtures as func_fixtures

# make_event stays importable from here (tests/unit/api uses it)
T0 = test_records.T0
make_event = test_records.make_event


class StoreContract:
    """Assertions every backend must pass; subclassed once per backend."""

    def test_batch_is_stored_with_increasing_ids(self):
        result = self.store.add_batch([make_event(i) for i in range(50)])
        self.assertEqual((50, 0, 0), (result.stored, result.duplicates,
                                      result.quarantined))
        ids = [e.id for e in self.store.iter_events_by_id()]
        self.assertEqual(50, len(ids))
        self.assertEqual(sorted(ids), ids)
        self.assertEqual(len(set(ids)), len(ids))

    def test_repeated_batch_is_deduplicated(self):
        batch = [make_event(i) for i in range(20)]
        self.store.add_batch(batch)
        again = self.store.add_batch(batch + [batch[0]])
        self.assertEqual(0, again.stored)
        self.assertEqual(21, again.duplicates)
        self.assertEqual(20, self.store.event_counts()['count'])

    def test_duplicates_inside_one_batch(self):
        event = make_event(1)
        result = self.store.add_batch([event, event, make_event(2)])
        self.assertEqual(2, result.stored)
        self.assertEqual(1, result.duplicates)

    def test_timestamp_keeps_microseconds(self):
        ts = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901,
                               tzinfo=datetime.UTC)
        self.store.add_batch([make_event(1, ts=ts)])
        (event,) = self.store.iter_events()
        self.assertEqual(ts.replace(tzinfo=None), event.collector_timestamp)

    def test_large_payload_round_trips(self):
        big = {'vitrage_entity_type': 'nova.host', 'blob': 'x' * (1 << 20)}
        self.store.add_batch([make_event(1, payload=big)])
        (event,) = self.store.iter_events()
        self.assertEqual(big, event.payload)

    def test_non_ascii_payload_round_trips(self):
        payload = {'vitrage_entity_type': 'nova.host',
                   'name': 'hôte-東京-🚀', 'note': 'Ünïcödé \u2028 ok'}
        self.store.add_batch([make_event(1, payload=payload)])
        (event,) = self.store.iter_events()
        self.assertEqual(payload, event.payload)
        self.assertEqual(json.dumps(payload, sort_keys=True),
                         json.dumps(event.payload, sort_keys=True))

    def test_replay_order_is_total_and_paged(self):
        same = T0
        batch = [make_event(i, ts=same, publisher=p, seq=s)
                 for i, (p, s) in enumerate(
                     [('b', 2), ('a', 9), ('b', 1), ('a', 3)])]
        batch += [make_event(10 + i,
                             ts=T0 - datetime.timedelta(seconds=i + 1))
                  for i in range(5)]
        self.store.add_batch(batch)
        events = list(self.store.iter_events(page_size=2))
        keys = [e.order_key for e in events]
        self.assertEqual(sorted(keys), keys)
        self.assertEqual(9, len(events))
        tail = [(e.publisher_id, e.sequence) for e in events[-4:]]
        self.assertEqual([('a', 3), ('a', 9), ('b', 1), ('b', 2)], tail)

    def test_iter_events_after_and_until(self):
        self.store.add_batch([make_event(i) for i in range(10)])
        events = list(self.store.iter_events())
        after = list(self.store.iter_events(after=events[3].order_key,
                                            page_size=3))
        self.assertEqual([e.id for e in events[4:]], [e.id for e in after])
        until = list(self.store.iter_events(
            until_time=events[5].collector_timestamp))
        self.assertEqual([e.id for e in events[:6]], [e.id for e in until])
        window = list(self.store.iter_events(after=events[1].order_key,
                                             until=events[4].order_key))
        self.assertEqual([e.id for e in events[2:5]],
                         [e.id for e in window])

    def test_quarantine_dedupes_on_message_id(self):
        item = records.QuarantineRecord(
            reason='not_a_dict', detail='payload is a list', raw='[1]',
            message_id='m-1')
        first = self.store.add_batch([], [item])
        again = self.store.add_batch([], [item])
        self.assertEqual((1, 0), (first.quarantined, again.quarantined))
        self.assertEqual({'not_a_dict': 1}, self.store.quarantine_summary())

    def test_snapshot_round_trip_and_selection(self):
        self.store.add_batch([make_event(i) for i in range(10)])
        events = list(self.store.iter_events())
        for cut in (2, 6):
            self.store.save_snapshot(records.Snapshot(
                covers=events[cut].order_key, max_event_id=events[-1].id,
                event_count=cut + 1, processor='test',
                graph={'nodes': [{'vitrage_id': 'v%d' % cut,
                                  'name': 'nœud'}], 'links': []},
                vertex_count=1))
        latest = self.store.latest_snapshot()
        self.assertEqual(events[6].order_key, latest.covers)
        self.assertEqual('nœud', latest.graph['nodes'][0]['name'])
        before = self.store.latest_snapshot(at_or_before=events[5].order_key)
        self.assertEqual(events[2].order_key, before.covers)
        by_time = self.store.latest_snapshot(
            at_or_before_time=events[6].collector_timestamp)
        self.assertEqual(events[6].order_key, by_time.covers)
        self.assertIsNone(self.store.latest_snapshot(
            at_or_before=events[1].order_key))
        self.assertEqual(2, len(self.store.list_snapshots()))


globals().update(func_fixtures.backend_classes(
    'TestStore', (StoreContract, func_fixtures.OpportunisticDB,
                  base.TestCase), {}))


class TestSQLiteReadersDoNotBlockWriters(func_fixtures.OpportunisticDB,
                                         base.TestCase):
    """The schema's SQLite file is in WAL mode.

    So a long read, such as the API's or the standby's read-ahead, never
    makes a commit fail.
    """

    def test_commit_while_a_read_is_open(self):
        self.store.add_batch([make_event(i) for i in range(300)])
        reader = storage_api.Store(self.conf)
        self.addCleanup(reader.dispose)
        with reader.engine.connect() as conn:
            # a read half consumed: its statement holds the file
            rows = conn.exec_driver_sql('SELECT id FROM event')
            rows.fetchone()
            start = time.monotonic()
            result = self.store.add_batch([make_event(i)
                                           for i in range(300, 310)])
            # in rollback-journal mode this commit waits for the reader,
            # and fails with "database is locked" after the driver's 5 s
            self.assertLess(time.monotonic() - start, 4)
            self.assertEqual(10, result.stored)
            self.assertEqual(299, len(rows.fetchall()))
            self.assertEqual('wal', conn.exec_driver_sql(
                'PRAGMA journal_mode').scalar())
