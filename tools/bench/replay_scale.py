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

"""Benchmark: replay at cloud scale, several graph sizes in one run.

Not a test: it prints one table row per (graph size, database), each next
to the baseline measured in the same run on the same graph -- Vitrage's
``Processor`` fed from memory -- and it asserts that replay is exact.

For each ``--scales`` value (``trace.build_trace`` scale: 300 gives about
6,000 vertices, 1500 about 30,000, 5000 about 100,000) the history is
the steady state of ``replay_long.py``: every entity created once, then
re-sent by its driver with instance statuses changing, each event with
its own sample date (so each changes its vertex, as in a cloud). Then:

* **standby pass**: what ``vitrage-persistor-replay follow`` does over
  the whole history, from the table, through Vitrage's processor, with a
  snapshot every ``--snapshot-every`` events (``Replayer.write_snapshot``:
  incremental, compacted by ``[persistor] snapshot_delta_ratio``):
  events/s, and bytes of snapshot written per 1,000 events;
* **baseline**: Vitrage's ``Processor`` on the same graph, fed the same
  kind of events from a Python list (no database, no snapshots), as in
  ``replay_long.py``: the clock pinned and a deep copy of each event;
* **full snapshot**: the time and bytes of writing the whole graph once;
* ``graph_at`` at ``--queries`` random times: p50 / p99 / max;
* the same times through a replayer that keeps its last snapshot graph
  (``keep_base``, the API's ``[api] keep_snapshot_graph``), and a walk:
  ``--queries`` times ``--walk-step`` seconds apart from a random start,
  as an operator steps through an incident (the first one, a cold load,
  is given apart);
* **exact**: ``graph_at`` (snapshot chain + tail) at a time in the middle
  and at the end equals, byte for byte in canonical JSON, the graph of
  the standby pass, which applied every event from the start; so does
  the kept replayer's, moved to the middle along its chain;
* RSS of a fresh process running ``graph_at`` at 10 % and 100 % of the
  history, and MB per 1,000 vertices.

Usage::

    nice -n 19 python tools/bench/replay_scale.py --scales 300 1500 \\
        --events 100000 --snapshot-every 500 --queries 20 \\
        --pg postgresql+psycopg2://postgres@127.0.0.1/postgres

``--pg`` names a server database to connect to; the benchmark creates its
own database there and drops it at the end.
"""

import argparse
import copy
import datetime
import gc
import itertools
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

sys.path.insert(0, __file__.rsplit('/', 1)[0])
import replay as bench  # noqa: E402  (tools/bench/replay.py)

T0 = datetime.datetime(2026, 3, 1, 12, 0, 0)
HERE = __file__.rsplit('/', 1)[0]


def event_at(pool, cycles, i, rate):
    """The history's ``i``-th event, sampled at its collector time.

    Each event carries its own ``vitrage_sample_date``, as a driver's
    snapshot does. Re-sent with the date of the first pass, every event
    after it was older than its vertex and Vitrage dropped it: the
    graph stopped changing, and with it what snapshots and the baseline
    measured.
    """
    event = pool[i] if i < len(pool) else cycles[(i - len(pool))
                                                 % len(cycles)]
    stamp = T0 + datetime.timedelta(seconds=i / rate)
    return dict(event, vitrage_sample_date=stamp.strftime(
        '%Y-%m-%dT%H:%M:%SZ'))


def fill(store, pool, cycles, n, rate):
    from vitrage_persistor.storage import records
    step = datetime.timedelta(seconds=1.0 / rate)
    batch = []
    for i in range(n):
        event = event_at(pool, cycles, i, rate)
        text = records.encode_payload(event)
        batch.append(records.EventRecord(
            message_id=uuid.uuid4().hex, collector_timestamp=T0 + i * step,
            event_type='vitrage.persistor.event.collector',
            entity_type=event.get('vitrage_entity_type', 'x'),
            payload_json=text, publisher_id='bench', sequence=i + 1))
        if len(batch) == 5000:
            store.add_batch(batch)
            batch = []
    if batch:
        store.add_batch(batch)


