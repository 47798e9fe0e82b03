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

"""The three-node Galera cluster of ``tools/galera-cluster.sh``, for tests.

Its ports are fixed (SQL 33061-33063), so one cluster at a time runs on
a machine: :meth:`GaleraCluster.start` takes an exclusive lock on a file
under /tmp first, which a second test run (another worktree, another
stestr worker) waits for.
"""

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import sqlalchemy as sa

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))
SCRIPT = os.path.join(REPO, 'tools', 'galera-cluster.sh')
PROVIDER = '/usr/lib/galera/libgalera_smm.so'
SQL_BASE = 33060
LOCK_PATH = '/tmp/vp-galera-%d.lock' % SQL_BASE


def missing_reason() -> str | None:
    """Why this machine cannot run the cluster, or None."""
    if subprocess.run(['dpkg', '-s', 'galera-4'], capture_output=True,
                      check=False).returncode != 0 and \
            not os.path.exists(PROVIDER):
        return ('galera-4 is not installed (run tools/test-setup.sh, which '
                'installs it with apt)')
    if shutil.which('mariadbd') is None:
        return 'mariadbd is not installed (run tools/test-setup.sh)'
    return None


class GaleraCluster:

    def __init__(self, lock_timeout: float = 900):
        self.lock_timeout = lock_timeout
        self.dir = None
        self._lock = None

    def _acquire(self):
        self._lock = open(LOCK_PATH, 'a')
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        'another Galera test cluster held %s for %ss' % (
                            LOCK_PATH, self.lock_timeout)) from None
                time.sleep(1)

    def _script(self, *args, timeout=600):
        result = subprocess.run(['bash', SCRIPT, args[0], self.dir,
                                 *args[1:]], capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError('galera-cluster.sh %s failed:\n%s\n%s' % (
                ' '.join(args), result.stdout[-3000:], result.stderr[-3000:]))
        return result.stdout

    def start(self) -> 'GaleraCluster':
        self._acquire()
        # its own directory under /tmp: as root the nodes run as mysql,
        # which must be able to reach it
        self.dir = tempfile.mkdtemp(prefix='vp-galera-')
        os.chmod(self.dir, 0o755)
        try:
            self._script('start')
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.dir is not None:
            with contextlib.suppress(Exception):
                self._script('stop')
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    def kill(self, node: int) -> None:
        self._script('kill', str(node))

    def start_node(self, node: int) -> None:
        self._script('start-node', str(node))

    def status(self) -> str:
        return self._script('status')

    @staticmethod
    def port(node: int) -> int:
        return SQL_BASE + node

    def url(self, node: int, database: str = '', port: int | None = None
            ) -> str:
        return 'mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8mb4' % (
            port or self.port(node), database)

    def create_database(self) -> str:
        name = 'vp_galera_%s' % uuid.uuid4().hex[:10]
        engine = sa.create_engine(self.url(1))
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql('CREATE DATABASE %s CHARACTER SET '
                                     'utf8mb4' % name)
        finally:
            engine.dispose()
        return name

    def drop_database(self, name: str) -> None:
        for node in (1, 2, 3):
            engine = sa.create_engine(self.url(node))
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
                return
            except sa.exc.OperationalError:
                continue  # that node is down: try another
            finally:
                engine.dispose()
