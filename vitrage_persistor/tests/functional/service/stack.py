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

"""The real Vitrage 15.0.1 services, on this machine, as a fixture.

``VitrageStack`` runs what a Vitrage controller runs, each its own
process group, on a fresh RabbitMQ vhost and a fresh MariaDB database:

* ``vitrage-dbsync`` for Vitrage's own tables;
* ``vitrage-persistor-graph`` (Vitrage's unmodified ``vitrage-graph`` with
  the persistor hooks installed), with one evaluator and one API worker;
  its datasources need no cloud: ``static`` from a YAML file (a host and
  its instances) and ``doctor``, pushed with ``vitrage event post``;
* ``vitrage-api`` in noauth mode (its ``api-paste.ini`` comes from the
  sdist, ``tools/fetch-vitrage-etc.sh``);
* Vitrage's own ``vitrage-persistor``, which writes the alarm history
  that ``vitrage alarm list``, ``alarm history`` and ``rca show`` read.

:meth:`VitrageStack.vitrage` runs the real ``python-vitrageclient`` CLI
against it. Nothing here imports vitrage-graph's internals: the graph is
asked through its API, as operators ask it.
"""

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import fixtures
import pymysql

from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers

BIN = os.path.dirname(sys.executable)
STATIC = '''metadata:
  name: persistor test cloud
definitions:
  entities:
    - static_id: host-1
      type: nova.host
      id: host-1
      name: host-1
      state: available
%(instances)s
  relationships:
%(relationships)s
'''


