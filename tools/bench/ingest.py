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

"""Benchmark: events/s from a pre-filled queue to committed rows.

Not a test: it prints figures, each next to baselines measured in the same
run, on the same broker, with the same events:

* ``vitrage-style``: what Vitrage's own persistor does, a plain
  (non-batch) notification listener whose endpoint makes one ORM
  session and one commit per event;
* ``ceiling``: a batch listener whose endpoint discards the messages, the
  most oslo.messaging + RabbitMQ can deliver to one process;
* ``agent 1w`` / ``agent 2w``: the real ``vitrage-persistor-agent``
  command with ``[persistor] workers`` 1 and 2.

Before each run the queue ``vitrage_persistor.sample`` of a fresh vhost
is filled with N enriched events (Vitrage's mock driver events, about
1 KB, in our envelope) by separate publisher processes; the consumer is
started afterwards. The rate is measured from the first commit to the
last, so process start-up is not counted. CPU is the time each process
group (consumer, RabbitMQ, database server) spent in that window, in
percent of one core.

CPU is also shown per event for the consumer (``us/ev``): the rate of
one process is its CPU per event, and that figure moves much less than
the rate when other jobs share the machine.

Usage::

    python tools/bench/ingest.py [--n 20000] \
        [--backends postgresql,mysql,sqlite] [--before DIR] \
        [--agent-opt GROUP.NAME=VALUE ...] [--agent-only]

``--before DIR`` also runs the agent from an older checkout (e.g.
``git archive <rev> vitrage_persistor alembic | tar -x -C DIR``) in the
same run, so a change is compared under the same load.
"""

import argparse
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

# isort: off
# Selects oslo.service's threading backend; it must come before anything
# that imports oslo.service (oslo.messaging does).
import vitrage_persistor.cmd  # noqa: F401
# isort: on

import oslo_messaging
import sqlalchemy as sa
from sqlalchemy import orm

from vitrage_persistor import service
from vitrage_persistor.persistor import transport as vp_transport
from vitrage_persistor.persistor import validation as vp_validation
from vitrage_persistor.storage import api as vp_api
from vitrage_persistor.storage import migration as vp_migration
from vitrage_persistor.storage import models as vp_models
from vitrage_persistor.storage import records as vp_records

PY = sys.executable
HZ = os.sysconf('SC_CLK_TCK')
DEFAULT_URLS = {
    'postgresql': 'postgresql+psycopg2://openstack_citest:openstack_citest'
                  '@127.0.0.1/openstack_citest',
    'mysql': 'mysql+pymysql://openstack_citest:openstack_citest'
             '@127.0.0.1/openstack_citest?charset=utf8mb4',
}
QUIET = dict(os.environ, PYTHONWARNINGS='ignore')


# -- process accounting ---------------------------------------------------

