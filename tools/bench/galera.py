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

"""Benchmark: the agent on a three-node Galera cluster, against one MariaDB.

Not a test: it prints, for each scenario of one run, the rows stored, the
events lost and duplicated (by the events' own index and by message id)
and the rate from the first commit to the last:

* ``mariadb 1 agent``: the machine's single MariaDB (3306), a database of
  its own, one agent: the baseline;
* ``galera 1 agent``: one agent writing through node 1;
* ``galera 3 agents``: one agent per node, one queue (scale-out);
* ``galera same ids x2``: two agents through nodes 1 and 2, each on its
  own vhost, both sent the same N events (same message ids): every id is
  written twice at about the same time on two nodes, so Galera's
  certification rejects one commit of each pair that overlaps and the
  agent retries it (the ``deadlock retries`` column);
* ``galera kill node``: three agents, one per node through a forwarder
  each (the "VIP"); node 3 is killed (SIGKILL) a third of the way in and
  its forwarder moves to node 1; node 3 then rejoins.
* ``galera db away 30s``: the same three agents; a third of the way in
  every forwarder closes for 30 s (the database is unreachable while every
  agent runs), then they reopen. Its rate includes the 30 s.

Events are published in bundles of 20 by two publisher processes, so the
broker is not the bottleneck. Usage::

    python tools/bench/galera.py [--n 20000] [--batch-size 500]
"""

import argparse
import collections
import os
import re
import shutil
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from vitrage_persistor import service
from vitrage_persistor.storage import api, migration
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.galera import cluster as galera
from vitrage_persistor.tests.functional.persistor import helpers

SINGLE = 'mysql+pymysql://root@127.0.0.1:3306/%s?charset=utf8mb4'


def make_store(url):
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', url, group='database')
    return api.Store(conf)


def create_db(server_url, name):
    engine = sa.create_engine(server_url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE DATABASE %s CHARACTER SET utf8mb4'
                             % name)
    engine.dispose()


def drop_db(server_url, name):
    engine = sa.create_engine(server_url)
    with engine.begin() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
    engine.dispose()


def check(store, n):
    """(rows, lost, duplicated) by index, and duplicated message ids."""
    by_index = collections.Counter()
    by_id = collections.Counter()
    for event in store.iter_events_by_id(page_size=5000):
        by_index[event.payload['vp_test_index']] += 1
        by_id[event.message_id] += 1
    rows = sum(by_index.values())
    lost = len(set(range(n)) - set(by_index))
    dup = sum(c - 1 for c in by_index.values() if c > 1)
    dup_ids = sum(c - 1 for c in by_id.values() if c > 1)
    return rows, lost, dup, dup_ids


