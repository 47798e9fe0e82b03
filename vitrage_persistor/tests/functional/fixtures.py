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

"""Fixtures for functional tests against real servers.

Databases come from oslo.db's opportunistic provisioning (the
``openstack_citest`` user that ``tools/test-setup.sh`` creates). An
unreachable PostgreSQL or MariaDB *fails* the test with oslo.db's reason; it
is never turned into a skip, so CI cannot go green without them.

RabbitMQ gets a fresh vhost per test, made with ``rabbitmqctl``, because a
competing consumer left on a shared queue would steal messages.
"""

import contextlib
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import uuid

import fixtures
from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import migration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class OpportunisticDB(test_fixtures.OpportunisticDBTestMixin):
    """Mixin: ``self.store`` on a fresh, migrated database of one backend.

    Subclass together with a test case that defines ``FIXTURE``:
    ``test_fixtures.OpportunisticDbFixture`` (SQLite),
    ``MySQLOpportunisticFixture`` or ``PostgresqlOpportunisticFixture``.
    """

    FIXTURE = test_fixtures.OpportunisticDbFixture
    SKIP_ON_UNAVAILABLE_DB = False
    MIGRATE = True

    def setUp(self):
        super().setUp()
        provisioned = self._get_default_provisioned_db()
        url = provisioned.engine.url.render_as_string(hide_password=False)
        if url.startswith('sqlite'):
            # oslo.db hands SQLite tests an in-memory database that each
            # new engine would see empty; use a file instead.
            url = 'sqlite:///%s/test.sqlite' % self.state_dir
        self.db_url = url
        self.config(connection=url, group='database')
        self.store = storage_api.Store(self.conf)
        self.addCleanup(self.store.dispose)
        if self.MIGRATE:
            migration.upgrade(self.store)


def backend_classes(name, bases, namespace):
    """Build one concrete test class per backend from an abstract case."""
    classes = {}
    for suffix, fixture in (('SQLite', test_fixtures.OpportunisticDbFixture),
                            ('PostgreSQL',
                             test_fixtures.PostgresqlOpportunisticFixture),
                            ('MariaDB',
                             test_fixtures.MySQLOpportunisticFixture)):
        cls_name = '%s%s' % (name, suffix)
        classes[cls_name] = type(cls_name, bases, dict(
            namespace, FIXTURE=fixture, __module__=bases[0].__module__))
    return classes


def rabbitmqctl(*args: str, check: bool = True) -> str:
    exe = shutil.which('rabbitmqctl')
    if exe is None:
        raise RuntimeError('rabbitmqctl not found: run tools/test-setup.sh')
    result = subprocess.run([exe, *args], capture_output=True, text=True,
                            timeout=60, check=False)
    if check and result.returncode != 0:
        raise RuntimeError('rabbitmqctl %s failed: %s' % (
            ' '.join(args), result.stderr.strip() or result.stdout.strip()))
    return result.stdout


