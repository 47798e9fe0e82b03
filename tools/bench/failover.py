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

"""Benchmark: vitrage-graph's time to ready after a crash, three ways.

Not a test. The real services run (``tests/functional/service/stack.py``:
vitrage-graph with the hooks, one evaluator and one API worker,
vitrage-api, Vitrage's persistor, MariaDB, RabbitMQ) on a static cloud of
``--vertices`` entities (one host and its instances), with the persistor
agent storing what the hooks publish into ``--db`` (default: a SQLite
file). For each way, in one run, vitrage-graph's process group is killed
with SIGKILL and started again, and the time from the start to the API
answering the full topology is measured:

* ``restore``: ``[persistor_hooks] restore = true``,
  ``vitrage_persistence = false`` (the graph from the persistor);
* ``pickle``: Vitrage's own restart (its pickle and rows);
* ``cold``: Vitrage's persistence tables emptied, a start from scratch
  (``get_all`` of every datasource).

    python tools/bench/failover.py [--vertices 600] [--repeat 3]
"""

import argparse
import re
import statistics
import sys
import tempfile
import time

import vitrage_persistor.cmd  # noqa: F401  (threading backend first)
from vitrage_persistor.tests.functional import fixtures as func_fixtures  # noqa
from vitrage_persistor.tests.functional.persistor import helpers  # noqa
from vitrage_persistor.tests.functional.service import stack  # noqa

REPLAYED = re.compile(r'restore: \d+ vertices and \d+ edges from the '
                      r'persistor .* in ([\d.]+)s')
HANDED = re.compile(r'restore: worker \d+ loaded \d+ vertices from the main '
                    r"process's hand-over in ([\d.]+)s")
HANDOVER = {'replay': [], 'worker load': []}


def ready_after_restart(services, vertices: int) -> float:
    """Kill -9, start again; seconds until the API shows every vertex."""
    logged = len(services.graph_log())
    services.kill9_graph()
    start = time.monotonic()
    services.start_graph(timeout=600)
    helpers.wait_for(
        lambda: len(services.vitrage('topology', 'show', '--all-tenants')
                    ['nodes']) >= vertices, 600, what='full topology')
    ready = time.monotonic() - start
    log = services.graph_log()[logged:]
    HANDOVER['replay'] += [float(t) for t in REPLAYED.findall(log)]
    HANDOVER['worker load'] += [float(t) for t in HANDED.findall(log)]
    return ready


def run_mode(mode, args, tmp, rabbit, agent_conf):
    state = tempfile.mkdtemp(prefix='%s-' % mode, dir=tmp)
    options = {}
    if mode == 'restore':
        options = {'restore': 'true', 'restore_config_file': agent_conf,
                   'vitrage_persistence': 'false'}
    instances = ['vm-%d' % i for i in range(args.vertices - 1)]
    services = stack.VitrageStack(state, instances=instances, rabbit=rabbit,
                                  hooks_options=options)
    services.setUp()
    try:
        helpers.wait_for(
            lambda: len(services.vitrage('topology', 'show',
                                         '--all-tenants')['nodes'])
            >= args.vertices, 600, what='first full topology')
        # let the hooks' events reach the store before the crash
        helpers.wait_for(
            lambda: rabbit.queues().get('vitrage_persistor.sample', 1) == 0,
            120, what='agent queue drained')
        times = []
        for _ in range(args.repeat):
            if mode == 'cold':
                services.forget_vitrage_graph()
            times.append(ready_after_restart(services, args.vertices))
        return times
    finally:
        services.cleanUp()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--vertices', type=int, default=600)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--db', help='the persistor database URL (empty)')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='vp-bench-failover-')
    rabbit = func_fixtures.RabbitVhost()
    rabbit.setUp()
    db_url = args.db or 'sqlite:///%s/persistor.sqlite' % tmp
    agent, agent_conf = stack.bench_agent(tmp, rabbit.url, db_url)
    results = {}
    try:
        for mode in ('restore', 'pickle', 'cold'):
            results[mode] = run_mode(mode, args, tmp, rabbit, agent_conf)
    finally:
        agent.cleanup()
        rabbit.cleanUp()
    print('time to ready after kill -9 (start -> the API answers the full '
          'topology), %d vertices, %d runs each:' % (args.vertices,
                                                     args.repeat))
    base = statistics.median(results['pickle'])
    for mode, times in results.items():
        print('  %-8s median %6.2fs  (%s)  ratio to pickle %.2f' % (
            mode, statistics.median(times),
            ', '.join('%.2f' % t for t in times),
            statistics.median(times) / base))
    if HANDOVER['replay'] and HANDOVER['worker load']:
        replay = statistics.median(HANDOVER['replay'])
        load = statistics.median(HANDOVER['worker load'])
        print('restore: the main process replays the store in %.2fs '
              '(median of %d); each worker loads its hand-over in %.2fs '
              '(median of %d): %.1fx cheaper than a replay per worker' % (
                  replay, len(HANDOVER['replay']), load,
                  len(HANDOVER['worker load']), replay / max(load, 1e-3)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
