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

"""Benchmark: agent hosts on a RabbitMQ cluster and a Galera cluster.

Not a test (``vitrage_persistor/tests/functional/galera/
test_hosts_clusters.py`` is, with 3,900 events and the three faults in one
stream). ``--hosts`` agents (2 or 3) run each in its own network namespace
(``tests/functional/netns.py``); each reaches the three nodes of a
RabbitMQ cluster (``tools/rabbitmq-cluster.sh``, quorum queues) through
forwarders of its own, its transport URL listing the three, and writes
through its own node of a Galera cluster (``tools/galera-cluster.sh``;
host ``i`` through node ``i``) by a forwarder that connects to the other
nodes in turn when that one refuses: a local haproxy with backup servers
(``tests/functional/galera/hosts.py``). The hooks' publisher sends
``--events`` events at ``--rate`` from the controller into a fresh vhost;
each case has a fresh database. Once a quarter of the events are stored:

* ``no fault``: nothing (the baseline of the same run);
* ``host cut off``: host 1's link goes down for ``--cut`` seconds;
* ``galera node killed``: host 2's Galera node is killed (SIGKILL); the
  *window* is the time from the kill until host 2's agent stored a batch
  through another node;
* ``leader killed``: the RabbitMQ node leading the quorum queue is killed
  (SIGKILL). If the stream has not been stored ``--stall-restart`` seconds
  after the publisher finished (the known stall of
  ``doc/source/rabbitmq-cluster.rst``), the node is started again, as an
  operator would, and the row says so.

Killed nodes are started again after their case. Per case it prints rows,
distinct message ids, lost and duplicated indices, the seconds from the
first event published to the last one stored, the longest time without a
new row after the fault (the stall), the window, and what each host
stored. Needs root (network namespaces), galera-4 and RabbitMQ::

    sudo nice -n 10 python tools/bench/hosts_clusters.py \\
        [--events 20000] [--hosts 3] [--rate 1000]
"""

import argparse
import os
import sys
import tempfile
import threading
import time

from vitrage_persistor import service
from vitrage_persistor.storage import api, migration
from vitrage_persistor.tests.functional import netns, rabbit_cluster
from vitrage_persistor.tests.functional.galera import cluster as galera
from vitrage_persistor.tests.functional.galera import hosts
from vitrage_persistor.tests.functional.persistor import helpers

CASES = ('no fault', 'host cut off', 'galera node killed', 'leader killed')


def make_store(url):
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', url, group='database')
    return api.Store(conf)


class Sampler(threading.Thread):
    """The row count every 0.2 s; the longest time without a new row."""

    def __init__(self, store):
        super().__init__(daemon=True)
        self.store = store
        self.samples = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                count = self.store.event_counts()['count']
            except Exception:  # node 1 busy with a rejoiner: try again
                count = None
            if count is not None:
                self.samples.append((time.monotonic(), count))
            self.done.wait(0.2)

    def longest_stall(self, since, until):
        last_t, last_n, stall = since, None, 0.0
        for t, n in self.samples:
            if t < since:
                last_n = n
                continue
            if last_n is None or n > last_n:
                stall = max(stall, t - last_t)
                last_t, last_n = t, n
            if n >= until:
                break
        return stall


