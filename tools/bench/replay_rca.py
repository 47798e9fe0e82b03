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

"""Benchmark: replay of a history full of the evaluator's conclusions.

Not a test: it prints figures next to a baseline measured in the same
run, on the same events.

1. Vitrage's real collector path, processor and ``ScenarioEvaluator`` run
   ``--rounds`` rounds of host-down incidents and recoveries on every host
   of the demo cloud (``vitrage_persistor/demo``: templates raising
   deduced alarms, setting states, marking hosts down and linking causes),
   with the collector hook installed. The hook's publisher is replaced by
   a list here: this benchmark measures replay, not the wire.
2. The events are stored (``--db``, default a SQLite file) and the graph
   is replayed from the database with ``graph_at``, without snapshots.
3. Baseline: Vitrage's ``Processor`` fed the same events from a Python
   list, with the same live ids seeded and the same pinned clock.

Both must end with the same graph (checked), and the ratio of their rates
is printed.

    python tools/bench/replay_rca.py [--rounds 40] [--db URL] [--repeat 3]
"""

import argparse
import copy
import datetime
import gc
import json
import logging
import sys
import tempfile
import time
import warnings

import vitrage_persistor.cmd  # noqa: F401  (threading backend first)

warnings.filterwarnings('ignore')
logging.disable(logging.ERROR)

from oslo_serialization import jsonutils  # noqa: E402

from vitrage_persistor import service, wire  # noqa: E402
from vitrage_persistor.demo import harness, story  # noqa: E402
from vitrage_persistor.publish import queue  # noqa: E402
from vitrage_persistor.publish.hooks import collector  # noqa: E402
from vitrage_persistor.replay import engine  # noqa: E402
from vitrage_persistor.replay import processor as processor_mod  # noqa
from vitrage_persistor.storage import api, migration  # noqa: E402
from vitrage_persistor.tests.common import trace  # noqa: E402


class ListPublisher:
    """Keeps what the collector hook publishes, as the agent stores it."""

    def __init__(self):
        self.events = []

    def publish(self, event):
        # the sender's JSON encoding, and the agent's decoding
        self.events.append(json.loads(jsonutils.dumps(event)))
        return True

    def publish_encoded(self, data, extra=None):
        return self.publish(queue.decode(data, extra)[0])


def history(rounds: int) -> tuple[list, int]:
    """The events the hook published, and how many the evaluator made."""
    from vitrage.datasources import transformer_base

    base = transformer_base.TransformerBase
    saved = base.key_to_uuid_cache
    base.key_to_uuid_cache = {}
    publisher = ListPublisher()
    hook = collector.CollectorHook(publisher)
    fixture = harness.configure_vitrage()
    hook.install()
    try:
        pipeline = harness.Pipeline(harness.FakeCloud(scale=1),
                                    record=False,
                                    templates=[harness.TEMPLATES])
        pipeline.init_snapshot()
        pipeline.get_changes()
        pipeline.push(1)
        hosts = sorted({vars(vm)['OS-EXT-SRV-ATTR:host']
                        for vm in pipeline.cloud.vms})
        for _ in range(rounds):
            for host in hosts:
                pipeline.incident(host)
            for host in hosts:
                pipeline.recovery(host)
        live = story.json_form(story.raw_form(pipeline.graph))
    finally:
        hook.uninstall()
        fixture.cleanUp()
        base.key_to_uuid_cache = saved
    events = publisher.events
    made = sum(1 for e in events
               if e.get('vitrage_entity_type') == 'vitrage' and 'type' in e)
    return events, made, live


def baseline(conf, events) -> tuple[float, object]:
    """Vitrage's Processor fed from memory, live ids seeded the same way."""
    from oslo_utils import timeutils
    from vitrage.datasources.transformer_base import TransformerBase
    from vitrage.entity_graph.processor.processor import Processor
    from vitrage.graph.driver.networkx_graph import NXGraph

    processor_mod._configure_vitrage(conf.replay.datasources_values_dir,
                                     list(conf.replay.datasource_types))
    cache = TransformerBase.key_to_uuid_cache = {}
    proc = Processor(e_graph=NXGraph('Entity Graph'))
    gc.collect()
    start = time.perf_counter()
    for i, event in enumerate(events):
        payload, live_ids = wire.split_live_ids(copy.deepcopy(event))
        if live_ids:
            for key, vid in live_ids.items():
                cache.setdefault(key, vid)
        timeutils.set_time_override(trace.collector_time(i).replace(
            tzinfo=datetime.UTC))
        try:
            proc.process_event(payload)
        except Exception:  # noqa: S110 - vitrage-graph logs and goes on
            pass
        timeutils.clear_time_override()
    return len(events) / (time.perf_counter() - start), proc.entity_graph


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rounds', type=int, default=40,
                    help='incident + recovery rounds over every host')
    ap.add_argument('--db', help='database URL (default: SQLite file)')
    ap.add_argument('--repeat', type=int, default=3,
                    help='alternating runs of each; the best is kept')
    args = ap.parse_args()

    start = time.perf_counter()
    events, made, live = history(args.rounds)
    print('history: %d events, %d of them from the evaluator (%.0f%%), '
          'made in %.1fs by Vitrage with the hook' % (
              len(events), made, 100.0 * made / len(events),
              time.perf_counter() - start))

    tmp = tempfile.mkdtemp(prefix='vp-bench-rca-')
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', args.db or
                      'sqlite:///%s/bench.sqlite' % tmp, 'database')
    conf.set_override('datasources_values_dir',
                      harness.RES + '/datasources_values', 'replay')
    conf.set_override('datasource_types', harness.DATASOURCES, 'replay')
    conf.set_override('state_path', tmp)
    store = api.Store.from_conf(conf)
    migration.upgrade(store)
    if store.event_counts()['count']:
        raise SystemExit('the database must be empty: %s' % args.db)
    recs = trace.to_records(events)
    for i in range(0, len(recs), 2000):
        store.add_batch(recs[i:i + 2000])
    replayer = engine.Replayer(conf, store)

    ours = base = 0.0
    for _ in range(args.repeat):
        rate, graph = baseline(conf, events)
        base = max(base, rate)
        gc.collect()
        start = time.perf_counter()
        result = replayer.graph_at(use_snapshots=False)
        ours = max(ours, result.applied / (time.perf_counter() - start))
    same = (story.json_form(story.raw_form(result.graph)) ==
            story.json_form(story.raw_form(graph)))
    deduced = story.live_alarms(story.raw_form(result.graph)[0])
    print('database: %s; graph: %d vertices, %d edges, %d deduced alarms '
          'alive' % (store.dialect_name, result.graph.num_vertices(),
                     result.graph.num_edges(), len(deduced)))
    print('throughput (best of %d): graph_at from the database %.0f '
          'events/s; Vitrage Processor from memory %.0f events/s; '
          'ratio %.2f' % (args.repeat, ours, base, ours / base))
    print('replayed graph equals the processor-from-memory graph: %s; '
          'equals the live graph (deletion marks aside): %s' % (
              same, story.json_form(story.raw_form(result.graph)) == live))
    store.dispose()
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