class RabbitVhost(fixtures.Fixture):
    """A fresh RabbitMQ vhost, deleted afterwards; ``.url`` is its URL."""

    def __init__(self, host=None, port=None):
        super().__init__()
        self.host = host or os.environ.get('VP_RABBIT_HOST', '127.0.0.1')
        self.port = port or int(os.environ.get('VP_RABBIT_PORT', 5672))

    def _setUp(self):
        self.vhost = 'vp-test-%s' % uuid.uuid4().hex[:12]
        rabbitmqctl('add_vhost', self.vhost)
        self.addCleanup(rabbitmqctl, 'delete_vhost', self.vhost,
                        check=False)
        rabbitmqctl('set_permissions', '-p', self.vhost, 'guest',
                    '.*', '.*', '.*')
        self.url = 'rabbit://guest:guest@%s:%d/%s' % (self.host, self.port,
                                                      self.vhost)

    def set_dead_letter_policy(self, topic: str = 'vitrage_persistor',
                               exchange: str = 'vitrage_persistor.dead'
                               ) -> None:
        """Dead-letter the agent's queue with the script the docs give."""
        script = os.path.join(REPO, 'tools', 'rabbitmq-dead-letter-policy.sh')
        result = subprocess.run(['bash', script, self.vhost, topic, exchange],
                                capture_output=True, text=True, timeout=60,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError('%s failed: %s' % (script, result.stderr))

    def queues(self) -> dict[str, int]:
        """``{queue name: messages ready + unacked}`` in this vhost."""
        out = rabbitmqctl('list_queues', '-q', '--no-table-headers', '-p',
                          self.vhost, 'name', 'messages')
        queues = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                queues[parts[0]] = int(parts[1])
        return queues


class TcpProxy:
    """A TCP forwarder that a test takes down and brings back.

    It stands in front of a real server (RabbitMQ, PostgreSQL, MariaDB).
    While closed nothing listens on its port, so new connections are
    refused and live ones are reset: what a client sees when that server
    goes away. The port is chosen at construction, so a URL can point at
    the proxy before it is first started, and stays the same on reopen().

    ``fallbacks`` (``(host, port)`` pairs) are tried in turn, for each new
    connection, when the target refuses it: what a local haproxy does with
    one active server and the others ``backup``. ``failovers`` counts the
    connections a fallback served.

    :meth:`freeze` plays a server that hangs instead (a paused VM, a
    stuck node): connections stay open and new ones are accepted, but no
    byte moves either way until :meth:`thaw`. The proxy's kernel still
    acknowledges what it receives, so the client sees no TCP error; only
    a protocol heartbeat or a timeout can tell it the server is gone.
    """

    def __init__(self, target_host: str = '127.0.0.1',
                 target_port: int = 5672, listen_host: str = '127.0.0.1',
                 fallbacks: tuple[tuple[str, int], ...] = ()):
        self.target = (target_host, target_port)
        self.fallbacks = tuple(fallbacks)
        self.failovers = 0
        self.listen_host = listen_host
        with socket.socket() as probe:
            probe.bind((listen_host, 0))
            self.port = probe.getsockname()[1]
        self._server = None
        self._conns = []
        self._lock = threading.Lock()
        self._accepting = False
        self._frozen = threading.Event()

    def start(self) -> 'TcpProxy':
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((self.listen_host, self.port))
        self._server.listen(64)
        self._accepting = True
        threading.Thread(target=self._accept, args=(self._server,),
                         daemon=True).start()
        return self

    reopen = start

    def _accept(self, server):
        while self._accepting:
            try:
                client, _ = server.accept()
            except OSError:
                return  # close() shut the listening socket
            if not self._accepting:
                client.close()
                return
            with self._lock:
                self._conns.append(client)
            threading.Thread(target=self._connect, args=(client,),
                             daemon=True).start()

    def _connect(self, client):
        while self._frozen.is_set():  # a hung server: accepted, silent
            if client.fileno() == -1:
                return  # close() cut it meanwhile
            time.sleep(0.05)
        upstream = self._upstream()
        if upstream is None:
            client.close()  # the real servers are down: refuse
            return
        upstream.settimeout(None)
        with self._lock:
            self._conns.append(upstream)
        self._pipe(client, upstream)

    def _upstream(self):
        for n, target in enumerate((self.target, *self.fallbacks)):
            try:
                upstream = socket.create_connection(target, timeout=5)
            except OSError:
                continue
            if n:
                self.failovers += 1
            return upstream
        return None

    def freeze(self) -> None:
        """Hang: keep every connection open and move no byte."""
        self._frozen.set()

    def thaw(self) -> None:
        """Move bytes again (what was sent meanwhile is delivered)."""
        self._frozen.clear()

    def _pipe(self, a, b):
        socks = [a, b]
        try:
            while True:
                if self._frozen.is_set():
                    if a.fileno() == -1 or b.fileno() == -1:
                        return  # close() cut it meanwhile
                    time.sleep(0.05)
                    continue
                readable, _, _ = select.select(socks, [], [], 0.2)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return  # close() reset the connection: the simulated outage
        finally:
            for s in socks:
                s.close()  # closing a closed socket does not raise

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self._accepting = False
        if self._server is not None:
            # shutdown() wakes the thread blocked in accept(); close()
            # alone leaves the socket listening until accept() returns.
            # It raises ENOTCONN on some kernels for a listening socket,
            # which is fine: close() follows.
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            # the peer may have closed it already (ENOTCONN)
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
