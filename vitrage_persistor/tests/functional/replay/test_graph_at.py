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

"""graph_at on every backend equals the graph Vitrage's processor held.

The trace is thousands of events from Vitrage's own mocks, with deletes
and re-creations; it is stored in shuffled batches (row ids unrelated to
replay order), replayed at several cut points and compared canonically
with the live processor's graph at the same point.
"""

import dataclasses
import json

import fixtures

from vitrage_persistor.replay import canonical, engine, errors
from vitrage_persistor.tests.common import trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.replay import base


class GraphAtContract:
    """Run once per backend (see the bottom of the module)."""

    def test_cut_points_equal_live_processor(self):
        self.store_trace()
        expected = base.live(self.conf)
        self.assertGreater(len(base.long_trace()), 2900)
        for n, cut in enumerate(base.cut_points()):
            # The last event of the cut and its pair share a timestamp.
            at = trace.collector_time(cut - 1)
            result = self.replayer.graph_at(at_time=at)
            self.assertEqual(cut, result.event_count)
            self.assertSameGraph(expected[cut], result)
            if n % 2 == 0:
                # later cuts start from this snapshot
                self.assertIsNotNone(self.replayer.save_snapshot(result))
        self.assertGreaterEqual(len(self.store.list_snapshots()), 2)

    def test_event_id_target(self):
        self.store_trace()
        cut = base.cut_points()[1]
        event_id = self.event_id_of(cut - 1)
        result = self.replayer.graph_at(event_id=event_id)
        self.assertEqual(cut, result.event_count)
        self.assertSameGraph(base.live(self.conf)[cut], result)

    def test_snapshot_plus_tail_equals_full_replay(self):
        self.store_trace()
        full = self.replayer.graph_at(use_snapshots=False)
        mid = self.replayer.graph_at(
            at_time=trace.collector_time(len(base.long_trace()) // 2))
        snapshot_id = self.replayer.save_snapshot(mid)
        tail = self.replayer.graph_at()
        self.assertEqual(snapshot_id, tail.snapshot_id)
        self.assertLess(tail.applied, full.applied)
        self.assertEqual(full.event_count, tail.event_count)
        # Not only canonically equal: the same vitrage_ids, deleted marks
        # and id cache, byte for byte.
        self.assertEqual(
            json.dumps(full.processor.to_document(), sort_keys=True),
            json.dumps(tail.processor.to_document(), sort_keys=True))
        # the replayer's list of snapshots follows the table: the one it
        # used is deleted, and then another one is written with its id
        # (SQLite gives the largest id again)
        self.store.delete_snapshots([snapshot_id])
        again = self.replayer.graph_at()
        self.assertIsNone(again.snapshot_id)
        self.assertEqual(full.event_count, again.event_count)
        other = self.replayer.save_snapshot(self.replayer.graph_at(
            at_time=trace.collector_time(len(base.long_trace()) // 3)))
        self.assertEqual(other, self.replayer.graph_at().snapshot_id)

    def test_deleted_entity_never_comes_back(self):
        self.store_trace()
        previous = None
        deleted_seen = 0
        for cut in base.cut_points():
            result = self.replayer.graph_at(
                at_time=trace.collector_time(cut - 1))
            form = canonical.canonical(result.graph,
                                       result.processor.id_cache)
            if previous is not None:
                for key, props in previous['vertices'].items():
                    if props.get('vitrage_is_deleted'):
                        deleted_seen += 1
                        self.assertIn(key, form['vertices'])
                        self.assertTrue(
                            form['vertices'][key]['vitrage_is_deleted'],
                            'deleted vertex %s came back' % key)
            previous = form
            self.replayer.save_snapshot(result)
        self.assertGreater(deleted_seen, 100)
        # instances deleted and re-created: one key, several vertices
        self.assertTrue(any('#' in k for k in previous['vertices']))

    def test_late_arrivals_are_applied_in_order(self):
        events = base.long_trace()
        n = len(events)
        late = set(range(n // 4, n // 4 + 40))
        recs = trace.to_records(events)
        self.store.add_batch([r for i, r in enumerate(recs)
                              if i not in late])
        before = self.replayer.graph_at()
        self.assertIsNotNone(self.replayer.save_snapshot(before))
        self.store.add_batch([recs[i] for i in sorted(late)])
        result = self.replayer.graph_at()
        self.assertIsNone(result.snapshot_id)  # the stale one is skipped
        self.assertEqual(n, result.event_count)
        expected = base.live(self.conf)[n & ~1] if n % 2 == 0 else None
        if expected is not None:
            self.assertSameGraph(expected, result)

    def test_late_events_either_way(self):
        """Counted walking the ids after, or the order before, alike.

        ``late_events`` walks the smaller side; both give the same count,
        and a replayer that found a snapshot clean looks again only at
        the events stored since, and still sees new late ones.
        """
        recs = trace.to_records(base.long_trace()[:600])
        late = {100, 101, 500}
        self.store.add_batch([r for i, r in enumerate(recs)
                              if i not in late])
        max_id = self.store.max_event_id()
        self.store.add_batch([recs[i] for i in sorted(late)])
        events = list(self.store.iter_events())
        low, high = min(e.id for e in events), max(e.id for e in events)
        by_seq = {e.sequence: e for e in events}
        for cut in (50, 120, 300, 550):
            covers = by_seq[cut].order_key
            # near the start: the order index; near the end: the ids
            for after in (low + 5, (low + high) // 2, max_id, high - 2):
                expected = sum(1 for e in events if e.id > after
                               and e.order_key <= covers)
                self.assertEqual((expected, high), self.store.late_events(
                    covers, after), (cut, after))
        self.assertEqual(3, self.store.count_late_events(
            by_seq[550].order_key, max_id))
        # clean so far: remembered; a late event stored later still counts
        self.replayer.save_snapshot(self.replayer.graph_at())
        self.assertEqual(1, len(self.replayer.usable_snapshots()))
        self.assertEqual(1, len(self.replayer.usable_snapshots()))
        self.store.add_batch([dataclasses.replace(
            recs[0], message_id='late-again')])
        self.assertEqual([], self.replayer.usable_snapshots())

    def test_kept_snapshot_graph_answers_as_a_fresh_load(self):
        self.store_trace()
        n = len(base.long_trace())
        # a chain: a full snapshot, then deltas, as the standby writes
        # (this trace changes much of its small graph between cuts)
        self.conf.set_override('snapshot_delta_ratio', 50, 'persistor')
        ids = []
        for cut in (n // 5, 2 * n // 5, 3 * n // 5):
            result = self.replayer.graph_at(
                at_time=trace.collector_time(cut), track_changes=True)
            ids.append(self.replayer.save_snapshot(result))
        metas = {m['id']: m for m in self.store.list_snapshots()}
        self.assertEqual([None, ids[0], ids[1]],
                         [metas[i]['parent_id'] for i in ids])
        kept = engine.Replayer(self.conf, self.store, keep_base=True)
        fetched = []
        real = self.store.get_snapshots

        def get_snapshots(wanted):
            fetched.append(list(wanted))
            return real(wanted)

        self.useFixture(fixtures.MockPatchObject(
            self.store, 'get_snapshots', side_effect=get_snapshots))
        # on snapshot 1 (a load, not kept: one question on the chain),
        # on 2 (the second on the chain: loaded and kept), 2 again (the
        # kept graph), back to 1 (loaded, kept), forward to 3 (two
        # deltas onto the kept graph), and before any snapshot
        steps = [(n // 4, [ids[:1]]), (n // 2, [ids[:2]]),
                 (n // 2 + 7, []), (3 * n // 10, [ids[:1]]),
                 (2 * n // 3, [ids[1:]]), (n // 10, [])]
        for cut, expected_fetches in steps:
            at = trace.collector_time(cut)
            fetched.clear()
            got = kept.graph_at(at_time=at)
            self.assertEqual(expected_fetches, fetched, cut)
            want = self.replayer.graph_at(at_time=at)
            self.assertEqual(want.snapshot_id, got.snapshot_id)
            self.assertEqual(
                json.dumps(want.processor.to_document(), sort_keys=True),
                json.dumps(got.processor.to_document(), sort_keys=True))
            # what a caller does to its graph never reaches the kept one
            got.processor.apply(list(self.store.iter_events())[-50:])

    def test_errors(self):
        self.assertRaises(errors.EmptyHistory, self.replayer.graph_at)
        self.store_trace(base.long_trace()[:10])
        self.assertRaises(errors.BeforeHistory, self.replayer.graph_at,
                          at_time=trace.T0.replace(year=2020))
        self.assertRaises(errors.UnknownEvent, self.replayer.graph_at,
                          event_id=10 ** 9)


globals().update(func_fixtures.backend_classes(
    'TestGraphAt', (GraphAtContract, base.ReplayDBTestCase), {}))
