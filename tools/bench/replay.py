#!/usr/bin/env python3
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

"""Benchmark: graph replay, against Vitrage's processor in the same run.

Not a test: it prints figures, each next to the baseline measured in the
same run on the same events (a long trace from Vitrage's own mocks, see
``vitrage_persistor/tests/common/trace.py``):

* throughput: ``graph_at`` from the database (read, decode, deep-copy,
  pinned clock, Vitrage's Processor) vs Vitrage's ``Processor`` fed the
  same events from a Python list;
* ``graph_at`` latency at random times over the whole history, with
  snapshots every ``--snapshot-every`` events;
* warm standby lag (collector_timestamp -> applied) while a writer
  stores ``--rate`` events/s for ``--standby-seconds``;
* RSS of a fresh process replaying 25/50/100 % of the history, next to
  the RSS of one that only streams the events (no graph).

Usage::

    python tools/bench/replay.py [--events 20000] [--db URL]
        [--snapshot-every 2000] [--queries 20] [--rate 1000]
        [--standby-seconds 10] [--standby-history 2000]
        [--standby-db URL]

Without ``--db`` a SQLite file in a temporary directory is used. The
datasources_values come from tools/fetch-datasources-values.sh (cached).
"""

import argparse
import copy
import datetime
import gc
import json
import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings

warnings.filterwarnings('ignore')
logging.disable(logging.ERROR)


def _conf(db_url, values_dir, state):
    from vitrage_persistor import service
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', db_url, 'database')
    conf.set_override('datasources_values_dir', values_dir, 'replay')
    conf.set_override('state_path', state)
    return conf


def _rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _store(conf, migrate=False):
    from vitrage_persistor.storage import api, migration
    store = api.Store.from_conf(conf)
    if migrate:
        migration.upgrade(store)
    return store


def _baseline(conf, events):
    """Vitrage's Processor fed from memory: the reference rate."""
    from oslo_utils import timeutils
    from vitrage.datasources.transformer_base import TransformerBase
    from vitrage.entity_graph.processor.processor import Processor
    from vitrage.graph.driver.networkx_graph import NXGraph

    from vitrage_persistor.replay import processor as processor_mod
    from vitrage_persistor.tests.common import trace
    processor_mod._configure_vitrage(conf.replay.datasources_values_dir,
                                     list(conf.replay.datasource_types))
    TransformerBase.key_to_uuid_cache = {}
    proc = Processor(e_graph=NXGraph('Entity Graph'))
    start = time.perf_counter()
    for i, event in enumerate(events):
        timeutils.set_time_override(trace.collector_time(i).replace(
            tzinfo=datetime.UTC))
        try:
            proc.process_event(copy.deepcopy(event))
        except Exception:  # noqa: S110 - vitrage-graph logs and goes on
            pass
        timeutils.clear_time_override()
    return len(events) / (time.perf_counter() - start)


def _build_snapshots(conf, store, every):
    """One pass over the history, saving a snapshot every N events.

    As the warm standby does: incremental, compacted by ``[persistor]
    snapshot_delta_ratio`` (``Replayer.write_snapshot``).
    """
    import itertools

    from vitrage_persistor.replay import engine, graph_json
    replayer = engine.Replayer(conf, store)
    proc = replayer.new_processor()
    tracker = graph_json.ChangeTracker(proc.graph, proc.id_cache, None)
    max_id = store.max_event_id()
    events = store.iter_events(page_size=2000)
    done, last = 0, None
    while True:
        chunk = list(itertools.islice(events, every))
        if not chunk:
            break
        proc.apply(chunk)
        done += len(chunk)
        last = chunk[-1].order_key
        replayer.write_snapshot(proc, tracker, last, max_id, done)
    tracker.stop()
    return done


