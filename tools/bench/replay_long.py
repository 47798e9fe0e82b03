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

"""Benchmark: graph_at latency and RSS over a long history with snapshots.

Not a test: it prints figures next to a baseline measured in the same run.

The history is a steady state, like a long-running vitrage-graph whose
consistency enforcer prunes deleted entities: the entities of a mock
cloud (``trace.build_trace(rounds=1, scale=30)``: zones, hosts, instances,
volumes, static entities, nagios alarms) are created once and then
re-sent by their drivers' periodic snapshots, with instance statuses
changing, at ``--rate`` events/s of collector time. The graph keeps its
size, so the length of the history alone is measured.

* one pass of Vitrage's processor over the history writes a snapshot
  every ``--snapshot-every`` events (as the warm standby does);
* ``graph_at`` at ``--queries`` random times: latency p50/p99/max, next
  to the baseline = what the processor alone needs for
  ``--snapshot-every`` events on this graph (fed from memory);
* RSS of fresh processes running ``graph_at`` (with snapshots) at 10 %,
  50 % and 100 % of the history, next to one that only streams the
  events.

Usage::

    nice -n 19 python tools/bench/replay_long.py --events 200000 \\
        --snapshot-every 1000 --queries 20
"""

import argparse
import copy
import datetime
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


SCALE = [30]


def steady_events():
    return bench.steady_snapshots(SCALE[0])


def event_at(pool, cycles, i):
    return pool[i] if i < len(pool) else cycles[(i - len(pool))
                                                % len(cycles)]


def fill(store, n, rate):
    from vitrage_persistor.storage import records
    pool, cycles = steady_events()
    encoded = {}
    step = datetime.timedelta(seconds=1.0 / rate)
    batch = []
    for i in range(n):
        event = event_at(pool, cycles, i)
        text = encoded.get(id(event))
        if text is None:
            text = encoded[id(event)] = records.encode_payload(event)
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


def baseline_rate(conf, n):
    """Vitrage's Processor from memory on the steady graph, events/s."""
    from oslo_utils import timeutils
    from vitrage.datasources.transformer_base import TransformerBase
    from vitrage.entity_graph.processor.processor import Processor
    from vitrage.graph.driver.networkx_graph import NXGraph

    from vitrage_persistor.replay import processor as processor_mod
    processor_mod._configure_vitrage(conf.replay.datasources_values_dir,
                                     list(conf.replay.datasource_types))
    pool, cycles = steady_events()
    saved = TransformerBase.key_to_uuid_cache
    TransformerBase.key_to_uuid_cache = {}
    proc = Processor(e_graph=NXGraph('Entity Graph'))
    warm = len(pool) + len(cycles)
    events = [event_at(pool, cycles, i) for i in range(warm + n)]
    start = None
    for i, event in enumerate(events):
        if i == warm:
            start = time.perf_counter()
        timeutils.set_time_override(T0.replace(tzinfo=datetime.UTC))
        try:
            proc.process_event(copy.deepcopy(event))
        except Exception:  # noqa: S110 - vitrage-graph logs and goes on
            pass
        timeutils.clear_time_override()
    TransformerBase.key_to_uuid_cache = saved
    return n / (time.perf_counter() - start), proc.entity_graph


def rss_probe(db_url, values_dir, fraction, stream_only):
    bench.rss_probe(db_url, values_dir, fraction, stream_only,
                    use_snapshots=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--events', type=int, default=200000)
    ap.add_argument('--db')
    ap.add_argument('--snapshot-every', type=int, default=1000)
    ap.add_argument('--queries', type=int, default=20)
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--scale', type=int, default=30)
    ap.add_argument('--rss-probe', nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    SCALE[0] = args.scale
    if args.rss_probe:
        db, values, fraction, mode, SCALE[0] = args.rss_probe
        SCALE[0] = int(SCALE[0])
        rss_probe(db, values, float(fraction), mode == 'stream')
        return

    from vitrage_persistor.replay import engine
    from vitrage_persistor.tests.common import replay_base
    tmp = tempfile.mkdtemp(prefix='vp_bench_long_')
    db_url = args.db or 'sqlite:///%s/bench.sqlite' % tmp
    values = replay_base.datasources_values_dir()
    conf = bench._conf(db_url, values, tmp)
    store = bench._store(conf, migrate=True)

    t = time.perf_counter()
    fill(store, args.events, args.rate)
    print('stored %d events in %.1fs (%s)' % (
        args.events, time.perf_counter() - t, store.dialect_name))
    t = time.perf_counter()
    bench._build_snapshots(conf, store, args.snapshot_every)
    built = time.perf_counter() - t
    snaps = store.list_snapshots()
    last = max(snaps, key=lambda m: m['id'])
    print('one pass, %d snapshots (every %d events, %d vertices, %d '
          'edges): %.1fs, %.0f events/s including snapshot writes' % (
              len(snaps), args.snapshot_every, last['vertex_count'],
              last['edge_count'], built, args.events / built))
    rate, graph = baseline_rate(conf, 5 * args.snapshot_every)
    print('baseline: Vitrage Processor from memory on this graph (%d '
          'vertices): %.0f events/s, so %d events take %.2fs' % (
              graph.num_vertices(), rate, args.snapshot_every,
              args.snapshot_every / rate))

    counts = store.event_counts()
    span = (counts['newest'] - counts['oldest']).total_seconds()
    rng = random.Random(5)
    replayer = engine.Replayer(conf, store)
    latencies = []
    for _ in range(args.queries):
        at = counts['oldest'] + datetime.timedelta(
            seconds=rng.uniform(0, span))
        t = time.perf_counter()
        replayer.graph_at(at_time=at)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print('graph_at over %d events, %d random times: p50 %.2fs, p99 %.2fs, '
          'max %.2fs, mean %.2fs' % (
              args.events, args.queries, statistics.median(latencies), p99,
              latencies[-1], statistics.mean(latencies)))
    store.dispose()

    for mode in ('replay', 'stream'):
        row = []
        for fraction in (0.1, 0.5, 1.0):
            out = subprocess.run(  # noqa: S603 - our own script
                [sys.executable, __file__, '--rss-probe', db_url, values,
                 str(fraction), mode, str(args.scale)],
                capture_output=True, text=True, check=True).stdout
            row.append(json.loads(out.strip().splitlines()[-1]))
        print('RSS %s (graph_at with snapshots)' % mode if mode == 'replay'
              else 'RSS baseline: only streaming the events', '; '.join(
                  '%d%%: %.0f MB (%d events, %d vertices, %.1fs)' % (
                      f, r['rss_mb'], r['events'], r['vertices'],
                      r['seconds'])
                  for f, r in zip((10, 50, 100), row, strict=True)))


if __name__ == '__main__':
    main()