def canonical_bytes(graph, id_cache) -> bytes:
    from vitrage_persistor.replay import canonical
    return json.dumps(canonical.canonical(graph, id_cache), sort_keys=True,
                      default=str).encode()


def standby_pass(conf, store, every, mid):
    """The follower's work over the whole table; see the module doc.

    Snapshots come where ``follow`` writes them (``SnapshotPolicy``):
    every ``every`` events or ``[persistor] snapshot_cpu_budget`` seconds
    of the processor's CPU time, whichever comes first.
    """
    from vitrage_persistor.replay import engine, graph_json, snapshot_policy
    replayer = engine.Replayer(conf, store)
    proc = replayer.new_processor()
    tracker = graph_json.ChangeTracker(proc.graph, proc.id_cache, None)
    policy = snapshot_policy.SnapshotPolicy(
        every, None, conf.persistor.snapshot_cpu_budget)
    max_id = store.max_event_id()
    events = store.iter_events(page_size=2000, until_id=max_id)
    done, last, at_mid, writes = 0, None, None, []
    start = time.perf_counter()
    pending = []
    while True:
        chunk = pending or list(itertools.islice(events, policy.chunk(2000)))
        if not chunk:
            break
        cpu = time.thread_time()
        # as follow: stopped where the budget runs out, the rest next
        applied = proc.apply(chunk, private_payloads=True,
                             stop=budget_stop(policy, cpu))
        policy.applied(applied, time.thread_time() - cpu)
        pending = chunk[applied:]
        done += applied
        last = chunk[applied - 1]
        if policy.due():
            t = time.perf_counter()
            # max_event_id as the follower has it: the last id it has seen
            replayer.write_snapshot(proc, tracker, last.order_key, last.id,
                                    done)
            writes.append(time.perf_counter() - t)
            policy.reset()
        if at_mid is None and done >= mid:
            # paused outside the timing: the oracle for the exact check
            t = time.perf_counter()
            at_mid = (last.collector_timestamp,
                      canonical_bytes(proc.graph, proc.id_cache))
            start += time.perf_counter() - t
    elapsed = time.perf_counter() - start
    tracker.stop()
    return proc, done / elapsed, at_mid, writes


def budget_stop(policy, since):
    return lambda: policy.over_budget(time.thread_time() - since)


def baseline_rate(conf, proc, pool, cycles, first, n, rate):
    """Vitrage's Processor from memory on a copy of the pass's graph.

    Fed the ``n`` events that would follow the history's ``first``
    ones, so each is newer than its vertex, as in the history.
    """
    from oslo_utils import timeutils
    from vitrage.datasources.transformer_base import TransformerBase
    from vitrage.entity_graph.processor.processor import Processor

    from vitrage_persistor.replay import graph_json
    graph, cache = graph_json.load(graph_json.dump(proc.graph,
                                                   proc.id_cache))
    saved = TransformerBase.key_to_uuid_cache
    TransformerBase.key_to_uuid_cache = cache
    raw = Processor(e_graph=graph)
    # as replay_long.py's baseline (the issue's): pinned clock and a deep
    # copy per event, as the events reach vitrage-graph decoded
    events = [event_at(pool, cycles, first + i, rate) for i in range(n)]
    # from a known state of the garbage collector: left as the standby
    # pass left it, the next full collection came at a point that moved
    # this rate between 1,500 and 7,000 events/s from one run to the next
    gc.collect()
    start = time.perf_counter()
    for i, event in enumerate(events):
        # the clock at the event's collector time, as the standby pins it
        timeutils.set_time_override(T0.replace(tzinfo=datetime.UTC)
                                    + datetime.timedelta(
                                        seconds=(first + i) / rate))
        try:
            raw.process_event(copy.deepcopy(event))
        except Exception:  # noqa: S110 - vitrage-graph logs and goes on
            pass
        timeutils.clear_time_override()
    rate = n / (time.perf_counter() - start)
    TransformerBase.key_to_uuid_cache = saved
    return rate


def full_snapshot_cost(conf, store, proc, covers, max_id, count):
    from vitrage_persistor.replay import engine
    replayer = engine.Replayer(conf, store)
    t = time.perf_counter()
    snapshot_id = replayer.write_snapshot(proc, None, covers, max_id, count)
    elapsed = time.perf_counter() - t
    meta = [m for m in store.list_snapshots() if m['id'] == snapshot_id][0]
    store.delete_snapshots([snapshot_id])
    return elapsed, meta['data_bytes']


