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

"""Benchmark: what writing and loading one full snapshot costs, by step.

Not a test. For each ``--scales`` value (``replay_scale.py``'s: 300 gives
about 6,000 vertices, 1500 about 30,000, 5000 about 100,000) it builds
the steady-state graph with Vitrage's processor from memory, then times,
best of ``--repeat``, the snapshot format this release writes (graph
document version 2, Zstandard level 1) next to the baseline measured in
the same run: the format of earlier releases (version 1, zlib level 1),
which this release still reads. It asserts that both load into the same
graph, in the same order.

Usage::

    nice -n 19 python tools/bench/snapshot_format.py --scales 300 1500
"""

import argparse
import copy
import gc
import sys
import tempfile
import time
import zlib

import orjson

sys.path.insert(0, __file__.rsplit('/', 1)[0])
import replay as bench  # noqa: E402  (tools/bench/replay.py)


def build_graph(conf, pool):
    """The graph Vitrage's processor builds from the pool's events."""
    from vitrage.datasources.transformer_base import TransformerBase
    from vitrage.entity_graph.processor.processor import Processor
    from vitrage.graph.driver.networkx_graph import NXGraph

    from vitrage_persistor.replay import processor as processor_mod
    processor_mod._configure_vitrage(conf.replay.datasources_values_dir,
                                     list(conf.replay.datasource_types))
    cache = TransformerBase.key_to_uuid_cache = {}
    proc = Processor(e_graph=NXGraph('Entity Graph'))
    for event in pool:
        proc.process_event(copy.deepcopy(event))
    return proc.entity_graph, dict(cache)


def best(fn, repeat):
    elapsed, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        elapsed.append(time.perf_counter() - start)
    return min(elapsed), result


def views(graph):
    from vitrage_persistor.replay import graph_json
    g = graph_json.nx_graph(graph)
    return (list(g.nodes(data=True)), list(g.edges(keys=True, data=True)),
            list(g.in_edges(keys=True, data=True)))


def time_format(write, repeat):
    """({step: seconds or bytes}, loaded graph) for one snapshot format."""
    from vitrage_persistor import gc_pause
    from vitrage_persistor.replay import graph_json
    from vitrage_persistor.storage import snapshot_codec

    row = {}
    row['write'], data = best(write, repeat)
    row['bytes'] = len(data)
    row['decompress'], text = best(
        lambda: snapshot_codec.decompress(data), repeat)

    def parse():
        with gc_pause.paused():
            return orjson.loads(text)
    row['parse'], _ = best(parse, repeat)

    def build():
        # a fresh parse for each build: the graph adopts its dicts
        document = parse()['graph']
        start = time.perf_counter()
        graph_json.load(document)
        return time.perf_counter() - start
    row['build'] = min(build() for _ in range(repeat))
    row['load'], loaded = best(
        lambda: graph_json.load(snapshot_codec.decode(data)['graph']),
        repeat)
    return row, loaded


def measure(graph, cache, repeat):
    """{format: {step: seconds or bytes}} for one graph."""
    from vitrage_persistor.replay import graph_json
    from vitrage_persistor.storage import records, snapshot_codec

    def old_write():
        document = {'format_version': 1, 'processor': 'bench',
                    'graph': graph_json.dump(graph, cache, 'bench',
                                             copy=False)}
        return zlib.compress(orjson.dumps(document), 1)

    def new_write():
        return snapshot_codec.encode(records.Snapshot(
            covers=None, max_event_id=0, event_count=0, processor='bench',
            graph=graph_json.dump_snapshot(graph, cache, 'bench')))

    rows, loaded = {}, {}
    for name, write in (('zlib, version 1 (earlier releases)', old_write),
                        ('Zstandard, version 2 (this release)', new_write)):
        rows[name], loaded[name] = time_format(write, repeat)
    old, new = (views(g) for g, _ in loaded.values())
    assert old == new, 'the two formats load different graphs'
    # as JSON: the graph built from memory holds tuples, a snapshot lists
    assert orjson.dumps(views(graph)[:2]) == orjson.dumps(new[:2]), (
        'the snapshot is not the graph')
    assert [c for _, c in loaded.values()] == [cache, cache]
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scales', type=int, nargs='+', default=[300, 1500])
    ap.add_argument('--repeat', type=int, default=5)
    args = ap.parse_args()

    from vitrage_persistor.tests.common import replay_base
    conf = bench._conf('sqlite://', replay_base.datasources_values_dir(),
                       tempfile.mkdtemp(prefix='vp_bench_format_'))
    steps = ('decompress', 'parse', 'build', 'load', 'write')
    print('| vertices | format | %s | bytes |'
          % ' | '.join(steps))
    print('|---|---|%s---|' % ('---|' * len(steps)))
    for scale in args.scales:
        pool, _ = bench.steady_snapshots(scale)
        graph, cache = build_graph(conf, pool)
        rows = measure(graph, cache, args.repeat)
        first = None
        for name, row in rows.items():
            cells = ['%.3f s' % row[s] for s in steps]
            if first is not None:
                cells = ['%s (%.2fx)' % (c, row[s] / first[s])
                         for c, s in zip(cells, steps, strict=True)]
            print('| %d | %s | %s | %.2f MB%s |' % (
                graph.num_vertices(), name, ' | '.join(cells),
                row['bytes'] / 1e6,
                '' if first is None else ' (%.2fx)' % (
                    row['bytes'] / first['bytes'])), flush=True)
            first = first or row
        del graph, cache, pool
        gc.collect()


if __name__ == '__main__':
    main()
