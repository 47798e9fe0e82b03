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

"""Benchmark: Vitrage's questions at a past time, through the API.

Not a test: it prints figures next to a baseline measured in the same run
on the same history (a trace from Vitrage's own mocks, see
``vitrage_persistor/tests/common/trace.py``), stored in a database:

* baseline: ``Replayer.graph_at(T)``, the replay alone, in-process;
* the first ``POST /v1/at/T/v1/topology/`` of an API process (replay plus
  Vitrage's TopologyApis plus JSON), through the WSGI app in-process;
* the same request again, and ``alarm list`` and ``rca show`` at the same
  T: the graph is kept (four per process), so these pay only Vitrage's
  handlers and the JSON.

Usage::

    python tools/bench/at_time.py [--rounds 320] [--db URL] [--repeat 3]

Without ``--db`` a SQLite file in a temporary directory is used.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings

warnings.filterwarnings('ignore')
logging.disable(logging.ERROR)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def main() -> None:
    import webob

    from vitrage_persistor import service, wire
    from vitrage_persistor.api import app as api_app
    from vitrage_persistor.replay import engine
    from vitrage_persistor.storage import api as storage_api
    from vitrage_persistor.storage import migration
    from vitrage_persistor.tests.common import replay_base, trace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=320)
    parser.add_argument('--db')
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()

    state = tempfile.mkdtemp(prefix='vp-bench-at-')
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', args.db or
                      'sqlite:///%s/bench.sqlite' % state, 'database')
    conf.set_override('datasources_values_dir',
                      replay_base.datasources_values_dir(), 'replay')
    conf.set_override('auth_strategy', 'noauth', 'api')
    store = storage_api.Store(conf)
    migration.upgrade(store)
    events = trace.build_trace(rounds=args.rounds, scale=3)
    records = trace.to_records(events)
    for start in range(0, len(records), 2000):
        store.add_batch(records[start:start + 2000])
    when = trace.collector_time(len(records) - 1)
    at = wire.format_timestamp(when)
    print('%d events stored; T = %s' % (len(records), at))

    def timed(func):
        started = time.perf_counter()
        result = func()
        return time.perf_counter() - started, result

    def call(application, path, method='GET', body=b''):
        req = webob.Request.blank(path, method=method, body=body,
                                  content_type='application/json')
        resp = req.get_response(application)
        assert resp.status_int == 200, resp.text[:500]
        return resp

    figures: dict = {}
    base = '/v1/at/%s/v1' % at
    # warm-up: imports, Vitrage's configuration, the OS page cache
    engine.Replayer(conf, store).graph_at(at_time=when)
    for _ in range(args.repeat):
        replayer = engine.Replayer(conf, store)
        figures.setdefault('graph_at(T), in-process (baseline)', []).append(
            timed(lambda r=replayer: r.graph_at(at_time=when))[0])
        application = api_app.make_app(conf)
        figures.setdefault('first POST topology (replay + Vitrage)',
                           []).append(timed(lambda a=application: call(
                               a, base + '/topology/', 'POST',
                               b'{"all_tenants": true}'))[0])
        figures.setdefault('same POST topology again (graph kept)',
                           []).append(timed(lambda a=application: call(
                               a, base + '/topology/', 'POST',
                               b'{"all_tenants": true}'))[0])
        alarms = call(application, base + '/alarm/?all_tenants=true')
        figures.setdefault('GET alarm list (graph kept)', []).append(
            timed(lambda a=application: call(
                a, base + '/alarm/?all_tenants=true'))[0])
        alarm = json.loads(alarms.text)[0]['vitrage_id']
        figures.setdefault('GET rca (graph kept)', []).append(
            timed(lambda a=application, x=alarm: call(
                a, base + '/rca/%s?all_tenants=true' % x))[0])
    baseline = statistics.median(
        figures['graph_at(T), in-process (baseline)'])
    print('median of %d runs:' % args.repeat)
    for name, values in figures.items():
        value = statistics.median(values)
        print('  %-42s %8.3f s  %6.2f x baseline' % (name, value,
                                                     value / baseline))
    store.dispose()


if __name__ == '__main__':
    main()
