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

"""Benchmark: broker faults and throughput on a three-node RabbitMQ cluster.

Not a test: it prints figures. A cluster of three nodes of its own
(``tools/rabbitmq-cluster.sh``, nodes ``rabbit-vpb1..3@localhost`` on
ports 25700-25702, so it can run beside the functional tests' cluster)
with quorum queues on both sides, the hooks' real publisher
(``Publisher``, in its own process), real agent processes and PostgreSQL
(a fresh database per run).

Faults, each on N events (default 20,000), reported as lost / duplicated
(rows and distinct message ids against the N indices published) and the
longest stall, the longest time with no new row after the fault:

* ``leader-kill``: the node leading the quorum queue is kill -9ed when a
  quarter of the events are stored, and started again afterwards;
* ``rolling``: each node in turn is stopped (``rabbitmqctl stop``) and
  started while the stream runs;
* ``agent-kill``: two agents, one kill -9ed at a quarter.

Throughput: the queue of a fresh vhost is filled with N events by the
hooks' publisher (bundles of 100, its default), then 1, 2 or 3 agents
(one worker each) are started; the rate runs from the first commit to the
last. The same is measured on the machine's single RabbitMQ node (own
vhost, classic durable queue, the default) and on the single node with a
quorum queue. The absolute rates depend on the machine (2 cores here,
shared by the brokers, the agents, PostgreSQL and the publisher), so the
ratios are the figures to read.

The agents' ``[persistor] batch_size`` counts notifications, and the
publisher bundles 100 events in one: the default here, 10, is 1,000 events
a batch; with the agent's default of 500 (and its prefetch of 1,000
notifications) the first agent to connect takes a 20,000-event backlog
whole and the others idle.

``--failover-strategy round-robin`` gives the agents oslo.messaging's
default instead of theirs (``shuffle``), and ``--faults leader-kill
--leader-kill-rounds K`` repeats the leader kill: together they measure
how often an agent gets stuck on the dead node (doc/source/
rabbitmq-cluster.rst, "The stuck consumer"). A leader kill brings the
dead node back after 60 s if the agent has not stored everything by then,
and reports it as stuck.

Usage::

    python tools/bench/rabbit_cluster.py [--n 20000] [--json FILE]
        [--batch-size 10] [--skip-faults] [--skip-throughput]
        [--faults leader-kill,rolling,agent-kill] [--leader-kill-rounds 1]
        [--failover-strategy shuffle|round-robin]
"""

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from vitrage_persistor import service
from vitrage_persistor.storage import api as vp_api
from vitrage_persistor.storage import migration as vp_migration
from vitrage_persistor.tests.functional import rabbit_cluster
from vitrage_persistor.tests.functional.persistor import helpers

PY = sys.executable
QUIET = dict(os.environ, PYTHONWARNINGS='ignore')
PG_ADMIN = ('postgresql+psycopg2://openstack_citest:openstack_citest'
            '@127.0.0.1/openstack_citest')
RABBITMQCTL = shutil.which('rabbitmqctl') or '/usr/sbin/rabbitmqctl'
QUORUM = {'oslo_messaging_rabbit': {'rabbit_quorum_queue': 'true'}}


# -- database ---------------------------------------------------------------

def fresh_database():
    name = 'vp_bench_rmq_%s' % uuid.uuid4().hex[:8]
    admin = sa.create_engine(PG_ADMIN, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text('CREATE DATABASE %s' % name))
    admin.dispose()
    url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(
        hide_password=False)
    conf = service.make_conf()
    conf([], project='vp-bench', default_config_files=[])
    conf.set_override('connection', url, group='database')
    store = vp_api.Store(conf)
    vp_migration.upgrade(store)
    return name, url, store