def writer(db_url, rate, seconds):
    """Run in its own process: store ``rate`` events/s, stamped now."""
    from vitrage_persistor.storage import records
    conf = _conf(db_url, tempfile.gettempdir(), tempfile.gettempdir())
    store = _store(conf)
    # Steady state: the graph and the per-event cost stay the same.
    _pool, events = steady_snapshots(scale=3)
    batch_every = 0.05
    per_batch = max(1, int(rate * batch_every))
    sent, seq = 0, 10 ** 9
    start = next_at = time.monotonic()
    while time.monotonic() - start < seconds:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        batch = []
        for _ in range(per_batch):
            event = events[sent % len(events)]
            seq += 1
            batch.append(records.EventRecord(
                message_id=uuid.uuid4().hex, collector_timestamp=now,
                event_type='vitrage.persistor.event.driver',
                entity_type=event.get('vitrage_entity_type', 'x'),
                payload_json=records.encode_payload(event),
                publisher_id='bench-writer', sequence=seq))
            sent += 1
        store.add_batch(batch)
        next_at += batch_every
        time.sleep(max(0.0, next_at - time.monotonic()))
    print(json.dumps({'sent': sent,
                      'rate': sent / (time.monotonic() - start)}))


def _standby_lag(conf, store, db_url, rate, seconds):
    """The follower here, the writer in another process (no GIL shared)."""
    from vitrage_persistor.replay import engine, follow
    conf.set_override('snapshot_interval', '100000', 'persistor')
    conf.set_override('poll_interval', 0.05, 'replay')
    follower = follow.Follower(conf, engine.Replayer(conf, store),
                               install_signals=False)
    follower.start()
    follower.lags.clear()
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, __file__, '--writer', db_url, str(rate),
         str(seconds)], stdout=subprocess.PIPE, text=True)
    follower.run(max_seconds=seconds + 3)
    out = json.loads(proc.communicate()[0].strip().splitlines()[-1])
    return out['rate'], follower.lag_stats(), follower.applied


def rss_probe(db_url, values_dir, fraction, stream_only,
              use_snapshots=False):
    """Run in a fresh process: RSS after replaying a prefix.

    Prints the events up to the time, the vertices, the seconds that
    graph_at took and the RSS, as JSON.
    """
    conf = _conf(db_url, values_dir, tempfile.gettempdir())
    store = _store(conf)
    from vitrage_persistor.replay import engine
    counts = store.event_counts()
    at = counts['oldest'] + (counts['newest'] - counts['oldest']) * fraction
    start = time.perf_counter()
    if stream_only:
        n = sum(1 for _ in store.iter_events(until_time=at, page_size=2000))
        vertices = 0
    else:
        result = engine.Replayer(conf, store).graph_at(
            at_time=at, use_snapshots=use_snapshots)
        n, vertices = result.event_count, result.graph.num_vertices()
    elapsed = time.perf_counter() - start
    gc.collect()
    print(json.dumps({'events': n, 'vertices': vertices,
                      'seconds': round(elapsed, 2),
                      'rss_mb': round(_rss_mb(), 1)}))


def steady_snapshots(scale):
    """Snapshots of entities that exist, in three cycles of statuses.

    Returns ``(pool, events)``: ``pool`` the init_snapshot events of a
    trace of that scale, ``events`` three cycles of them re-sent as
    snapshots with the instances' status changed. Nothing is created or
    deleted, so the graph, and the processor's cost per event, stay the
    same however many are applied.
    """
    from vitrage_persistor.tests.common import trace
    pool = [e for e in trace.build_trace(rounds=1, scale=scale)
            if e.get('vitrage_datasource_action') == 'init_snapshot']
    events = []
    for status in ('ACTIVE', 'ERROR', 'SHUTOFF'):
        for e in pool:
            e = dict(e, vitrage_datasource_action='snapshot')
            if e.get('vitrage_entity_type') == 'nova.instance':
                e['status'] = status
            events.append(e)
    return pool, events