def rss(db_url, values, fraction, scale):
    out = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, HERE + '/replay_long.py', '--rss-probe', db_url,
         values, str(fraction), 'replay', str(scale)],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_one(args, scale, db_url, pool, cycles, tmp, values):
    from vitrage_persistor.replay import engine
    conf = bench._conf(db_url, values, tmp)
    if args.delta_ratio is not None:
        conf.set_override('snapshot_delta_ratio', args.delta_ratio,
                          'persistor')
    if args.cpu_budget is not None:
        conf.set_override('snapshot_cpu_budget', args.cpu_budget,
                          'persistor')
    store = bench._store(conf, migrate=True)
    n = max(args.events, len(pool) + 2 * args.snapshot_every)
    t = time.perf_counter()
    fill(store, pool, cycles, n, args.rate)
    stored = time.perf_counter() - t
    proc, rate, at_mid, writes = standby_pass(conf, store,
                                              args.snapshot_every, n // 2)
    vertices, edges = proc.graph.num_vertices(), proc.graph.num_edges()
    base = baseline_rate(conf, proc, pool, cycles, n,
                         4 * args.snapshot_every, args.rate)
    snaps = store.list_snapshots()
    written = sum(m['data_bytes'] for m in snaps)
    full = sum(1 for m in snaps if m['parent_id'] is None)
    # the steady part only: the initial build writes the graph once
    counts = sorted(m['event_count'] for m in snaps)
    steady = [m for m in snaps if m['event_count'] > len(pool)]
    steady_bytes = sum(m['data_bytes'] for m in steady)
    # from the snapshot before the first steady one (or the start)
    before = [c for c in counts if c <= len(pool)]
    steady_events = (max(m['event_count'] for m in steady)
                     - (before[-1] if before else 0)) if steady else 0
    last = max(snaps, key=lambda m: m['id'])
    full_s, full_bytes = full_snapshot_cost(
        conf, store, proc, engine._covers(last), last['max_event_id'],
        last['event_count'])

    replayer = engine.Replayer(conf, store)
    # exact: snapshot chain + tail == the pass's graph, byte for byte
    mid_time, mid_bytes = at_mid
    got = replayer.graph_at(at_time=mid_time)
    assert got.snapshot_id is not None, 'no snapshot used'
    assert canonical_bytes(got.graph, got.processor.id_cache) == mid_bytes, (
        'graph_at(middle) differs from the full pass')
    got = replayer.graph_at()
    assert canonical_bytes(got.graph, got.processor.id_cache) == (
        canonical_bytes(proc.graph, proc.id_cache)), (
        'graph_at(end) differs from the full pass')
    keeper = engine.Replayer(conf, store, keep_base=True)
    keeper.graph_at(at_time=mid_time - datetime.timedelta(
        seconds=2.0 * args.snapshot_every / args.rate))
    got = keeper.graph_at(at_time=mid_time)
    assert canonical_bytes(got.graph, got.processor.id_cache) == mid_bytes, (
        'graph_at(middle) from the kept snapshot graph differs')
    del keeper
    del got, proc
    gc.collect()

    latencies, kept, walked = query_times(args, conf, store, replayer)
    store.dispose()
    rss_rows = [rss(db_url, values, f, scale) for f in (0.1, 1.0)]
    return {
        'db': store.dialect_name, 'scale': scale, 'vertices': vertices,
        'edges': edges, 'events': n, 'stored_s': stored,
        'p50': statistics.median(latencies), 'p99': pct(latencies, 0.99),
        'max': max(latencies),
        'kept': (statistics.median(kept), pct(kept, 0.99)),
        'walk': (statistics.median(walked[1:]), pct(walked[1:], 0.99),
                 walked[0]), 'standby': rate, 'baseline': base,
        'write_p50': statistics.median(writes), 'write_max': max(writes),
        'snapshots': len(snaps), 'full': full, 'written': written,
        'steady_per_k': (1000.0 * steady_bytes / steady_events
                         if steady_events else 0),
        'full_s': full_s, 'full_bytes': full_bytes,
        'rss10': rss_rows[0]['rss_mb'], 'rss100': rss_rows[1]['rss_mb'],
        'rss_vertices': rss_rows[1]['vertices'],
    }


def query_times(args, conf, store, replayer):
    """graph_at's latencies: random times, cold and kept, then a walk.

    The API's replayer keeps the last snapshot graph: the same random
    times through one, then an operator's walk through an incident (a
    step every --walk-step seconds from a random start, as the history
    page does).
    """
    from vitrage_persistor.replay import engine
    counts = store.event_counts()
    span = (counts['newest'] - counts['oldest']).total_seconds()
    rng = random.Random(5)
    times = [counts['oldest'] + datetime.timedelta(
        seconds=rng.uniform(0.02 * span, span)) for _ in range(args.queries)]
    cold = timed(replayer, times)
    kept = timed(engine.Replayer(conf, store, keep_base=True), times)
    start = rng.uniform(0.5 * span, 0.9 * span)
    walk = [counts['oldest'] + datetime.timedelta(
        seconds=start + i * args.walk_step) for i in range(args.queries)]
    walked = timed(engine.Replayer(conf, store, keep_base=True), walk)
    return cold, kept, walked


def timed(replayer, times):
    latencies = []
    for at in times:
        t = time.perf_counter()
        replayer.graph_at(at_time=at)
        latencies.append(time.perf_counter() - t)
        gc.collect()
    return latencies


def queries_only(args, db_url, pool, cycles, tmp, values):
    """The query columns again, on a history an earlier run left.

    ``--existing`` names a database that run filled (its SQLite file
    stays in its temporary directory): the same random times and walk,
    with this checkout's code (its schema upgrade first), next to a
    baseline measured now.
    """
    from vitrage_persistor.replay import engine
    conf = bench._conf(db_url, values, tmp)
    t = time.perf_counter()
    store = bench._store(conf, migrate=True)
    print('(schema upgrade: %.1fs)' % (time.perf_counter() - t),
          file=sys.stderr, flush=True)
    replayer = engine.Replayer(conf, store)
    proc = replayer.graph_at().processor
    base = baseline_rate(conf, proc, pool, cycles,
                         store.event_counts()['count'],
                         4 * args.snapshot_every, args.rate)
    vertices = proc.graph.num_vertices()
    del proc
    gc.collect()
    cold, kept, walked = query_times(args, conf, store, replayer)
    counts = store.event_counts()
    print('| %s | %d vertices | %d events | cold %.2f / %.2f s | kept %.2f / '
          '%.2f s | walk %.2f / %.2f s (first %.2f s) | baseline %.0f ev/s '
          '| walk p50 = %.0f baseline events |' % (
              store.dialect_name, vertices, counts['count'],
              statistics.median(cold), pct(cold, 0.99),
              statistics.median(kept), pct(kept, 0.99),
              statistics.median(walked[1:]), pct(walked[1:], 0.99),
              walked[0], base, statistics.median(walked[1:]) * base),
          flush=True)
    store.dispose()


def print_row(r):
    print('| %s | %d vertices, %d edges | %d | %.2f / %.2f / %.2f s | '
          '%.2f / %.2f s | %.2f / %.2f s (first %.2f s) | '
          '%.0f ev/s (%.2fx) | %.0f ev/s | %.0f kB (%d snapshots, %d '
          'full) | %.2f s, %.0f kB | %.0f / %.0f MB |' % (
              r['db'], r['vertices'], r['edges'], r['events'], r['p50'],
              r['p99'], r['max'], r['kept'][0], r['kept'][1],
              r['walk'][0], r['walk'][1], r['walk'][2], r['standby'],
              r['standby'] / r['baseline'], r['baseline'],
              r['steady_per_k'] / 1024, r['snapshots'], r['full'],
              r['full_s'], r['full_bytes'] / 1024, r['rss10'],
              r['rss100']), flush=True)


def _pg_database(server_url):
    import sqlalchemy as sa
    name = 'vp_bench_scale_%s' % uuid.uuid4().hex[:8]
    engine = sa.create_engine(server_url, isolation_level='AUTOCOMMIT')
    with engine.connect() as conn:
        conn.execute(sa.text('CREATE DATABASE %s' % name))
    engine.dispose()
    url = sa.engine.make_url(server_url).set(database=name)
    return name, url.render_as_string(hide_password=False)


def _pg_drop(server_url, name):
    import sqlalchemy as sa
    engine = sa.create_engine(server_url, isolation_level='AUTOCOMMIT')
    with engine.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % name))
    engine.dispose()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scales', type=int, nargs='+', default=[300, 1500])
    ap.add_argument('--events', type=int, default=100000)
    ap.add_argument('--snapshot-every', type=int, default=500)
    ap.add_argument('--queries', type=int, default=20)
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--delta-ratio', type=float,
                    help='[persistor] snapshot_delta_ratio (its default)')
    ap.add_argument('--cpu-budget', type=float,
                    help='[persistor] snapshot_cpu_budget (its default)')
    ap.add_argument('--walk-step', type=float, default=2.0,
                    help='seconds between the walk\'s questions')
    ap.add_argument('--pg', help='PostgreSQL server URL (optional)')
    ap.add_argument('--no-sqlite', action='store_true')
    ap.add_argument('--keep-db', action='store_true',
                    help='keep the PostgreSQL database (its URL is '
                         'printed), for --existing')
    ap.add_argument('--existing', metavar='DB_URL',
                    help='only time the queries again, on a database an '
                         'earlier run filled (one --scales value: its)')
    args = ap.parse_args()

    from vitrage_persistor.tests.common import replay_base
    values = replay_base.datasources_values_dir()
    if args.existing:
        pool, cycles = bench.steady_snapshots(args.scales[0])
        queries_only(args, args.existing, pool, cycles, tempfile.mkdtemp(),
                     values)
        return
    print('| database | graph | events | graph_at p50 / p99 / max | '
          'kept snapshot graph, same times: p50 / p99 | kept, a walk: '
          'p50 / p99 | standby pass, snapshot every %d events or '
          '%s s of CPU (ratio to baseline) | processor from memory '
          '(baseline) | snapshot '
          'bytes per 1,000 events | one '
          'full snapshot: write, size | RSS at 10 %% / 100 %% of history |'
          % (args.snapshot_every, 'the default' if args.cpu_budget is None
             else args.cpu_budget))
    print('|---|---|---|---|---|---|---|---|---|---|---|', flush=True)
    rows = []
    for scale in args.scales:
        t = time.perf_counter()
        pool, cycles = bench.steady_snapshots(scale)
        print('(scale %d: %d entity events built in %.0fs)' % (
            scale, len(pool), time.perf_counter() - t), file=sys.stderr,
            flush=True)
        targets = []
        if not args.no_sqlite:
            targets.append(None)
        if args.pg:
            targets.append(args.pg)
        for server in targets:
            tmp = tempfile.mkdtemp(prefix='vp_bench_scale_')
            name = None
            if server is None:
                db_url = 'sqlite:///%s/bench.sqlite' % tmp
            else:
                name, db_url = _pg_database(server)
            try:
                row = run_one(args, scale, db_url, pool, cycles, tmp, values)
            finally:
                if name and args.keep_db:
                    print('(kept: %s)' % db_url, file=sys.stderr,
                          flush=True)
                elif name:
                    _pg_drop(server, name)
            rows.append(row)
            print_row(row)
        del pool, cycles
        gc.collect()
    if len({r['vertices'] for r in rows}) > 1:
        for db in sorted({r['db'] for r in rows}):
            mine = sorted((r for r in rows if r['db'] == db),
                          key=lambda r: r['vertices'])
            for a, b in itertools.pairwise(mine):
                per_k = ((b['rss100'] - a['rss100'])
                         / (b['rss_vertices'] - a['rss_vertices']) * 1000)
                print('RSS %s: %.2f MB per 1,000 vertices (%d -> %d '
                      'vertices)' % (db, per_k, a['rss_vertices'],
                                     b['rss_vertices']))


if __name__ == '__main__':
    main()