def drop_database(name, store):
    store.dispose()
    admin = sa.create_engine(PG_ADMIN, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE %s WITH (FORCE)' % name))
    admin.dispose()


def count(store):
    return store.event_counts()['count']


def lost_duplicated(store, n):
    rows = list(store.iter_events_by_id(page_size=5000))
    indices = collections.Counter(e.payload['vp_test_index'] for e in rows)
    message_ids = {e.message_id for e in rows}
    return {'rows': len(rows), 'message_ids': len(message_ids),
            'lost': len(set(range(n)) - set(indices)),
            'duplicated': len(rows) - len(indices)}


# -- processes ------------------------------------------------------------

class Run:
    """One measurement: a database, a vhost, agents and a publisher."""

    def __init__(self, tmp, label, url_of_vhost, add_vhost, delete_vhost,
                 quorum=True, batch_size=10, failover_strategy=None):
        self.tmp = tmp
        self.label = label
        self.vhost = add_vhost()
        self._delete_vhost = delete_vhost
        self.url = url_of_vhost(self.vhost)
        self.quorum = quorum
        self.batch_size = batch_size
        self.failover_strategy = failover_strategy
        self.db_name, self.db_url, self.store = fresh_database()
        self.agents = []

    def agent(self, name):
        rabbit = dict(QUORUM['oslo_messaging_rabbit']) if self.quorum else {}
        if self.failover_strategy:
            rabbit['kombu_failover_strategy'] = self.failover_strategy
        path = helpers.write_config(
            os.path.join(self.tmp, '%s-%s.conf' % (self.label, name)),
            self.url, self.db_url,
            {'oslo_messaging_rabbit': rabbit} if rabbit else None,
            batch_size=self.batch_size, stats_interval=5)
        agent = helpers.Agent(path, os.path.join(
            self.tmp, '%s-%s.log' % (self.label, name)))
        self.agents.append(agent)
        return agent

    def publish(self, start, n, rate=0):
        argv = [PY, '-m', 'vitrage_persistor.tests.functional.persistor.'
                'hook_publisher', '--url', self.url, '--start', str(start),
                '--count', str(n), '--rate', str(rate)]
        if self.quorum:
            argv.append('--quorum')
        return subprocess.Popen(argv, stdout=subprocess.PIPE,  # noqa: S603
                                stderr=subprocess.STDOUT, text=True,
                                env=QUIET)

    @staticmethod
    def finish(proc, timeout=900):
        out, _ = proc.communicate(timeout=timeout)
        last = out.strip().splitlines()[-1] if out.strip() else ''
        if proc.returncode != 0 or not last.startswith('{'):
            raise SystemExit('hook publisher failed: %s' % out[-3000:])
        return json.loads(last)

    def close(self):
        for agent in self.agents:
            agent.cleanup()
        drop_database(self.db_name, self.store)
        self._delete_vhost(self.vhost)


class Watch:
    """Polls the row count; the longest time without a new row."""

    def __init__(self, store):
        self.store = store
        self.last = count(store)
        self.last_change = time.monotonic()  # when the count last moved
        self.longest_stall = 0.0
        self.first_row_at = None
        self.first_rows = 0

    def poll(self):
        now = time.monotonic()
        value = count(self.store)
        if value != self.last:
            self.longest_stall = max(self.longest_stall,
                                     now - self.last_change)
            self.last, self.last_change = value, now
            if self.first_row_at is None:
                self.first_row_at, self.first_rows = now, value
        return value

    def until(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate(self.poll()):
            if time.monotonic() > deadline:
                raise SystemExit('timed out waiting for %s (%d rows)' % (
                    what, self.last))
            time.sleep(0.1)


# -- faults ---------------------------------------------------------------

# How long the leader stays dead at most: an agent stuck on it (the
# round-robin loop, doc/source/rabbitmq-cluster.rst "The stuck consumer")
# then resumes when it is back, as an operator would restart it.
STUCK_S = 60


def fault_leader_kill(cluster, run, n):
    run.agent('agent').start()
    watch = Watch(run.store)
    pub = run.publish(0, n, rate=2000)
    watch.until(lambda c: c >= n // 4, 300, 'a quarter stored')
    leader = cluster.leader(run.vhost)
    on_leader = leader in cluster.consumer_nodes(run.vhost)
    watch.longest_stall = 0.0
    cluster.kill(leader)
    stats = run.finish(pub)
    stuck = False
    try:
        watch.until(lambda c: c >= n, STUCK_S, 'all stored')
    except SystemExit:
        stuck = True  # brought back below; the stall runs on until then
    new_leader = cluster.leader(run.vhost)
    if stuck:
        cluster.start_node(leader)
    watch.until(lambda c: c >= n, 600, 'all stored')
    time.sleep(2)
    if not stuck:
        cluster.start_node(leader)
    return dict(lost_duplicated(run.store, n), publisher=stats,
                stall_s=round(watch.longest_stall, 2), stuck=stuck,
                consumer_on_leader=on_leader,
                detail='killed leader %s (%s), new leader %s%s' % (
                    cluster.node(leader),
                    'the consumer\'s node' if on_leader else
                    'not the consumer\'s node', cluster.node(new_leader),
                    '; STUCK until it came back after %d s' % STUCK_S
                    if stuck else ''))


def fault_rolling(cluster, run, n):
    run.agent('agent').start()
    watch = Watch(run.store)
    pub = run.publish(0, n, rate=250)
    watch.until(lambda c: c >= 500, 300, 'first events')
    watch.longest_stall = 0.0
    t0 = time.monotonic()
    for node in (1, 2, 3):
        cluster.stop_node(node)
        watch.poll()
        cluster.start_node(node)
        cluster.wait_all_running()
        watch.poll()
    restart_s = time.monotonic() - t0
    stats = run.finish(pub)
    watch.until(lambda c: c >= n, 600, 'all stored')
    time.sleep(2)
    return dict(lost_duplicated(run.store, n), publisher=stats,
                stall_s=round(watch.longest_stall, 2),
                detail='three nodes restarted one by one in %.0f s'
                % restart_s)


def fault_agent_kill(cluster, run, n):
    run.agent('survivor').start()
    victim = run.agent('victim').start()
    watch = Watch(run.store)
    pub = run.publish(0, n, rate=2000)
    watch.until(lambda c: c >= n // 4, 300, 'a quarter stored')
    watch.longest_stall = 0.0
    victim.kill9()
    stats = run.finish(pub)
    watch.until(lambda c: c >= n, 600, 'all stored')
    time.sleep(2)
    return dict(lost_duplicated(run.store, n), publisher=stats,
                stall_s=round(watch.longest_stall, 2),
                detail='one of two agents kill -9ed at a quarter')


FAULTS = {'leader-kill': fault_leader_kill, 'rolling': fault_rolling,
          'agent-kill': fault_agent_kill}


# -- throughput -----------------------------------------------------------

def throughput(run, n, agents):
    stats = run.finish(run.publish(0, n))
    watch = Watch(run.store)
    t_start = time.monotonic()
    for i in range(agents):
        run.agent('agent%d' % i).start(wait_ready=False)
    watch.until(lambda c: c >= n, 900, 'all stored')
    # from the first commit to the last: the rows after the first commit
    first = watch.first_row_at or t_start
    seconds = watch.last_change - first
    rows = n - watch.first_rows
    if rows < n // 2:
        raise SystemExit('the first commit held %d of %d rows: too few '
                         'events to measure a rate' % (watch.first_rows, n))
    result = lost_duplicated(run.store, n)
    result.update(agents=agents, seconds=round(seconds, 2),
                  events_per_s=round(rows / seconds),
                  publish_events_per_s=round(n / stats['seconds']))
    return result


# -- machine broker (single node) ------------------------------------------

def single_add_vhost():
    vhost = 'vp-bench-%s' % uuid.uuid4().hex[:8]
    for args in (('add_vhost', vhost), ('set_permissions', '-p', vhost,
                                        'guest', '.*', '.*', '.*')):
        subprocess.run([RABBITMQCTL, *args], check=True,  # noqa: S603
                       capture_output=True, timeout=120)
    return vhost


def single_delete_vhost(vhost):
    subprocess.run([RABBITMQCTL, 'delete_vhost', vhost],  # noqa: S603
                   capture_output=True, timeout=120, check=False)


def single_url(vhost):
    return 'rabbit://guest:guest@127.0.0.1:5672/%s' % vhost


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=20000)
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument(
        '--batch-size', type=int, default=10,
        help='the agents\' [persistor] batch_size, in notifications: the '
             'publisher sends bundles of 100 events, so 10 is 1,000 events '
             'a batch and 20 notifications (2,000 events) of prefetch per '
             'agent; 500 (the default) lets one agent take a 20,000-event '
             'backlog whole')
    parser.add_argument('--skip-faults', action='store_true')
    parser.add_argument(
        '--faults', default=','.join(FAULTS),
        help='which faults, comma-separated (default: all of %s)'
        % ', '.join(FAULTS))
    parser.add_argument(
        '--leader-kill-rounds', type=int, default=1,
        help='run the leader kill this many times (a fresh vhost, database '
             'and agent each time): the stuck consumer was one run in five')
    parser.add_argument(
        '--failover-strategy', choices=('shuffle', 'round-robin'),
        help='the agents\' [oslo_messaging_rabbit] kombu_failover_strategy '
             '(default: the agent\'s own, shuffle)')
    parser.add_argument('--skip-throughput', action='store_true')
    args = parser.parse_args()
    n = args.n
    tmp = tempfile.mkdtemp(prefix='vp-bench-rmq-')
    cluster = rabbit_cluster.RabbitCluster('rabbit-vpb', 25700)
    results = {'n': n, 'batch_size': args.batch_size, 'faults': {},
               'failover_strategy': args.failover_strategy or 'shuffle',
               'throughput': []}
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    t0 = time.monotonic()
    try:
        print('starting the cluster ...', flush=True)
        cluster.start()
        print('cluster up in %.0f s' % (time.monotonic() - t0), flush=True)

        def cluster_run(label):
            return Run(tmp, label, cluster.url, cluster.add_vhost,
                       cluster.delete_vhost, batch_size=args.batch_size,
                       failover_strategy=args.failover_strategy)

        if not args.skip_faults:
            chosen = []
            for name in args.faults.split(','):
                rounds = (args.leader_kill_rounds if name == 'leader-kill'
                          else 1)
                chosen += [('%s#%d' % (name, i + 1) if i else name,
                            FAULTS[name]) for i in range(rounds)]
            for label, fault in chosen:
                cluster.wait_all_running()
                run = cluster_run(label)
                try:
                    res = fault(cluster, run, n)
                finally:
                    run.close()
                results['faults'][label] = res
                print('%-12s lost %d duplicated %d (rows %d, message ids '
                      '%d of %d), longest stall %.1f s; publisher dropped '
                      '%d, abandoned %d; %s' % (
                          label, res['lost'], res['duplicated'],
                          res['rows'], res['message_ids'], n,
                          res['stall_s'], res['publisher']['dropped'],
                          res['publisher']['abandoned'], res['detail']),
                      flush=True)
        if not args.skip_throughput:
            setups = [('single node, classic durable', 1, False, None),
                      ('single node, quorum', 1, True, None)]
            setups += [('cluster, quorum', k, True, cluster)
                       for k in (1, 2, 3)]
            for label, agents, quorum, where in setups:
                if where is None:
                    run = Run(tmp, 'single', single_url, single_add_vhost,
                              single_delete_vhost, quorum=quorum,
                              batch_size=args.batch_size)
                else:
                    cluster.wait_all_running()
                    run = cluster_run('tp%d' % agents)
                try:
                    res = throughput(run, n, agents)
                finally:
                    run.close()
                res['setup'] = label
                results['throughput'].append(res)
                print('%-30s %d agent(s): %6d events/s (%.1f s), lost %d, '
                      'duplicated %d' % (label, agents, res['events_per_s'],
                                         res['seconds'], res['lost'],
                                         res['duplicated']), flush=True)
            base = results['throughput'][0]['events_per_s']
            print('\nratios to the single node (classic durable, 1 agent):')
            for res in results['throughput']:
                print('  %-30s %d agent(s): %.2f' % (
                    res['setup'], res['agents'], res['events_per_s'] / base))
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