def run_case(name, args, tmp, db, rabbit):
    database = db.create_database()
    store = make_store(db.url(1, database))
    migration.upgrade(store)
    vhost = rabbit.add_vhost()
    hosts_, agents, db_proxies = [], [], []
    killed = {}
    sampler = Sampler(store)
    result = {'window': None, 'restarted': False}
    try:
        for i in range(1, args.hosts + 1):
            host = netns.Host(i)
            host.setUp()
            hosts_.append(host)
            transport_url, db_url, proxy = hosts.attach(
                host, rabbit, vhost, db, database, node=i)
            db_proxies.append(proxy)
            label = '%s-host%d' % (name.replace(' ', '-'), i)
            config = helpers.write_config(
                os.path.join(tmp, label + '.conf'), transport_url, db_url,
                hosts.SECTIONS, batch_size=args.batch_size,
                requeue_backoff_max=2)
            agents.append(helpers.Agent(config, config[:-5] + '.log',
                                        host.wrapper))
        for agent in agents:
            agent.start()
        sampler.start()

        def count():
            return store.event_counts()['count']

        start = time.monotonic()
        pub = helpers.hook_publish(rabbit.url(vhost), 0, args.events,
                                   rate=args.rate, wait=False,
                                   events_per_message=args.per_message)
        helpers.wait_for(lambda: count() >= args.events // 4, 300,
                         interval=0.5, what='a quarter stored')
        fault_at = time.monotonic()
        if name == 'host cut off':
            hosts_[0].cut()
            time.sleep(args.cut)
            hosts_[0].restore()
        elif name == 'galera node killed':
            db.kill(2)
            killed['galera'] = 2
            result['window'] = hosts.failover_window(
                agents[1], db_proxies[1], fault_at, timeout=300)
        elif name == 'leader killed':
            leader = rabbit.leader(vhost)
            rabbit.kill(leader)
            killed['rabbit'] = leader
        stats = helpers.hook_finish(pub, timeout=3600)
        if 'rabbit' in killed:
            try:
                helpers.wait_for(lambda: count() >= args.events,
                                 args.stall_restart, interval=0.5,
                                 what='stored without the dead node')
            except AssertionError:
                rabbit.start_node(killed.pop('rabbit'))
                result['restarted'] = True
        try:
            helpers.wait_for(lambda: count() >= args.events, args.settle,
                             interval=0.5, what='every event stored')
        except AssertionError:
            pass  # counted as lost below
        elapsed = time.monotonic() - start
        time.sleep(2)  # a late duplicate would show now
        sampler.done.set()
        sampler.join()
        result.update(hosts.tally(store, args.events))
        result.update(
            elapsed=elapsed, publisher=stats,
            stall=sampler.longest_stall(fault_at, args.events),
            shares=[a.stored_total() for a in agents])
        return result
    finally:
        sampler.done.set()
        for agent in agents:
            agent.cleanup()
        for host in reversed(hosts_):
            host.cleanUp()
        store.dispose()
        if 'galera' in killed:
            db.start_node(killed['galera'])
        if 'rabbit' in killed:
            rabbit.start_node(killed['rabbit'])
        rabbit.wait_all_running()
        rabbit.delete_vhost(vhost)
        db.drop_database(database)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--events', type=int, default=20000)
    ap.add_argument('--hosts', type=int, default=3, choices=(2, 3))
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--cut', type=float, default=20.0)
    ap.add_argument('--batch-size', type=int, default=20,
                    help="the agents' [persistor] batch_size "
                         '(notifications)')
    ap.add_argument('--per-message', type=int, default=10,
                    help="the publisher's events_per_message")
    ap.add_argument('--stall-restart', type=float, default=60.0)
    ap.add_argument('--settle', type=float, default=600.0)
    ap.add_argument('--cases', default=','.join(CASES))
    args = ap.parse_args()
    why = (galera.missing_reason() or netns.unavailable() or
           (None if os.path.exists(rabbit_cluster.SCRIPT) else 'no script'))
    if why:
        print('cannot run: %s' % why, file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix='vp-bench-hosts-clusters-')
    print('%d events per case, %d agent hosts, hooks publisher at %d/s '
          '(bundles of %d), batch_size %d; RabbitMQ cluster (quorum), '
          'Galera cluster; agent logs in %s' % (
              args.events, args.hosts, args.rate, args.per_message,
              args.batch_size, tmp))
    db, rabbit = hosts.start_clusters()
    failed = False
    try:
        print('  %-19s %6s %7s %5s %5s %8s %7s %7s  %s' % (
            'case', 'rows', 'msg ids', 'lost', 'dup', 'seconds', 'stall',
            'window', 'stored per host'))
        for name in args.cases.split(','):
            r = run_case(name, args, tmp, db, rabbit)
            failed = failed or r['lost'] or r['duplicated'] or r['extra']
            print('  %-19s %6d %7d %5d %5d %8.1f %7.1f %7s  %s%s' % (
                name, r['rows'], r['message_ids'], r['lost'],
                r['duplicated'], r['elapsed'], r['stall'],
                '-' if r['window'] is None else '%.1f' % r['window'],
                ' / '.join(str(s) for s in r['shares']),
                ' (node restarted after %ss stalled)' % args.stall_restart
                if r['restarted'] else ''), flush=True)
            pub = r['publisher']
            if pub['dropped'] or pub['abandoned']:
                failed = True
                print('    publisher dropped %d, abandoned %d' % (
                    pub['dropped'], pub['abandoned']))
    finally:
        hosts.stop_clusters(db, rabbit)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
