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

"""Benchmark: the loss window of a vitrage-graph killed with SIGKILL.

Not a test. The hooks queue what vitrage-graph processed and a sender
process gets the broker to confirm it; what is still in that queue or
unconfirmed when the whole process group dies is lost. This measures how
much, on the real services (``tests/functional/service/stack.py``):

* Vitrage's own graph persistence stays on, as the witness: it commits a
  row per graph change before vitrage-graph takes the next event, so its
  ``events`` table names every doctor alarm vitrage-graph processed
  before the kill;
* ``--events`` doctor notifications are pushed as fast as one notifier
  sends them; once ``--kill-after`` of them are processed (Vitrage's rows
  say so), the process group is killed with SIGKILL;
* after the persistor agent has drained its queue, lost = the alarms in
  Vitrage's rows that the persistor store does not hold.

Each of ``--repeat`` trials restarts vitrage-graph. The baseline in the
same run is the processing rate, so the window is also given in time
(lost events / events per second).

    python tools/bench/loss_window.py [--events 3000] [--kill-after 1000]
"""

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time

# isort: off
# oslo.service's threading backend before oslo.messaging imports it
import vitrage_persistor.cmd  # noqa: F401
# isort: on

from vitrage_persistor import service  # noqa: E402
from vitrage_persistor.storage import api  # noqa: E402
from vitrage_persistor.tests.functional import fixtures as func_fixtures  # noqa
from vitrage_persistor.tests.functional.persistor import helpers  # noqa
from vitrage_persistor.tests.functional.service import stack  # noqa


def witnessed(services, run: str) -> set:
    """The alarms of ``run`` Vitrage's own events table holds."""
    pattern = re.compile(r'bench\.%s\.(\d+)' % re.escape(run))
    rows = services.vitrage_db_rows(
        'SELECT payload FROM events WHERE payload LIKE %s',
        ('%%bench.%s.%%' % run,))
    return {int(m) for (payload,) in rows
            for m in pattern.findall(payload)}


def stored(store, run: str) -> set:
    """The alarms of ``run`` the persistor store holds."""
    pattern = re.compile(r'bench\.%s\.(\d+)' % re.escape(run))
    found = set()
    for event in store.iter_events():
        found.update(int(m) for m in pattern.findall(repr(event.payload)))
    return found


def trial(services, store, rabbit, args, number: int) -> dict:
    run = 't%d-%d' % (number, time.monotonic_ns())
    doctor = stack.doctor_notifier(rabbit.url)
    sender = threading.Thread(
        target=lambda: [doctor.send('bench.%s.%d' % (run, i))
                        for i in range(args.events)], daemon=True)
    start = time.monotonic()
    sender.start()
    helpers.wait_for(lambda: len(witnessed(services, run)) >= args.kill_after,
                     600, what='%d events processed' % args.kill_after,
                     interval=0.05)
    services.kill9_graph()
    elapsed = time.monotonic() - start
    sender.join()
    doctor.close()
    processed = witnessed(services, run)
    helpers.wait_for(
        lambda: rabbit.queues().get('vitrage_persistor.sample', 1) == 0,
        120, what='agent queue drained')
    kept = stored(store, run)
    lost = processed - kept
    rate = len(processed) / elapsed
    services.start_graph(timeout=300)
    return {'processed': len(processed), 'lost': len(lost),
            'rate': rate, 'window_ms': 1000.0 * len(lost) / rate,
            'stored_not_witnessed': len(kept - processed)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--events', type=int, default=3000)
    ap.add_argument('--kill-after', type=int, default=1000)
    ap.add_argument('--repeat', type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='vp-bench-loss-')
    rabbit = func_fixtures.RabbitVhost()
    rabbit.setUp()
    agent, config = stack.bench_agent(
        tmp, rabbit.url, 'sqlite:///%s/persistor.sqlite' % tmp)
    conf = service.make_conf()
    conf(['--config-file', config], project='vitrage-persistor')
    store = api.Store.from_conf(conf)
    services = stack.VitrageStack(tmp, instances=('vm-1',), rabbit=rabbit)
    results = []
    try:
        services.setUp()
        for number in range(args.repeat):
            results.append(trial(services, store, rabbit, args, number))
    finally:
        services.cleanUp()
        store.dispose()
        agent.cleanup()
        rabbit.cleanUp()
    print('vitrage-graph killed with SIGKILL after %d of %d doctor events '
          'were processed, %d trials:' % (args.kill_after, args.events,
                                          args.repeat))
    print('  %-7s %10s %6s %12s %10s %22s' % (
        'trial', 'processed', 'lost', 'events/s', 'window', 'stored, not '
        'witnessed'))
    for number, r in enumerate(results):
        print('  %-7d %10d %6d %12.0f %8.0fms %22d' % (
            number, r['processed'], r['lost'], r['rate'], r['window_ms'],
            r['stored_not_witnessed']))
    print('  median lost %d events = %.0f ms of processing' % (
        statistics.median(r['lost'] for r in results),
        statistics.median(r['window_ms'] for r in results)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
