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

"""Benchmark: the real vitrage-graph's throughput, with and without us.

Not a test. The real services run (``tests/functional/service/stack.py``)
three ways, one after the other in one run, each fed the same ``--events``
doctor notifications on Vitrage's ``vitrage_notifications`` topic (what
``vitrage event post`` sends; each raises a new doctor alarm, named for
the event, on the static topology's host-1):

* ``stock``: no hooks, Vitrage's own persistence on (what deployers run);
* ``hooks``: the collector hook, Vitrage's own persistence on;
* ``hooks, no vitrage persistence``: the collector hook with
  ``[persistor_hooks] vitrage_persistence = false``.

It reports the rate (first notification sent -> vitrage-api counts every
new alarm) and the CPU seconds vitrage-graph's process group spent per event
(user + system of the master and its workers, from /proc), each with its
ratio to ``stock``. The persistor agent stores the hooked runs' events
into a SQLite file and runs outside the measured process group.

    python tools/bench/graph_throughput.py [--events 2000]
"""

import argparse
import os
import sys
import tempfile
import time

# isort: off
# oslo.service's threading backend before oslo.messaging imports it
import vitrage_persistor.cmd  # noqa: F401
# isort: on

from vitrage_persistor.tests.functional import fixtures as func_fixtures  # noqa
from vitrage_persistor.tests.functional.persistor import helpers  # noqa
from vitrage_persistor.tests.functional.service import stack  # noqa

TICK = os.sysconf('SC_CLK_TCK')


def group_cpu(leader: int) -> float:
    """CPU seconds of every process in ``leader``'s process group."""
    total = 0
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:       # pgrp
            total += int(fields[11]) + int(fields[12])   # utime, stime
    return total / TICK


def run_mode(name, hooks, options, args, tmp, rabbit):
    services = stack.VitrageStack(
        tempfile.mkdtemp(prefix='graph-', dir=tmp), instances=('vm-1',),
        hooks=hooks, rabbit=rabbit, hooks_options=options)
    services.setUp()
    try:
        before = services.alarm_count()
        leader = services.procs['graph'].pid
        doctor = stack.doctor_notifier(rabbit.url)
        run = '%s-%d' % (name.split(',')[0], time.monotonic_ns())
        cpu0 = group_cpu(leader)
        start = time.monotonic()
        for i in range(args.events):
            doctor.send('bench.%s.%d' % (run, i))
        target = before + args.events
        helpers.wait_for(lambda: services.alarm_count() >= target, 1800,
                         what='every event processed', interval=0.5)
        elapsed = time.monotonic() - start
        cpu = group_cpu(leader) - cpu0
        doctor.close()
        return args.events / elapsed, cpu / args.events
    finally:
        services.cleanUp()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--events', type=int, default=2000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='vp-bench-graph-')
    rabbit = func_fixtures.RabbitVhost()
    rabbit.setUp()
    agent, _config = stack.bench_agent(
        tmp, rabbit.url, 'sqlite:///%s/persistor.sqlite' % tmp)
    modes = (('stock', '', {}),
             ('hooks', 'collector', {}),
             ('hooks, no vitrage persistence', 'collector',
              {'vitrage_persistence': 'false'}))
    results = {}
    try:
        for name, hooks, options in modes:
            results[name] = run_mode(name, hooks, options, args, tmp, rabbit)
    finally:
        agent.cleanup()
        rabbit.cleanUp()
    rate0, cpu0 = results['stock']
    print('vitrage-graph, %d doctor notifications per run (a new alarm '
          'each), one run each:' % args.events)
    print('  %-31s %9s %7s %14s %7s' % ('run', 'events/s', 'ratio',
                                        'cpu ms/event', 'ratio'))
    for name, (rate, cpu) in results.items():
        print('  %-31s %9.0f %7.2f %14.2f %7.2f' % (
            name, rate, rate / rate0, cpu * 1000, cpu / cpu0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