def run(name, tmp, n, batch, db_urls, vhost_count=1, same_ids=False,
        kill=None):
    """One scenario; ``db_urls`` one per agent. Returns a result dict."""
    store = make_store(db_urls[0][1])
    migration.upgrade(store)
    vhosts = [func_fixtures.RabbitVhost() for _ in range(vhost_count)]
    for v in vhosts:
        v.setUp()
    agents = []
    try:
        for k, (_, url) in enumerate(db_urls):
            vhost = vhosts[k % vhost_count]
            path = helpers.write_config(
                os.path.join(tmp, '%s-%d.conf' % (name.replace(' ', '_'),
                                                  k)),
                vhost.url, url, batch_size=batch, requeue_backoff_max=2,
                stats_interval=1)
            agents.append(helpers.Agent(path, path + '.log').start())
        extra = ('--per-message', '20')
        if same_ids:
            extra += ('--publisher-id', 'vp-bench-%s' % uuid.uuid4().hex[:6])
        pubs = []
        for vhost in vhosts:
            if same_ids:
                pubs.append(helpers.publish(vhost.url, 0, n, wait=False,
                                            extra=extra))
            else:
                half = n // 2
                pubs += [helpers.publish(vhost.url, 0, half, wait=False,
                                         extra=extra),
                         helpers.publish(vhost.url, half, n - half,
                                         wait=False, extra=extra)]
                break
        first = last = None
        killed = False
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            count = store.event_counts()['count']
            now = time.monotonic()
            if count and first is None:
                first = now
            if kill is not None and not killed and count >= n // 3:
                kill()
                killed = True
            if count >= n:
                last = now
                break
            time.sleep(0.1)
        for pub in pubs:
            helpers.finish(pub, timeout=600)
        time.sleep(2)
        rows, lost, dup, dup_ids = check(store, n)
        retries = sum(sum(int(x) for x in re.findall(
            r'deadlock retries (\d+)', a.log())) for a in agents)
        requeued = sum(sum(int(x) for x in re.findall(
            r'requeued (\d+) batches', a.log())) for a in agents)
        rate = n / (last - first) if first and last and last > first else 0
        return dict(name=name, rows=rows, lost=lost, dup=dup,
                    dup_ids=dup_ids, rate=rate, retries=retries,
                    requeued=requeued)
    finally:
        for agent in agents:
            agent.cleanup()
        for v in vhosts:
            v.cleanUp()
        store.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=20000)
    ap.add_argument('--batch-size', type=int, default=500)
    args = ap.parse_args()
    reason = galera.missing_reason()
    if reason:
        print('cannot run: %s' % reason)
        return 1
    tmp = tempfile.mkdtemp(prefix='vp-bench-galera-')
    cluster = galera.GaleraCluster().start()
    results = []
    try:
        name = 'vp_bench_%s' % uuid.uuid4().hex[:8]
        create_db(SINGLE % '', name)
        try:
            results.append(run('mariadb 1 agent', tmp, args.n,
                               args.batch_size, [(0, SINGLE % name)]))
        finally:
            drop_db(SINGLE % '', name)
        scenarios = [
            ('galera 1 agent', [1], 1, False, None),
            ('galera 3 agents', [1, 2, 3], 1, False, None),
            ('galera same ids x2', [1, 2], 2, True, None),
            ('galera kill node', [1, 2, 3], 1, False, 'kill'),
            ('galera db away 30s', [1, 2, 3], 1, False, 'outage'),
        ]
        for label, nodes, vhosts, same, fault in scenarios:
            db = cluster.create_database()
            proxies = []
            try:
                if fault:
                    proxies = [func_fixtures.TcpProxy(
                        '127.0.0.1', cluster.port(node)).start()
                        for node in nodes]
                    urls = [(node, cluster.url(node, db, port=p.port))
                            for node, p in zip(nodes, proxies, strict=True)]
                else:
                    urls = [(node, cluster.url(node, db)) for node in nodes]

                def kill(proxy=proxies[-1] if proxies else None):
                    # node 3 dies; its forwarder moves to node 1
                    cluster.kill(3)
                    proxy.close()
                    proxy.target = ('127.0.0.1', cluster.port(1))
                    proxy.reopen()

                def outage(proxies=proxies):
                    # every agent loses the database for 30 s
                    for p in proxies:
                        p.close()
                    time.sleep(30)
                    for p in proxies:
                        p.reopen()
                kill_fn = {'kill': kill, 'outage': outage}.get(fault)
                # migrate through node 1 even when agent 1 goes through a
                # forwarder
                migration.upgrade(make_store(cluster.url(1, db)))
                results.append(run(label, tmp, args.n, args.batch_size,
                                   urls, vhost_count=vhosts, same_ids=same,
                                   kill=kill_fn))
            finally:
                for p in proxies:
                    p.close()
                if fault == 'kill':
                    cluster.start_node(3)
                cluster.drop_database(db)
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d events per scenario, batch_size %d, bundles of 20:'
          % (args.n, args.batch_size))
    print('  %-20s %7s %5s %5s %8s %9s %8s %8s' % (
        'scenario', 'rows', 'lost', 'dup', 'dup ids', 'ev/s',
        'retries', 'requeued'))
    for r in results:
        print('  %-20s %7d %5d %5d %8d %9.0f %8d %8d' % (
            r['name'], r['rows'], r['lost'], r['dup'], r['dup_ids'],
            r['rate'], r['retries'], r['requeued']))
    bad = [r['name'] for r in results if r['lost'] or r['dup'] or
           r['dup_ids'] or r['rows'] != args.n]
    if bad:
        print('LOST OR DUPLICATED EVENTS in: %s' % ', '.join(bad))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