def _standby_section(args, tmp, values, events):
    from vitrage_persistor.tests.common import trace
    # The standby runs on its own history of --standby-history events:
    # the processor's own rate falls as the graph grows (it scans all
    # vertices for some events), and a standby can never beat it.
    sconf = _conf(args.standby_db or 'sqlite:///%s/standby.sqlite' % tmp,
                  values, tmp)
    sstore = _store(sconf, migrate=True)
    seed = trace.to_records(events[:args.standby_history])
    for i in range(0, len(seed), 2000):
        sstore.add_batch(seed[i:i + 2000])
    rate_cap = _baseline(sconf, events[:args.standby_history])
    rate, lags, applied = _standby_lag(
        sconf, sstore, sconf.database.connection, args.rate,
        args.standby_seconds)
    print('standby (history %d events, database %s): writer %.0f events/s '
          'for %.0fs, follower applied %d; lag p50 %.3fs, p99 %.3fs, max '
          '%.3fs (baseline: Vitrage Processor from memory on this graph '
          '%.0f events/s)' % (
              args.standby_history, sstore.dialect_name, rate,
              args.standby_seconds, applied, lags['p50'] or 0,
              lags['p99'] or 0, lags['max'] or 0, rate_cap))
    sstore.dispose()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--events', type=int, default=20000)
    ap.add_argument('--db')
    ap.add_argument('--snapshot-every', type=int, default=2000)
    ap.add_argument('--queries', type=int, default=20)
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--standby-seconds', type=float, default=10)
    ap.add_argument('--standby-history', type=int, default=2000)
    ap.add_argument('--standby-db')
    ap.add_argument('--repeat', type=int, default=2)
    ap.add_argument('--throughput-only', action='store_true')
    ap.add_argument('--standby-only', action='store_true')
    ap.add_argument('--rss-probe', nargs=4, help=argparse.SUPPRESS)
    ap.add_argument('--writer', nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        db, rate, seconds = args.writer
        return writer(db, int(rate), float(seconds))
    if args.rss_probe:
        db, values, fraction, stream = args.rss_probe
        return rss_probe(db, values, float(fraction), stream == '1')

    from vitrage_persistor.replay import engine
    from vitrage_persistor.tests.common import replay_base, trace

    tmp = tempfile.mkdtemp(prefix='vp-bench-replay-')
    db_url = args.db or 'sqlite:///%s/bench.sqlite' % tmp
    values = replay_base.datasources_values_dir()
    conf = _conf(db_url, values, tmp)
    store = _store(conf, migrate=True)

    events = trace.build_trace(rounds=args.events // 9 + 1, scale=3)
    events = events[:args.events]
    print('history: %d events (Vitrage mock trace), database %s' % (
        len(events), store.dialect_name))
    if args.standby_only:
        return _standby_section(args, tmp, values, events)

    base_rate = _baseline(conf, events)
    start = time.perf_counter()
    recs = trace.to_records(events)
    for i in range(0, len(recs), 2000):
        store.add_batch(recs[i:i + 2000])
    print('  stored in %.1fs' % (time.perf_counter() - start))

    # Alternate the two, best of --repeat each: the machine is shared.
    replayer = engine.Replayer(conf, store)
    ours = 0.0
    for i in range(args.repeat):
        if i:
            base_rate = max(base_rate, _baseline(conf, events))
        gc.collect()
        start = time.perf_counter()
        result = replayer.graph_at(use_snapshots=False)
        ours = max(ours, result.applied / (time.perf_counter() - start))
    print('throughput (best of %d): graph_at from DB %.0f events/s; '
          'Vitrage Processor from memory %.0f events/s; ratio %.2f  '
          '(graph: %d vertices, %d edges)' % (
              args.repeat, ours, base_rate, ours / base_rate,
              result.graph.num_vertices(), result.graph.num_edges()))
    del result
    gc.collect()
    if args.throughput_only:
        return

    start = time.perf_counter()
    _build_snapshots(conf, store, args.snapshot_every)
    print('snapshots: every %d events, built in %.1fs' % (
        args.snapshot_every, time.perf_counter() - start))
    rng = random.Random(1)
    latencies = []
    for _ in range(args.queries):
        at = trace.collector_time(rng.randrange(len(events)))
        start = time.perf_counter()
        engine.Replayer(conf, store).graph_at(at_time=at)
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    print('graph_at latency over %d random times: p50 %.2fs, max %.2fs '
          '(baseline: full replay without snapshots %.2fs)' % (
              len(latencies), statistics.median(latencies), latencies[-1],
              len(events) / ours))

    for stream in ('1', '0'):
        rows = []
        for fraction in ('0.25', '0.5', '1.0'):
            out = subprocess.run(  # noqa: S603 - our own script
                [sys.executable, __file__, '--rss-probe', db_url, values,
                 fraction, stream], capture_output=True, text=True,
                check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
        what = ('streaming events only (baseline)' if stream == '1'
                else 'replaying')
        figures = ['%d events -> %.0f MB' % (r['events'], r['rss_mb'])
                   + (' (%d vertices)' % r['vertices'] if r['vertices']
                      else '') for r in rows]
        print('RSS %s: %s' % (what, ', '.join(figures)))

    store.dispose()
    _standby_section(args, tmp, values, events)


if __name__ == '__main__':
    sys.exit(main())
