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

"""Expiry keeps every time inside the retention window answerable."""

import datetime

from vitrage_persistor.replay import canonical, errors, retention
from vitrage_persistor.tests.common import trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.replay import base

TTL = 3600


class RetentionContract:
    """Run once per backend (see the bottom of the module)."""

    def test_expiry_keeps_the_window_answerable(self):
        events = base.long_trace()[:900]
        n = self.store_trace(events, shuffle=False)
        cuts = [200, 400, 600]
        snaps = {}
        for cut in cuts:
            result = self.replayer.graph_at(
                at_time=trace.collector_time(cut - 1))
            snaps[cut] = self.replayer.save_snapshot(result)
        # Every time we will ask about, replayed before any expiry.
        times = [trace.collector_time(i) for i in
                 (150, 399, 450, 599, 700, n - 1)]
        before = {}
        for t in times:
            r = self.replayer.graph_at(at_time=t, use_snapshots=False)
            before[t] = canonical.canonical(r.graph, r.processor.id_cache)

        # The window starts between the 2nd and 3rd snapshot.
        cutoff = trace.collector_time(500)
        self.config(event_ttl=TTL, group='persistor')
        result = retention.expire(
            self.conf, self.replayer,
            now=cutoff + datetime.timedelta(seconds=TTL))

        self.assertEqual(snaps[400], result.base_snapshot)
        self.assertEqual(400, result.deleted_events)
        self.assertEqual(1, result.deleted_snapshots)
        self.assertEqual(n - 400, self.store.event_counts()['count'])
        self.assertEqual([snaps[400], snaps[600]],
                         [m['id'] for m in self.store.list_snapshots()])
        first = self.store.first_event()
        self.assertEqual(400, first.sequence)

        for t in times:
            if t < cutoff:
                continue
            r = self.replayer.graph_at(at_time=t)
            self.assertEqual(before[t], canonical.canonical(
                r.graph, r.processor.id_cache), t)
        # The base itself stays answerable, anything before it is gone.
        r = self.replayer.graph_at(at_time=trace.collector_time(399))
        self.assertEqual(before[trace.collector_time(399)],
                         canonical.canonical(r.graph, r.processor.id_cache))
        self.assertRaises(errors.BeforeHistory, self.replayer.graph_at,
                          at_time=trace.collector_time(150))

        # Running it again deletes nothing more.
        again = retention.expire(
            self.conf, self.replayer,
            now=cutoff + datetime.timedelta(seconds=TTL))
        self.assertEqual((0, 0), (again.deleted_events,
                                  again.deleted_snapshots))

    def test_expiry_keeps_the_chain_of_an_incremental_base(self):
        events = base.long_trace()[:900]
        n = self.store_trace(events, shuffle=False)
        self.config(snapshot_delta_ratio=100.0, group='persistor')
        snaps = {}
        for cut in (200, 400, 600, 800):
            result = self.replayer.graph_at(
                at_time=trace.collector_time(cut - 1), track_changes=True)
            snaps[cut] = self.replayer.save_snapshot(result)
        metas = {m['id']: m for m in self.store.list_snapshots()}
        self.assertEqual([None, snaps[200], snaps[400], snaps[600]],
                         [metas[snaps[c]]['parent_id']
                          for c in (200, 400, 600, 800)])
        times = [trace.collector_time(i) for i in (599, 700, n - 1)]
        before = {}
        for t in times:
            r = self.replayer.graph_at(at_time=t, use_snapshots=False)
            before[t] = canonical.canonical(r.graph, r.processor.id_cache)

        # the base is the delta at 600: its chain stays
        self.config(event_ttl=TTL, group='persistor')
        cutoff = trace.collector_time(650)
        result = retention.expire(
            self.conf, self.replayer,
            now=cutoff + datetime.timedelta(seconds=TTL))
        self.assertEqual(snaps[600], result.base_snapshot)
        self.assertEqual((600, 0), (result.deleted_events,
                                    result.deleted_snapshots))
        for t in times:
            r = self.replayer.graph_at(at_time=t)
            self.assertIsNotNone(r.snapshot_id)
            self.assertEqual(before[t], canonical.canonical(
                r.graph, r.processor.id_cache), t)

        # a full snapshot later: the old chain goes with the next expiry
        self.config(snapshot_delta_ratio=0.0, group='persistor')
        result = self.replayer.graph_at(
            at_time=trace.collector_time(849), track_changes=True)
        full = self.replayer.save_snapshot(result)
        self.assertIsNone({m['id']: m for m in self.store.list_snapshots()
                           }[full]['parent_id'])
        result = retention.expire(
            self.conf, self.replayer,
            now=trace.collector_time(860) + datetime.timedelta(seconds=TTL))
        self.assertEqual(full, result.base_snapshot)
        self.assertEqual(4, result.deleted_snapshots)
        r = self.replayer.graph_at(at_time=times[-1])
        self.assertEqual(full, r.snapshot_id)
        self.assertEqual(before[times[-1]], canonical.canonical(
            r.graph, r.processor.id_cache))

    def test_a_broken_chain_is_not_used(self):
        self.store_trace(base.long_trace()[:400], shuffle=False)
        self.config(snapshot_delta_ratio=100.0, group='persistor')
        ids = []
        for cut in (100, 200, 300):
            result = self.replayer.graph_at(
                at_time=trace.collector_time(cut - 1), track_changes=True)
            ids.append(self.replayer.save_snapshot(result))
        expected = self.replayer.graph_at(use_snapshots=False)
        self.assertEqual(ids[2], self.replayer.graph_at().snapshot_id)
        # the middle of the chain deleted by hand: 300 cannot be loaded
        self.store.delete_snapshots([ids[1]])
        r = self.replayer.graph_at()
        self.assertEqual(ids[0], r.snapshot_id)
        self.assertEqual(
            canonical.canonical(expected.graph, expected.processor.id_cache),
            canonical.canonical(r.graph, r.processor.id_cache))

    def test_nothing_expires_without_a_covering_snapshot(self):
        n = self.store_trace(base.long_trace()[:300], shuffle=False)
        result = self.replayer.graph_at(at_time=trace.collector_time(250))
        self.replayer.save_snapshot(result)
        self.config(event_ttl=TTL, group='persistor')
        # cutoff before the only snapshot: nothing may go
        expired = retention.expire(
            self.conf, self.replayer,
            now=trace.collector_time(100) + datetime.timedelta(seconds=TTL))
        self.assertIsNone(expired.base_snapshot)
        self.assertEqual(n, self.store.event_counts()['count'])

    def test_event_ttl_zero_keeps_everything(self):
        n = self.store_trace(base.long_trace()[:50], shuffle=False)
        self.replayer.save_snapshot(self.replayer.graph_at())
        expired = retention.expire(self.conf, self.replayer)
        self.assertEqual(0, expired.deleted_events)
        self.assertEqual(n, self.store.event_counts()['count'])


globals().update(func_fixtures.backend_classes(
    'TestRetention', (RetentionContract, base.ReplayDBTestCase), {}))