def vitrage_etc_dir() -> str:
    """Vitrage's etc/vitrage from its sdist, fetched once per machine."""
    path = os.environ.get('VP_VITRAGE_ETC_DIR') or os.path.join(
        tempfile.gettempdir(), 'vitrage-persistor-etc-vitrage-15.0.1')
    if os.path.isfile(os.path.join(path, 'api-paste.ini')):
        return path
    with open(path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isfile(os.path.join(path, 'api-paste.ini')):
            subprocess.run(
                ['bash', os.path.join(func_fixtures.REPO, 'tools',
                                      'fetch-vitrage-etc.sh'), path],
                check=True, capture_output=True, timeout=600,
                env=dict(os.environ, PYTHON=sys.executable))
    return path


def _without_uwsgi(environ) -> dict:
    """``environ`` with no ``uwsgi`` executable on its PATH.

    vitrage-api 15.0.1 execs the first ``uwsgi`` it finds on PATH
    (``vitrage.api.app.build_server``) with ``--pyargv`` for its config
    file. The test run's PATH starts with the venv, whose ``uwsgi`` is
    pyuwsgi (the persistor API's tests serve with it), and under pyuwsgi
    that argument never reaches Vitrage's app: vitrage-api then answers
    every request with a 500 ("no python application found"). Without
    uwsgi on PATH vitrage-api serves with its own built-in server.
    """
    env = dict(environ)
    env['PATH'] = os.pathsep.join(
        d for d in env.get('PATH', '').split(os.pathsep)
        if d and not os.path.exists(os.path.join(d, 'uwsgi')))
    return env


def bench_agent(state_dir: str, transport_url: str, db_url: str):
    """A migrated store and a started agent, for the benchmarks.

    Returns ``(agent, config_path)``; ``agent.cleanup()`` stops it.
    """
    from vitrage_persistor import service
    from vitrage_persistor.storage import api, migration

    config = helpers.write_config(os.path.join(state_dir, 'agent.conf'),
                                  transport_url, db_url)
    conf = service.make_conf()
    conf(['--config-file', config], project='vitrage-persistor')
    store = api.Store.from_conf(conf)
    migration.upgrade(store)
    store.dispose()
    agent = helpers.Agent(config, os.path.join(state_dir, 'agent.log'))
    return agent.start(), config


def doctor_notifier(transport_url: str):
    """Send what ``vitrage event post`` sends, straight to vitrage-graph.

    An oslo.messaging notifier on Vitrage's own exchange and
    ``vitrage_notifications`` topic, for the benchmarks that push
    thousands of events (``vitrage-api`` would add an RPC call each).
    ``.send(name, host)`` raises a doctor alarm called ``name`` on
    ``host``; each new name makes a new alarm vertex.
    """
    import datetime

    import oslo_messaging
    from oslo_config import cfg
    from oslo_messaging import opts as messaging_opts

    conf = cfg.ConfigOpts()
    for group, options in messaging_opts.list_opts():
        conf.register_opts(list(options), group=group)
    conf.set_override('control_exchange', 'vitrage')
    transport = oslo_messaging.get_notification_transport(
        conf, url=transport_url)
    notifier = oslo_messaging.Notifier(
        transport, driver='messagingv2', publisher_id='bench',
        topics=['vitrage_notifications'])

    class Doctor:
        def send(self, name: str, host: str = 'host-1') -> None:
            notifier.info({}, 'vitrage.custom.event.down', {
                'type': name,
                'time': datetime.datetime.now(datetime.UTC).strftime(
                    '%Y-%m-%dT%H:%M:%S.%f'),
                'details': {'hostname': host, 'source': 'bench',
                            'cause': 'link-down', 'severity': 'critical',
                            'status': 'down', 'monitor_id': 'bench',
                            'monitor_event_id': name}})

        def close(self) -> None:
            transport.cleanup()

    return Doctor()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class VitrageStack(fixtures.Fixture):
    """vitrage-graph (with the hooks), vitrage-api and Vitrage's persistor.

    ``instances`` names the instances the static datasource puts on
    host-1. ``.transport_url`` is the vhost the hooks publish to, so an
    agent started on it stores what vitrage-graph processed.
    """

    def __init__(self, state_dir: str, instances=('vm-1', 'vm-2'),
                 hooks: str = 'collector', rabbit=None,
                 hooks_options: dict | None = None):
        super().__init__()
        self.state_dir = state_dir
        self.instances = instances
        self.hooks = hooks
        self.rabbit = rabbit
        self.hooks_options = hooks_options or {}
        self.procs = {}

    def _setUp(self):
        if self.rabbit is None:
            self.rabbit = self.useFixture(func_fixtures.RabbitVhost())
        rabbit = self.rabbit
        self.transport_url = rabbit.url
        self.db_name = 'vp%d_vitrage_%s' % (os.getpid(), uuid.uuid4().hex[:8])
        self._mysql('CREATE DATABASE %s CHARACTER SET utf8mb4' % self.db_name)
        self.addCleanup(self._mysql, 'DROP DATABASE IF EXISTS %s' %
                        self.db_name)
        etc = vitrage_etc_dir()
        static_dir = os.path.join(self.state_dir, 'static')
        os.makedirs(static_dir, exist_ok=True)
        with open(os.path.join(static_dir, 'cloud.yaml'), 'w') as f:
            f.write(STATIC % {
                'instances': '\n'.join(
                    '    - static_id: %s\n      type: nova.instance\n'
                    '      id: %s\n      name: %s\n      state: ACTIVE\n'
                    '      project_id: demo' % (vm, vm, vm)
                    for vm in self.instances),
                'relationships': '\n'.join(
                    '    - source: host-1\n      target: %s\n'
                    '      relationship_type: contains' % vm
                    for vm in self.instances)})
        self.port = free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.log_dir = os.path.join(self.state_dir, 'vitrage-logs')
        os.makedirs(self.log_dir, exist_ok=True)
        self.values_dir = os.path.join(etc, 'datasources_values')
        self.config_file = os.path.join(self.state_dir, 'vitrage.conf')
        self._static_dir = static_dir
        self._etc = etc
        self._write_config()
        self._run('vitrage-dbsync')
        self.start()

    def _write_config(self) -> None:
        with open(self.config_file, 'w') as f:
            f.write(
                '[DEFAULT]\ntransport_url = %(url)s\nlog_dir = %(logs)s\n'
                '[database]\nconnection = mysql+pymysql://%(db_user)s@'
                '127.0.0.1/%(db)s\n'
                '[datasources]\ntypes = static,doctor\n'
                'snapshots_interval = 600\n'
                '[static]\ndirectory = %(static)s\n'
                '[entity_graph]\ndatasources_values_dir = %(values)s\n'
                '[evaluator]\nworkers = 1\n'
                '[api]\nauth_mode = noauth\npaste_config = %(paste)s\n'
                'host = 127.0.0.1\nport = %(port)d\nworkers = 1\n'
                '[persistor_hooks]\ntransport_url = %(url)s\n'
                'hooks = %(hooks)s\n%(options)s' % {
                    'options': ''.join('%s = %s\n' % item for item in
                                       sorted(self.hooks_options.items())),
                    'url': self.transport_url, 'logs': self.log_dir,
                    'db_user': 'root', 'db': self.db_name,
                    'static': self._static_dir, 'values': self.values_dir,
                    'paste': os.path.join(self._etc, 'api-paste.ini'),
                    'port': self.port, 'hooks': self.hooks})

    def reconfigure(self, **hooks_options) -> None:
        """Change ``[persistor_hooks]`` options for the next start."""
        self.hooks_options.update(hooks_options)
        self._write_config()

    @staticmethod
    def _mysql(statement: str) -> None:
        conn = pymysql.connect(host='127.0.0.1', user='root', password='')
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
        finally:
            conn.close()

    def _run(self, command: str) -> None:
        result = subprocess.run(
            [os.path.join(BIN, command), '--config-file', self.config_file],
            capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            raise RuntimeError('%s failed: %s' % (command,
                                                  result.stderr[-3000:]))

    def _spawn(self, name: str, command: str) -> None:
        out = open(os.path.join(self.log_dir, '%s.out' % name), 'a')
        self.procs[name] = subprocess.Popen(
            [os.path.join(BIN, command), '--config-file', self.config_file],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env=_without_uwsgi(os.environ))
        out.close()

    def graph_log(self) -> str:
        path = os.path.join(self.log_dir, 'vitrage-persistor-graph.log')
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def start(self, timeout: float = 180) -> None:
        """Start the three services and wait until the API answers."""
        self.addCleanup(self.stop)
        self._spawn('api', 'vitrage-api')
        self._spawn('persistor', 'vitrage-persistor')
        self.start_graph(timeout)

    def start_graph(self, timeout: float = 180) -> None:
        """(Re)start vitrage-graph; wait for "Init Finished" and the API."""
        seen = self.graph_log().count('Init Finished')
        self._spawn('graph', 'vitrage-persistor-graph')
        try:
            helpers.wait_for(
                lambda: self.graph_log().count('Init Finished') > seen,
                timeout, what='vitrage-graph "Init Finished"')
            helpers.wait_for(self._answers, timeout, what='vitrage-api')
        except AssertionError as exc:
            raise AssertionError('%s\n%s' % (exc, self.logs_tail())) from None

    def logs_tail(self, size: int = 3000) -> str:
        """The end of every service's log, for a failure message."""
        parts = []
        for name in sorted(os.listdir(self.log_dir)):
            with open(os.path.join(self.log_dir, name),
                      errors='replace') as f:
                parts.append('--- %s\n%s' % (name, f.read()[-size:]))
        return '\n'.join(parts)

    def kill9_graph(self) -> None:
        """``kill -9`` vitrage-graph's whole process group: a crash."""
        proc = self.procs.pop('graph')
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def forget_vitrage_graph(self) -> None:
        """Empty Vitrage's own graph persistence (its rows and pickle)."""
        for table in ('graph_snapshots', 'events'):
            # fixed table names of Vitrage's schema, not input
            self._mysql('DELETE FROM %s.%s' % (  # noqa: S608
                self.db_name, table))

    def vitrage_db_count(self, table: str) -> int:
        """Rows in one of Vitrage's own tables."""
        # a fixed table name of Vitrage's schema, not input
        return self.vitrage_db_rows(
            'SELECT COUNT(*) FROM %s' % table)[0][0]  # noqa: S608

    def alarm_count(self) -> int:
        """Alarms vitrage-api counts (one HTTP call, admin in noauth)."""
        request = urllib.request.Request(
            self.endpoint + '/v1/alarm/count/?all_tenants=true',
            headers={'X-User-Id': 'admin', 'X-Project-Id': 'admin',
                     'X-Roles': 'admin'})
        with urllib.request.urlopen(request, timeout=60) as response:
            return sum(json.load(response).values())

    def vitrage_db_rows(self, statement: str, args=None) -> list:
        """Rows of a query on Vitrage's own database."""
        conn = pymysql.connect(host='127.0.0.1', user='root', password='',
                               database=self.db_name)
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, args)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def _answers(self) -> bool:
        try:
            self.vitrage('topology', 'show', '--all-tenants')
            return True
        except AssertionError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> None:
        """Stop every service (its whole process group)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
        self.procs = {}

    def vitrage(self, *args, endpoint: str | None = None, as_json=True):
        """The real vitrageclient CLI, as admin in noauth mode."""
        cmd = [os.path.join(BIN, 'vitrage'), '--os-auth-type',
               'vitrage-noauth', '--endpoint', endpoint or self.endpoint,
               '--user-id', 'admin', '--project-id', 'admin', '--roles',
               'admin', *args]
        if as_json and args[0] in ('alarm', 'template', 'resource') and \
                args[1] in ('list', 'history', 'show'):
            cmd += ['-f', 'json']
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode != 0:
            raise AssertionError('%s failed (%d): %s' % (
                ' '.join(args), result.returncode, result.stderr[-3000:]))
        return json.loads(result.stdout) if as_json else result.stdout

    def add_template(self, path: str) -> None:
        self.vitrage('template', 'add', '--path', path, as_json=False)
        name = None
        with open(path) as f:
            for line in f:
                if line.strip().startswith('name:'):
                    name = line.split(':', 1)[1].strip()
                    break
        helpers.wait_for(
            lambda: any(t['Name'] == name and t['Status'] == 'ACTIVE'
                        for t in self.vitrage('template', 'list')),
            120, what='template %s ACTIVE' % name)

    def host_event(self, host: str, down: bool = True,
                   event_id: str | None = None) -> None:
        """A doctor monitor reports ``host`` down (or up again)."""
        self.vitrage('event', 'post', '--type', 'compute.host.down',
                     '--details', json.dumps({
                         'hostname': host, 'source': 'sample_monitor',
                         'cause': 'link-down', 'severity': 'critical',
                         'status': 'down' if down else 'up',
                         'monitor_id': 'monitor-1',
                         'monitor_event_id': event_id or 'event-%s' % host}),
                     as_json=False)
