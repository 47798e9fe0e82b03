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

"""The warm standby keeps the graph current and snapshots it correctly."""

import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time

import fixtures
import sqlalchemy as sa
from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor.replay import canonical, engine, follow, graph_json
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.tests.common import trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers
from vitrage_persistor.tests.functional.replay import base


class FollowContract:
    """Run once per backend (see the bottom of the module)."""

    def _follower(self, interval='400', cpu_budget=0.0):
        # no CPU budget by default: snapshots where the interval says
        self.config(snapshot_interval=interval, group='persistor')
        self.config(snapshot_cpu_budget=cpu_budget, group='persistor')
        self.config(page_size=300, group='replay')
        return follow.Follower(self.conf, self.replayer,
                               install_signals=False)

    def _catch_up(self, follower):
        while follower.poll():
            follower.maybe_snapshot()

    def test_in_order_tail_equals_live_and_snapshots(self):
        # deltas however large: this graph grows, which would compact
        self.config(snapshot_delta_ratio=100.0, group='persistor')
        events = base.long_trace()
        n = len(events) & ~1
        recs = trace.to_records(events[:n])
        self.store.add_batch(recs[:500])
        follower = self._follower()
        follower.start()
        for i in range(500, n, 250):
            self.store.add_batch(recs[i:i + 250])
            self._catch_up(follower)
        self.assertFalse(follower.out_of_order)
        expected = base.live(self.conf)[n]
        got = canonical.canonical(follower.processor.graph,
                                  follower.processor.id_cache)
        self.assertEqual([], canonical.differences(expected, got))
        snaps = self.store.list_snapshots()
        self.assertGreaterEqual(len(snaps), (n - 500) // 400 - 1)
        # the first is full, the others deltas from the one before
        self.assertEqual([1] + [2] * (len(snaps) - 1),
                         [m['format_version'] for m in snaps])
        self.assertEqual([None] + [m['id'] for m in snaps[:-1]],
                         [m['parent_id'] for m in snaps])
        # its snapshots are what graph_at would have built, vertex order
        # included
        for meta in snaps[-2:]:
            snap = self.replayer.load_snapshot(meta)
            graph, cache = graph_json.load(snap.graph)
            result = self.replayer.graph_at(
                until=snap.covers, use_snapshots=False)
            # JSON turns the processor's tuples into lists
            self.assertEqual(
                json.loads(json.dumps(result.processor.to_document())),
                json.loads(json.dumps(graph_json.dump(
                    graph, cache, result.processor.name))))
        self.assertIsNotNone(follower.lag_stats()['p99'])

    def test_compaction(self):
        """A full snapshot again when the deltas outweigh the last one.

        ``snapshot_max_deltas`` bounds the chain; ratio 0 writes only
        full snapshots. Every snapshot loads as graph_at would build it.
        """
        events = base.long_trace()[:1800]
        recs = trace.to_records(events)
        for ratio, max_deltas in ((1.0, 100), (100.0, 2), (0.0, 100)):
            self.store.delete_snapshots(
                [m['id'] for m in self.store.list_snapshots()])
            if not self.store.max_event_id():
                self.store.add_batch(recs)
            self.config(snapshot_delta_ratio=ratio,
                        snapshot_max_deltas=max_deltas, group='persistor')
            follower = self._follower('150')
            follower.start()
            for i in range(150, len(recs) + 1, 150):
                # replay the table in slices, as if it were arriving
                follower.processor = None
                result = self.replayer.graph_at(
                    until=self.store.get_event(
                        self.event_id_of(i - 1)).order_key,
                    track_changes=True)
                follower.processor, follower.tracker = (
                    result.processor, result.tracker)
                follower.last_key = result.last
                follower.event_count = result.event_count
                follower.maybe_snapshot(force=True)
            snaps = self.store.list_snapshots()
            by_id = {m['id']: m for m in snaps}
            self.assertEqual(len(recs) // 150, len(snaps))
            for meta in snaps:
                self.assertEqual(meta['parent_id'] is None,
                                 meta['format_version'] == 1)
            full = [m['format_version'] for m in snaps].count(1)
            if ratio == 0:
                self.assertEqual(len(snaps), full)
            else:
                self.assertLess(full, len(snaps))
                longest = max(len(engine.chain_of(m, by_id)) for m in snaps)
                self.assertLessEqual(longest - 1, max_deltas)
                if max_deltas == 2:
                    self.assertEqual(3, longest)
                else:
                    # this graph grows: the deltas do outweigh
                    self.assertGreater(full, 1)
            for meta in snaps[-3:]:
                snap = self.replayer.load_snapshot(meta)
                graph, cache = graph_json.load(snap.graph)
                result = self.replayer.graph_at(until=snap.covers,
                                                use_snapshots=False)
                self.assertEqual(
                    canonical.canonical(result.graph,
                                        result.processor.id_cache),
                    canonical.canonical(graph, cache))

    def test_starts_on_an_empty_table(self):
        follower = self._follower('50')
        follower.start()
        self.assertEqual(0, follower.poll())
        self.store_trace(base.long_trace()[:120], shuffle=False)
        self._catch_up(follower)
        self.assertEqual(120, follower.applied)
        # on the interval, though a page holds all 120
        self.assertEqual([50, 100], [m['event_count'] for m in
                                     self.store.list_snapshots()])

    def test_cpu_budget_writes_snapshots_before_the_interval(self):
        recs = trace.to_records(base.long_trace()[:60])
        # any event spends this budget: it stops after each one
        follower = self._follower('100000', cpu_budget=1e-9)
        follower.start()
        self.store.add_batch(recs)
        self.assertEqual(1, follower.poll())  # the other 59 wait
        self.assertTrue(follower.snapshot_due())
        self.assertIsNotNone(follower.maybe_snapshot())
        self._catch_up(follower)
        self.assertEqual(60, follower.applied)
        self.assertEqual(list(range(1, 61)), [
            m['event_count'] for m in self.store.list_snapshots()])
        # each snapshot holds exactly the events up to its key
        expected = self.replayer.graph_at(use_snapshots=False)
        self.assertEqual(
            json.dumps(expected.processor.to_document(), sort_keys=True),
            json.dumps(follower.processor.to_document(), sort_keys=True))
        # a dump (failover, SIGUSR1) holds every id up to last_event_id
        self.store.add_batch(trace.to_records(base.long_trace()[:80])[60:])
        # no cost known: it reads a page, applies one, keeps the rest
        follower.policy.cost_per_event = None
        self.assertEqual(1, follower.poll())
        self.assertEqual(61, follower.applied)
        path = follower.dump()
        with open(path) as f:
            dumped = json.load(f)
        self.assertEqual(80, follower.applied)
        expected = self.replayer.graph_at(use_snapshots=False)
        self.assertEqual(expected.max_event_id,
                         dumped['standby']['last_event_id'])
        del dumped['standby']
        self.assertEqual(
            json.dumps(expected.processor.to_document(), sort_keys=True),
            json.dumps(dumped, sort_keys=True))
        for meta in self.store.list_snapshots()[::15]:
            got = self.replayer.graph_at(event_id=meta['last_event_id'])
            self.assertEqual(meta['id'], got.snapshot_id)
            want = self.replayer.graph_at(event_id=meta['last_event_id'],
                                          use_snapshots=False)
            self.assertEqual(
                json.dumps(want.processor.to_document(), sort_keys=True),
                json.dumps(got.processor.to_document(), sort_keys=True))

    def test_out_of_order_commits_are_rebuilt_before_snapshot(self):
        events = base.long_trace()
        n = len(events) & ~1
        recs = trace.to_records(events[:n])
        self.store.add_batch(recs[:300])
        follower = self._follower('100000')
        follower.start()
        rest = [recs[i:i + 100] for i in range(300, n, 100)]
        random.Random(5).shuffle(rest)
        for batch in rest:
            self.store.add_batch(batch)
            follower.poll()
        self._catch_up(follower)
        self.assertTrue(follower.out_of_order)
        snapshot_id = follower.maybe_snapshot(force=True)
        self.assertIsNotNone(snapshot_id)
        self.assertFalse(follower.out_of_order)
        got = canonical.canonical(follower.processor.graph,
                                  follower.processor.id_cache)
        self.assertEqual([], canonical.differences(
            base.live(self.conf)[n], got))
        result = self.replayer.graph_at()
        self.assertEqual(snapshot_id, result.snapshot_id)
        self.assertEqual(0, result.applied)


globals().update(func_fixtures.backend_classes(
    'TestFollow', (FollowContract, base.ReplayDBTestCase), {}))


class TestFollowDatabaseOutagePostgreSQL(base.ReplayDBTestCase):
    """The standby waits out a database outage and misses nothing."""

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def test_outage_while_events_are_stored(self):
        recs = trace.to_records(base.long_trace()[:600])
        self.store.add_batch(recs[:200])
        url = sa.engine.make_url(self.db_url)
        proxy = func_fixtures.TcpProxy(url.host or '127.0.0.1',
                                       url.port or 5432).start()
        self.addCleanup(proxy.close)
        # the standby reaches the database through the proxy; the test
        # (the agents, as it were) directly
        self.config(connection=url.set(
            host='127.0.0.1', port=proxy.port).render_as_string(
                hide_password=False), group='database')
        self.config(poll_interval=0.2, group='replay')
        self.config(snapshot_interval='100', group='persistor')
        store = storage_api.Store(self.conf)
        self.addCleanup(store.dispose)
        follower = follow.Follower(self.conf, engine.Replayer(self.conf,
                                                              store),
                                   install_signals=False)
        follower.start()
        logs = self.useFixture(fixtures.FakeLogger(
            name='vitrage_persistor.replay.follow', level=logging.WARNING))
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        self.addCleanup(follower.stop)

        def caught_up():
            return follower.last_id == self.store.max_event_id()

        self.store.add_batch(recs[200:300])
        helpers.wait_for(caught_up, 60, what='the standby at event 300')
        proxy.close()
        self.store.add_batch(recs[300:450])
        helpers.wait_for(lambda: 'database unavailable' in logs.output, 30,
                         what='the outage noticed')
        time.sleep(1)  # a few more polls fail
        self.assertTrue(thread.is_alive())
        # nothing half-read: the graph is still at event 300
        self.assertEqual((300, 300), (follower.event_count,
                                      follower.last_id))
        proxy.reopen()
        self.store.add_batch(recs[450:])
        helpers.wait_for(caught_up, 60, what='the standby at event 600')
        follower.stop()
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertIn('database back after', logs.output)
        expected = trace.live_graphs(self.conf, base.long_trace()[:600],
                                     [600])[600]
        self.assertEqual([], canonical.differences(
            expected, canonical.canonical(follower.processor.graph,
                                          follower.processor.id_cache)))
        # and its snapshots after the outage are right too
        result = self.replayer.graph_at()
        self.assertIsNotNone(result.snapshot_id)
        self.assertEqual(expected, canonical.canonical(
            result.graph, result.processor.id_cache))


class TestFollowCommand(func_fixtures.OpportunisticDB,
                        base.replay_base.ReplayTestCase):
    """``vitrage-persistor-replay follow`` as a process: SIGUSR1, SIGTERM."""

    def test_sigusr1_dumps_current_graph(self):
        recs = trace.to_records(base.long_trace()[:200])
        self.store.add_batch(recs[:100])
        conf_file = os.path.join(self.state_dir, 'replay.conf')
        dump = os.path.join(self.state_dir, 'dump.json')
        status = os.path.join(self.state_dir, 'status.json')
        with open(conf_file, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = '
                    '%s\n[replay]\ndatasources_values_dir = %s\n'
                    'dump_path = %s\nstatus_path = %s\n' % (
                        self.state_dir, self.db_url, self.values_dir,
                        dump, status))
        proc = subprocess.Popen(
            [sys.executable, '-m', 'vitrage_persistor.cmd.replay',
             '--config-file', conf_file, 'follow'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(proc.kill)
        self._wait(lambda: os.path.exists(status), proc)
        self.store.add_batch(recs[100:])
        self._wait(lambda: json.load(open(status))['applied'] >= 100, proc)
        proc.send_signal(signal.SIGUSR1)
        self._wait(lambda: os.path.exists(dump), proc)
        with open(dump) as f:
            document = json.load(f)
        self.assertEqual('vitrage-persistor-graph', document['format'])
        self.assertEqual(recs and 200, document['standby']['last_event_id'])
        expected = trace.live_graphs(self.conf, base.long_trace()[:200],
                                     [200])[200]
        graph, cache = graph_json.load(document)
        self.assertEqual(expected, canonical.canonical(graph, cache))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=30))

    def _wait(self, predicate, proc, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # the status file may be missing or half written: look again
            with contextlib.suppress(OSError, ValueError):
                if predicate():
                    return
            if proc.poll() is not None:
                self.fail('follow exited: %s' % proc.stdout.read())
            time.sleep(0.1)
        self.fail('timed out')