def _proc_stats():
    """{pid: (comm, pgrp, cpu seconds)} for every process on the host."""
    out = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                data = f.read()
        except OSError:
            continue
        comm = data[data.index('(') + 1:data.rindex(')')]
        fields = data[data.rindex(')') + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / HZ
        out[int(pid)] = (comm, int(fields[2]), cpu)
    return out


def _group_of(comm, pgrp, consumer_pgid):
    if pgrp == consumer_pgid:
        return 'consumer'
    if comm.startswith('beam'):
        return 'rabbitmq'
    if comm in ('postgres', 'postmaster', 'mariadbd', 'mysqld'):
        return 'database'
    return None


def _cpu_sample(consumer_pgid):
    """{pid: (group, cpu seconds)} for the processes we account."""
    sample = {}
    for pid, (comm, pgrp, cpu) in _proc_stats().items():
        group = _group_of(comm, pgrp, consumer_pgid)
        if group:
            sample[pid] = (group, cpu)
    return sample


def _cpu_delta(first, end):
    """CPU seconds per group between two samples.

    Summed per pid, so a process that starts in between counts from zero
    and one that ends (its share is lost) never makes a group negative.
    """
    groups = {'consumer': 0.0, 'rabbitmq': 0.0, 'database': 0.0}
    for pid, (group, cpu) in end.items():
        before = first.get(pid)
        groups[group] += cpu - (before[1] if before else 0.0)
    return groups


# -- fixtures ---------------------------------------------------------------

RABBITMQCTL = shutil.which('rabbitmqctl') or '/usr/sbin/rabbitmqctl'


def spawn(argv, pythonpath=None, **kwargs):
    """Start one of our own commands (fixed argv, no shell)."""
    env = QUIET
    if pythonpath:
        env = dict(QUIET, PYTHONPATH=pythonpath)
    return subprocess.Popen(argv, env=env, **kwargs)  # noqa: S603


def rabbitmqctl(*args):
    subprocess.run([RABBITMQCTL, *args], check=True,  # noqa: S603
                   capture_output=True, timeout=120)


def fresh_vhost():
    vhost = 'vp-bench-%s' % uuid.uuid4().hex[:8]
    rabbitmqctl('add_vhost', vhost)
    rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*')
    return vhost, 'rabbit://guest:guest@127.0.0.1:5672/%s' % vhost


def queue_depth(vhost, name='vitrage_persistor.sample'):
    out = subprocess.run(  # noqa: S603
        [RABBITMQCTL, 'list_queues', '-q', '--no-table-headers', '-p',
         vhost, 'name', 'messages'], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return int(parts[1])
    return 0


def fill(url, vhost, n, publishers=3, per_message=1):
    """Fill the queue with N events from separate publisher processes.

    ``per_message`` > 1: in bundles of that many events, as the hooks'
    senders send them when vitrage-graph is busy.
    """
    t0 = time.monotonic()
    share = n // publishers
    procs = []
    messages = 0
    for i in range(publishers):
        count = share if i < publishers - 1 else n - share * i
        messages += -(-count // per_message)
        procs.append(spawn(
            [PY, '-m', 'vitrage_persistor.tests.functional.persistor.'
             'publisher', '--url', url, '--start', str(i * share),
             '--count', str(count), '--per-message', str(per_message)],
            stdout=subprocess.DEVNULL))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit('publisher failed')
    depth = queue_depth(vhost)
    if depth != messages:
        raise SystemExit('queue holds %d messages, expected %d'
                         % (depth, messages))
    return n / (time.monotonic() - t0)


def peak_rss_mb(pgid):
    """Largest peak RSS (VmHWM) of the processes of a process group."""
    peak = 0
    for pid, (_comm, pgrp, _cpu) in _proc_stats().items():
        if pgrp != pgid:
            continue
        try:
            with open('/proc/%d/status' % pid) as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def fresh_database(backend, tmp):
    """A new empty, migrated database; returns its URL."""
    name = 'vp_bench_%s' % uuid.uuid4().hex[:8]
    if backend == 'sqlite':
        url = 'sqlite:///%s/%s.sqlite' % (tmp, name)
    else:
        admin = sa.create_engine(DEFAULT_URLS[backend],
                                 isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % name))
        admin.dispose()
        base = sa.engine.make_url(DEFAULT_URLS[backend])
        url = base.set(database=name).render_as_string(hide_password=False)
    conf = service.make_conf()
    conf([], project='vp-bench', default_config_files=[])
    conf.set_override('connection', url, group='database')
    store = vp_api.Store(conf)
    vp_migration.upgrade(store)
    store.dispose()
    return name, url


def drop_database(backend, name):
    if backend == 'sqlite':
        return
    admin = sa.create_engine(DEFAULT_URLS[backend],
                             isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE %s' % name))
    admin.dispose()


def db_count(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text('SELECT count(*) FROM event')).scalar()


# -- consumers other than the agent (run as `ingest.py consume ...`) -------

def _consumer_conf(url, db_url):
    conf = service.make_conf()
    vp_transport.set_defaults(conf)
    conf([], project='vp-bench', default_config_files=[])
    conf.set_override('transport_url', url)
    if db_url:
        conf.set_override('connection', db_url, group='database')
    return conf


def consume(mode, url, db_url, progress_file):
    conf = _consumer_conf(url, db_url)
    transport = oslo_messaging.get_notification_transport(conf)
    target = oslo_messaging.Target(topic='vitrage_persistor')
    seen = [0]

    def report():
        with open(progress_file + '.tmp', 'w') as f:
            f.write(str(seen[0]))
        os.replace(progress_file + '.tmp', progress_file)

    if mode == 'ceiling':
        class Discard:
            def sample(self, messages):
                seen[0] += len(messages)
                report()

        listener = oslo_messaging.get_batch_notification_listener(
            transport, [target], [Discard()], allow_requeue=True,
            batch_size=500, batch_timeout=0.2)
    else:
        # Vitrage 15.0.1's persistor: plain listener, executor threading,
        # one DB session and commit per notification
        # (vitrage/persistency/service.py, storage/impl_sqlalchemy.py).
        engine_args = {'pool_size': 10, 'max_overflow': 64}
        if db_url.startswith('sqlite'):
            engine_args = {'connect_args': {'timeout': 60}}
        engine = sa.create_engine(db_url, **engine_args)
        lock = threading.Lock()

        class PerEvent:
            def sample(self, ctxt, publisher_id, event_type, payload,
                       metadata):
                item = vp_validation.classify(
                    {'publisher_id': publisher_id, 'event_type': event_type,
                     'payload': payload, 'metadata': metadata}, 1 << 22)
                with orm.Session(engine) as session, session.begin():
                    session.add(vp_models.Event(
                        message_id=item.message_id,
                        collector_timestamp=vp_records.utc_naive(
                            item.collector_timestamp),
                        publisher_id=item.publisher_id,
                        sequence=item.sequence, event_type=item.event_type,
                        entity_type=item.entity_type,
                        datasource_action=item.datasource_action,
                        stored_at=item.collector_timestamp,
                        payload=item.payload_json))
                with lock:
                    seen[0] += 1

        listener = oslo_messaging.get_notification_listener(
            transport, [target], [PerEvent()], allow_requeue=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    listener.start()
    while not stop.wait(0.5):
        pass
    listener.stop()
    listener.wait()
    report()
    os._exit(0)


# -- measurement -------------------------------------------------------------

def measure(label, start_consumer, progress, n, timeout=300):
    """Start a consumer on a full queue; time first to last event."""
    proc = start_consumer()
    pgid = proc.pid
    t_first = c_first = cpu_first = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            count = progress()
            now = time.monotonic()
            if t_first is None and count > 0:
                t_first, c_first = now, count
                cpu_first = _cpu_sample(pgid)
            if count >= n:
                cpu_end = _cpu_sample(pgid)
                rss = peak_rss_mb(pgid)
                break
            if now > deadline or proc.poll() is not None:
                raise SystemExit('%s: stuck at %d/%d' % (label, count, n))
            # count(*) costs the database too: poll at 10 Hz, not faster.
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
    wall = max(now - t_first, 1e-6)
    rate = (n - c_first) / wall
    cpu = {k: 100.0 * v / wall
           for k, v in _cpu_delta(cpu_first, cpu_end).items()}
    return {'label': label, 'rate': rate, 'seconds': wall, 'cpu': cpu,
            'rss_mb': rss}


def _extra_conf(agent_opts):
    """INI text for ``--agent-opt group.name=value`` overrides."""
    sections = {}
    for item in agent_opts or ():
        key, _, value = item.partition('=')
        group, _, name = key.rpartition('.')
        sections.setdefault(group or 'DEFAULT', []).append(
            '%s = %s' % (name, value))
    return ''.join('[%s]\n%s\n' % (group, '\n'.join(lines))
                   for group, lines in sections.items())


def run_backend(backend, n, tmp, results, ceiling, before=None,
                agent_opts=None, agent_only=False, per_message=1):
    runs = [('vitrage-style', None, None, 1), ('agent 1w', 1, None, 1),
            ('agent 2w', 2, None, 1)]
    if before:
        runs[1:1] = [('agent 1w before', 1, before, 1),
                     ('agent 2w before', 2, before, 1)]
    if agent_only:
        runs = runs[1:]
    if per_message > 1:
        runs.append(('agent 1w bundles', 1, None, per_message))
    for label, workers, pythonpath, per in runs:
        vhost, url = fresh_vhost()
        name, db_url = fresh_database(backend, tmp)
        engine = sa.create_engine(db_url)
        try:
            pub_rate = fill(url, vhost, n, per_message=per)
            if workers is None:
                argv = [PY, os.path.abspath(__file__), 'consume',
                        'vitrage-style', url, db_url,
                        os.path.join(tmp, 'progress')]
            else:
                conf_path = os.path.join(tmp, 'agent.conf')
                with open(conf_path, 'w') as f:
                    f.write('[DEFAULT]\ntransport_url = %s\n'
                            '[database]\nconnection = %s\n'
                            '[persistor]\nworkers = %d\nbatch_size = 500\n'
                            'batch_timeout = 0.2\nstats_interval = 0\n'
                            % (url, db_url, workers))
                    f.write(_extra_conf(agent_opts))
                argv = [PY, '-m', 'vitrage_persistor.cmd.agent',
                        '--config-file', conf_path]
            log = open(os.path.join(tmp, 'consumer.log'), 'a')
            res = measure('%s %s' % (backend, label),
                          functools.partial(spawn, argv,
                                            pythonpath=pythonpath,
                                            start_new_session=True,
                                            stdout=log, stderr=log),
                          functools.partial(db_count, engine), n)
            log.close()
            res['publish_rate'] = pub_rate
            res['backend'] = backend
            res['stored'] = db_count(engine)
            results.append(res)
            print_row(res, ceiling)
        finally:
            engine.dispose()
            drop_database(backend, name)
            rabbitmqctl('delete_vhost', vhost)


def run_ceiling(n, tmp):
    vhost, url = fresh_vhost()
    try:
        fill(url, vhost, n)
        progress_file = os.path.join(tmp, 'ceiling.progress')

        def progress():
            try:
                with open(progress_file) as f:
                    return int(f.read() or 0)
            except (OSError, ValueError):
                return 0

        start = functools.partial(
            spawn, [PY, os.path.abspath(__file__), 'consume', 'ceiling',
                    url, '', progress_file], start_new_session=True,
            stdout=subprocess.DEVNULL)
        res = measure('ceiling (discard)', start, progress, n)
        res['backend'] = '-'
        return res
    finally:
        rabbitmqctl('delete_vhost', vhost)


def print_row(res, ceiling=None):
    cpu = res['cpu']
    extra = ''
    if ceiling and res.get('backend') != '-':
        extra = '  %.2f x ceiling' % (res['rate'] / ceiling['rate'])
    # CPU per event of the consumer: what one process can afford, and
    # less sensitive than the rate to other load on the machine.
    us_per_event = 1e4 * cpu['consumer'] / max(res['rate'], 1e-6)
    print('%-28s %8.0f ev/s  %6.1fs  cpu%%: consumer %5.0f rabbitmq %4.0f '
          'db %4.0f  consumer %4.0f us/ev  peak rss %4.0f MB%s' % (
              res['label'], res['rate'], res['seconds'], cpu['consumer'],
              cpu['rabbitmq'], cpu['database'], us_per_event,
              res.get('rss_mb', 0), extra))
    sys.stdout.flush()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == 'consume':
        return consume(*sys.argv[2:6])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=20000)
    parser.add_argument('--backends', default='postgresql,mysql,sqlite')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument(
        '--before', metavar='DIR',
        help='also run the agent from an older checkout (a directory with '
             'vitrage_persistor/ and alembic/, e.g. from "git archive"), '
             'as "agent 1w/2w before", in the same run')
    parser.add_argument(
        '--agent-opt', action='append', metavar='GROUP.NAME=VALUE',
        help='an extra option for the agent runs (repeatable), e.g. '
             'oslo_messaging_rabbit.rabbit_qos_prefetch_count=1000')
    parser.add_argument('--per-message', type=int, default=100,
                        help='also run the agent on the same events in '
                             'bundles of this many ("agent 1w bundles"; '
                             '1: no such run)')
    parser.add_argument('--agent-only', action='store_true',
                        help='skip the vitrage-style baseline runs')
    args = parser.parse_args()
    if not os.path.exists(RABBITMQCTL):
        raise SystemExit('rabbitmqctl is needed to make vhosts')
    from vitrage_persistor.tests.functional.persistor import events
    print('N = %d events, average %.0f bytes of JSON, %d cores' % (
        args.n, events.average_size(), os.cpu_count()))
    tmp = tempfile.mkdtemp(prefix='vp-bench-')
    results = []
    ceiling = run_ceiling(args.n, tmp)
    print_row(ceiling)
    results.append(ceiling)
    for backend in args.backends.split(','):
        run_backend(backend, args.n, tmp, results, ceiling, args.before,
                    args.agent_opt, args.agent_only, args.per_message)
    print()
    print('ratios (same run):')
    for backend in args.backends.split(','):
        rows = {r['label'].split(' ', 1)[1]: r for r in results
                if r['backend'] == backend}
        one, two = rows['agent 1w'], rows['agent 2w']
        base = rows.get('vitrage-style')
        print('  %-10s agent 1w / vitrage-style = %5s   agent 1w / '
              'ceiling = %4.2f   2 workers / 1 worker = %4.2f' % (
                  backend,
                  '%.1f' % (one['rate'] / base['rate']) if base else '-',
                  one['rate'] / ceiling['rate'],
                  two['rate'] / one['rate']))
        if 'agent 1w bundles' in rows:
            print('  %-10s agent 1w, events in bundles of %d / one event '
                  'per message = %4.2f' % (
                      backend, args.per_message,
                      rows['agent 1w bundles']['rate'] / one['rate']))
        if 'agent 1w before' in rows:
            old1, old2 = rows['agent 1w before'], rows['agent 2w before']
            print('  %-10s before: agent 1w / ceiling = %4.2f   2 workers / '
                  '1 worker = %4.2f   agent 1w now / before = %4.2f' % (
                      backend, old1['rate'] / ceiling['rate'],
                      old2['rate'] / old1['rate'],
                      one['rate'] / old1['rate']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
