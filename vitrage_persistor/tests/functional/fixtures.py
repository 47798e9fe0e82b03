"""Fixtures for functional tests against real servers.

Databases come from oslo.db's opportunistic provisioning (the
``openstack_citest`` user that ``tools/test-setup.sh`` creates). An
unreachable PostgreSQL or MariaDB *fails* the test with oslo.db's reason; it
is never turned into a skip, so CI cannot go green without them.

RabbitMQ gets a fresh vhost per test, made with ``rabbitmqctl``, because a
competing consumer left on a shared queue would steal messages.
"""

import os
import shutil
import subprocess
import uuid

import fixtures
from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import migration


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
