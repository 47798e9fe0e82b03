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

"""The standby's gap window: interleaved ids, late commits, bounded cost.

Galera hands out ids ``n, n + 3, ...`` per node, so most ids are never
used; and on every backend a transaction holding a lower id can commit
after a higher one. These run on SQLite, PostgreSQL and MariaDB (the
Galera cluster itself is in ``tests/functional/galera``).
"""

import time

from vitrage_persistor.replay import follow
from vitrage_persistor.storage import api, event_blocks
from vitrage_persistor.tests.common import trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.replay import base


def insert_with_ids(store, recs_by_id, conn=None):
    """Insert rows with chosen ids, as Galera's nodes would number them."""
    from oslo_utils import timeutils
    now = timeutils.utcnow()
    rows = [dict(api._event_row(rec, now), id=i)
            for i, rec in sorted(recs_by_id.items())]
    if conn is not None:
        _insert(conn, rows)
        return
    with store.engine.begin() as c:
        _insert(c, rows)


def _insert(conn, rows):
    """Insert event rows as the agent does, event_block included."""
    conn.execute(api.EVENT.insert(), rows)
    event_blocks.note(conn, 'test', [(r['id'], r['collector_timestamp'])
                                     for r in rows])


class CountingStore:
    """The store with a count of the follower's gap queries (a spy)."""

    def __init__(self, store):
        self._store = store
        self.calls = {'count_events_between': 0, 'event_ids_between': 0,
                      'get_events_by_ids': 0}

    def __getattr__(self, name):
        attr = getattr(self._store, name)
        if name in self.calls:
            def counted(*args, **kwargs):
                self.calls[name] += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def poll_until(follower, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('follower did not get there in %ss' %
                                 timeout)
        follower.poll()
        time.sleep(0.05)


class GapContract:

    def _follower(self, gap_timeout=30.0):
        self.config(snapshot_interval='1000000', group='persistor')
        self.config(page_size=200, gap_timeout=gap_timeout, group='replay')
        self.store.add_batch([])  # nothing; the table exists
        follower = follow.Follower(self.conf, self.replayer,
                                   install_signals=False)
        follower.store = CountingStore(self.store)
        follower.start()
        return follower

    def test_interleaved_ids_and_a_late_one(self):
        recs = trace.to_records(base.long_trace()[:400])
        follower = self._follower()
        # node 1 of 3 numbers its rows 1, 4, 7, ...; node 2's 2, 5, ...
        # only start later
        insert_with_ids(self.store, {1 + 3 * i: recs[i + 1]
                                     for i in range(0, 300)})
        poll_until(follower, lambda: follower.applied == 300)
        self.assertEqual(898, follower.last_id)
        self.assertEqual(598, follower.open_gaps)
        # nothing filled: the gap checks were counts, never a list of ids
        follower._gap_checked_at = 0
        follower.poll()
        self.assertGreater(follower.store.calls['count_events_between'], 0)
        self.assertEqual(0, follower.store.calls['get_events_by_ids'])
        # node 2 commits a row numbered far below the last id read, and
        # earlier in replay order than all of them
        insert_with_ids(self.store, {5: recs[0]})
        poll_until(follower, lambda: follower.applied == 301)
        self.assertEqual(1, follower.gaps_filled)
        self.assertTrue(follower.out_of_order)
        self.assertEqual(1, follower.store.calls['get_events_by_ids'])

    def test_window_expires_after_gap_timeout(self):
        recs = trace.to_records(base.long_trace()[:50])
        follower = self._follower(gap_timeout=0.5)
        insert_with_ids(self.store, {3 * i: recs[i] for i in range(1, 40)})
        poll_until(follower, lambda: follower.applied == 39)
        poll_until(follower, lambda: follower.open_gaps == 0)
        self.assertEqual(follower.last_id, follower.floor)
        self.assertEqual(set(), follower.window_ids)
        # too late: given up on, as documented
        insert_with_ids(self.store, {4: recs[45]})
        follower._gap_checked_at = 0
        follower.poll()
        self.assertEqual(39, follower.applied)

    def test_contiguous_ids_leave_no_window(self):
        recs = trace.to_records(base.long_trace()[:300])
        follower = self._follower()
        for i in range(0, 300, 100):
            self.store.add_batch(recs[i:i + 100])
            poll_until(follower, lambda n=i + 100: follower.applied == n)
        self.assertEqual(0, follower.open_gaps)
        self.assertEqual(set(), follower.window_ids)
        self.assertEqual(0, follower.store.calls['count_events_between'])


class HeldTransactionContract(GapContract):
    """A real late commit: a lower id held open while later ids commit."""

    def test_held_transaction_commits_late(self):
        recs = trace.to_records(base.long_trace()[:200])
        follower = self._follower()
        self.store.add_batch(recs[:50])
        poll_until(follower, lambda: follower.applied == 50)
        held = self.store.engine.connect()
        self.addCleanup(held.close)
        txn = held.begin()
        held_row = api._event_row(recs[50], api.timeutils.utcnow())
        held_id = held.execute(api.EVENT.insert(), held_row
                               ).inserted_primary_key[0]
        event_blocks.note(held, 'test', [
            (held_id, held_row['collector_timestamp'])])
        self.store.add_batch(recs[51:150])
        poll_until(follower, lambda: follower.applied == 149)
        self.assertEqual(1, follower.open_gaps)
        txn.commit()
        poll_until(follower, lambda: follower.applied == 150)
        self.assertEqual(0, follower.open_gaps)
        self.assertEqual(1, follower.gaps_filled)


classes = func_fixtures.backend_classes(
    'TestFollowGaps', (GapContract, base.ReplayDBTestCase), {})
globals()['TestFollowGapsSQLite'] = classes['TestFollowGapsSQLite']
held = func_fixtures.backend_classes(
    'TestFollowGaps', (HeldTransactionContract, base.ReplayDBTestCase), {})
globals()['TestFollowGapsPostgreSQL'] = held['TestFollowGapsPostgreSQL']
globals()['TestFollowGapsMariaDB'] = held['TestFollowGapsMariaDB']
