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

"""The late-event check through ``event_block``, on every backend.

Its answer must equal a walk of the whole table (computed here in
Python), on a history with late events, for snapshots anywhere in it;
and on a history stored in order it must read one or two blocks, not
the history.
"""

import random
from unittest import mock

import fixtures
import sqlalchemy as sa

from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import event_blocks, models
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import records as test_records
from vitrage_persistor.tests.functional import fixtures as func_fixtures

B = models.EVENT_BLOCK_IDS


def _brute_force(stored, covers, after_id):
    return sum(1 for event_id, key in stored
               if event_id > after_id and key <= covers)


class _History:
    """A history with late events, and the check against a walk."""

    def _store_with_late_events(self, n=3 * B, late=40, batch=200):
        """``n`` events in time order, ``late`` of them stored last."""
        rng = random.Random(7)
        events = [test_records.make_event(i) for i in range(n)]
        held = set(rng.sample(range(n), late))
        ordered = [e for i, e in enumerate(events) if i not in held]
        for start in range(0, len(ordered), batch):
            self.store.add_batch(ordered[start:start + batch])
        # the late ones, in two batches, each in a random order
        tail = [events[i] for i in sorted(held)]
        rng.shuffle(tail)
        self.store.add_batch(tail[:late // 2])
        self.store.add_batch(tail[late // 2:])
        return [(e.id, e.order_key) for e in self.store.iter_events_by_id()]

    def _assert_matches_a_walk(self, stored, checks=60):
        rng = random.Random(11)
        ids = [event_id for event_id, _ in stored]
        keys = sorted(key for _, key in stored)
        for _ in range(checks):
            covers = rng.choice(keys)
            after_id = rng.choice(ids)
            count, high = self.store.late_events(covers, after_id)
            self.assertEqual(_brute_force(stored, covers, after_id), count,
                             'covers %s, after id %d' % (covers, after_id))
            self.assertEqual(max(ids), high)


class EventBlockContract(_History):

    def test_late_events_equal_a_walk_of_the_table(self):
        stored = self._store_with_late_events()
        self.assertGreater(sum(
            _brute_force(stored, key, event_id) for event_id, key in stored),
            0, 'the history has no late event to find')
        self._assert_matches_a_walk(stored)

    def test_too_many_candidate_blocks_walk_an_index(self):
        # both sides of the fallback: from after_id, and up to covers
        self.useFixture(fixtures.MockPatchObject(
            event_blocks, 'MAX_CANDIDATES', 1))
        stored = self._store_with_late_events()
        self._assert_matches_a_walk(stored)

    def test_core_insert_notes_the_blocks_too(self):
        # SQLite's path everywhere: the rows above the largest id before
        # the insert (SQLite), or read back by message id (elsewhere)
        with mock.patch.object(storage_api, '_fast_path_ok',
                               return_value=False):
            stored = self._store_with_late_events(n=2 * B, late=20)
        self._assert_matches_a_walk(stored, checks=30)

    def test_event_stored_without_its_block_is_still_found(self):
        # an agent of an older release, during an upgrade, stores events
        # without event_block rows: the check walks the table instead
        logger = self.useFixture(fixtures.FakeLogger(
            name='vitrage_persistor.storage.api'))
        # (it is seen once its events reach a block of their own: here
        # the late event is the first of block 1)
        self.store.add_batch([test_records.make_event(i)
                              for i in range(10, 10 + B - 1)])
        stored = list(self.store.iter_events_by_id())
        self.assertEqual(B - 1, stored[-1].id)
        with mock.patch.object(event_blocks, 'note'):
            self.store.add_batch([test_records.make_event(0)])
        count, _ = self.store.late_events(stored[5].order_key,
                                          stored[-1].id)
        self.assertEqual(1, count)
        self.assertIn('without its event_block row', logger.output)

    def test_history_in_order_reads_the_blocks_after_the_snapshot(self):
        n = 5 * B
        for start in range(0, n, 500):
            self.store.add_batch([test_records.make_event(i)
                                  for i in range(start, start + 500)])
        stored = [(e.id, e.order_key) for e in self.store.iter_events_by_id()]
        with self.store.engine.connect() as conn:
            for event_id, key in stored[B // 2::B // 2]:
                blocks = event_blocks.candidates(
                    conn, key.collector_timestamp, event_id)
                # the block of the snapshot's own id, and the next one
                # when it ends there
                self.assertLessEqual(len(blocks), 2, blocks)
                self.assertEqual(event_id // B, blocks[0])
                self.assertEqual(0, self.store.late_events(key, event_id)[0])

    def test_each_writer_has_its_own_rows(self):
        with mock.patch.object(storage_api.Store, 'agent_name',
                               return_value='host-a:1'):
            self.store.add_batch([test_records.make_event(i)
                                  for i in range(10, 20)])
        with mock.patch.object(storage_api.Store, 'agent_name',
                               return_value='host-b:2'):
            # late: before everything host-a stored
            self.store.add_batch([test_records.make_event(i)
                                  for i in range(0, 3)])
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(
                event_blocks.EVENT_BLOCK.c.writer,
                event_blocks.EVENT_BLOCK.c.min_collector_timestamp)
                .order_by(event_blocks.EVENT_BLOCK.c.writer)).all()
        self.assertEqual(
            [('host-a:1', test_records.T0.replace(second=10)),
             ('host-b:2', test_records.T0)],
            [(r[0], r[1]) for r in rows])
        first_ten = [e for e in self.store.iter_events()][:10]
        covers = first_ten[-1].order_key  # host-a's 7th event in order
        # the three late events have ids above host-a's ten
        self.assertEqual(3, self.store.late_events(covers, 10)[0])

    def test_redelivered_batch_leaves_the_blocks_as_they_were(self):
        batch = [test_records.make_event(i) for i in range(5)]
        self.store.add_batch(batch)
        self.store.add_batch(batch)
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(event_blocks.EVENT_BLOCK)).all()
        self.assertEqual(1, len(rows))
        self.assertEqual(test_records.T0, rows[0].min_collector_timestamp)

    def test_expired_events_take_their_blocks_along(self):
        n = 3 * B
        for start in range(0, n, 512):
            self.store.add_batch([test_records.make_event(i)
                                  for i in range(start, start + 512)])
        stored = list(self.store.iter_events_by_id())
        cut = stored[2 * B + 10]
        self.store.delete_events_covered(cut.order_key, cut.id)
        with self.store.engine.connect() as conn:
            blocks = conn.execute(sa.select(
                event_blocks.EVENT_BLOCK.c.block)).scalars().all()
        first = min(e.id for e in self.store.iter_events_by_id())
        self.assertEqual(sorted({first // B, stored[-1].id // B}),
                         sorted(set(blocks)))


class FastPathContract(_History):
    """PostgreSQL and MariaDB: the written-out multi-row insert."""

    def test_fast_insert_without_returning_reads_the_rows_back(self):
        # a server without INSERT ... RETURNING (MySQL) reads the rows
        # back by message id
        self.assertIsNotNone(self.store._fast_insert(
            self.store.engine.dialect))
        store = storage_api.Store(self.conf)
        self.addCleanup(store.dispose)
        # the dialect learns what the server has on the first connection
        store.engine.connect().close()
        with mock.patch.object(store.engine.dialect, 'insert_returning',
                               False):
            self.store = store
            stored = self._store_with_late_events(n=2 * B, late=20)
        self._assert_matches_a_walk(stored, checks=30)


globals().update(func_fixtures.backend_classes(
    'TestEventBlocks', (EventBlockContract, func_fixtures.OpportunisticDB,
                        base.TestCase), {}))
# SQLite has no fast path (its Core path is tested above)
globals().update({
    name: cls for name, cls in func_fixtures.backend_classes(
        'TestEventBlocksFastPath', (FastPathContract,
                                    func_fixtures.OpportunisticDB,
                                    base.TestCase), {}).items()
    if not name.endswith('SQLite')})
