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

"""Benchmark: agents on separate hosts, through faults, nothing lost.

Not a test (``tests/functional/persistor/test_agent_hosts.py`` is, with
fewer events). ``--hosts`` agents run each in its own network namespace
(``tests/functional/netns.py``), reaching the real RabbitMQ and
PostgreSQL only through their own veth. For each case ``--events``
events are published from the controller at ``--rate`` into a fresh
vhost and a fresh database, and the rows are counted afterwards:

* ``no fault``: the baseline of the same run;
* ``host cut off``: host 1's veth goes down for ``--cut`` seconds once
  it has stored some events, then comes back;
* ``database away``: every host's way to the database is closed for
  ``--db-outage`` seconds while every agent runs.

It prints, per case: rows, distinct message ids, lost, duplicated, and
the seconds from the first event published to the last one stored.
Needs root (network namespaces).

    sudo python tools/bench/agent_hosts.py [--events 20000] [--hosts 2]
"""

import argparse
import collections
import json
import sys
import tempfile
import time

import sqlalchemy as sa

sys.path.insert(0, __file__.rsplit('/', 1)[0])
import ingest  # noqa: E402  (tools/bench/ingest.py: databases)

from vitrage_persistor.tests.functional import fixtures, netns  # noqa
from vitrage_persistor.tests.functional.persistor import helpers  # noqa

HEARTBEAT = {'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 6}}


def run_case(name, args, tmp):
    db_name, db_url = ingest.fresh_database('postgresql', tmp)
    rabbit = fixtures.RabbitVhost()
    rabbit.setUp()
    hosts, agents, db_proxies = [], [], []
    try:
        for i in range(1, args.hosts + 1):
            host = netns.Host(i)
            host.setUp()
            hosts.append(host)
            url, _ = host.rabbit_url(rabbit.url)
            host_db, proxy = host.proxy(db_url, 5432)
            db_proxies.append(proxy)
            config = helpers.write_config(
                '%s/%s-host%d.conf' % (tmp, name.replace(' ', '-'), i),
                url, host_db, HEARTBEAT, batch_size=200,
                requeue_backoff_max=2)
            agent = helpers.Agent(config, config[:-5] + '.log',
                                  host.wrapper)
            agents.append(agent.start())
        engine = sa.create_engine(db_url)

        def count():
            return ingest.db_count(engine)

        start = time.monotonic()
        pub = helpers.publish(rabbit.url, 0, args.events, wait=False,
                              extra=('--rate', str(args.rate)))
        if name == 'host cut off':
            helpers.wait_for(lambda: agents[0].stored_total() >= 500, 120,
                             what='host 1 storing')
            hosts[0].cut()
            time.sleep(args.cut)
            hosts[0].restore()
        elif name == 'database away':
            helpers.wait_for(lambda: count() >= 500, 120,
                             what='first events')
            for proxy in db_proxies:
                proxy.close()
            time.sleep(args.db_outage)
            for proxy in db_proxies:
                proxy.reopen()
        helpers.finish(pub, timeout=3600)
        try:
            helpers.wait_for(lambda: count() >= args.events, args.settle,
                             interval=1.0, what='every event stored')
        except AssertionError:
            pass  # counted as lost below
        elapsed = time.monotonic() - start
        time.sleep(2)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                'SELECT message_id, payload FROM event')).all()
        engine.dispose()
        ids = {r.message_id for r in rows}
        seen = collections.Counter(json.loads(r.payload)['vp_test_index']
                                   for r in rows)
        lost = sum(1 for i in range(args.events) if i not in seen)
        duplicated = sum(c - 1 for c in seen.values() if c > 1)
        shares = [a.stored_total() for a in agents]
        return (len(rows), len(ids), lost, duplicated, elapsed, shares)
    finally:
        for agent in agents:
            agent.cleanup()
        for host in reversed(hosts):
            host.cleanUp()
        rabbit.cleanUp()
        ingest.drop_database('postgresql', db_name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--events', type=int, default=20000)
    ap.add_argument('--hosts', type=int, default=2)
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--cut', type=float, default=20.0)
    ap.add_argument('--db-outage', type=float, default=30.0)
    ap.add_argument('--settle', type=float, default=600.0)
    args = ap.parse_args()
    why = netns.unavailable()
    if why:
        print('agent hosts need network namespaces: %s' % why,
              file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix='vp-bench-hosts-')
    print('%d events per case, %d agent hosts, published at %d/s; '
          'PostgreSQL, RabbitMQ:' % (args.events, args.hosts, args.rate))
    print('  %-14s %7s %8s %6s %11s %9s  %s' % (
        'case', 'rows', 'msg ids', 'lost', 'duplicated', 'seconds',
        'stored per host'))
    failed = False
    for name in ('no fault', 'host cut off', 'database away'):
        rows, ids, lost, dup, elapsed, shares = run_case(name, args, tmp)
        failed = failed or lost or dup
        print('  %-14s %7d %8d %6d %11d %9.1f  %s' % (
            name, rows, ids, lost, dup, elapsed,
            ' / '.join(str(s) for s in shares)), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
