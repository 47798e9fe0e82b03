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

"""``db upgrade`` from a built wheel in a fresh venv, on every backend.

The alembic environment lives outside the package; this proves the wheel
carries it and the installed manage command finds it away from a checkout.
"""

import fcntl
import glob
import os
import subprocess
import sys
import tempfile
import threading

import sqlalchemy as sa

from vitrage_persistor.storage import migration
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as func_fixtures

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
_LOCK = threading.Lock()
_VENV = {}


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, check=False,
                            timeout=900, **kwargs)
    if result.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s\n%s' % (
            ' '.join(cmd), result.returncode, result.stdout[-3000:],
            result.stderr[-3000:]))
    return result.stdout


def wheel_venv() -> str:
    """Build the wheel once per test run; install it in a new venv.

    stestr's workers run at once, and building in the same checkout at
    once breaks (the sdist's staging directory is shared): the first
    worker builds and installs under a file lock, the others reuse it.
    """
    with _LOCK:
        if 'bin' not in _VENV:
            work = os.path.join(tempfile.gettempdir(),
                                'vp-wheel-%s' % _run_id())
            os.makedirs(work, exist_ok=True)
            with open(os.path.join(work, 'lock'), 'w') as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                venv = os.path.join(work, 'venv')
                if not os.path.exists(os.path.join(venv, 'done')):
                    _build_and_install(work, venv)
            _VENV['bin'] = os.path.join(venv, 'bin')
    return _VENV['bin']


def _run_id() -> str:
    """One test run: its process group, and the group leader's start time.

    stestr starts each worker under its own shell, so the workers share
    the process group of the run, not a parent; the start time keeps a
    recycled group id from finding an old build.
    """
    pgid = os.getpgid(0)
    try:
        with open('/proc/%d/stat' % pgid) as f:
            started = f.read().rsplit(')', 1)[1].split()[19]
    except OSError:
        started = 'gone'  # the leader exited; the group id still holds
    return '%d-%s' % (pgid, started)


def _build_and_install(work, venv):
    dist = tempfile.mkdtemp(dir=work)
    # sdist first, then the wheel from it: what a release does.
    _run([sys.executable, '-m', 'build', '--outdir', dist, REPO])
    (wheel,) = glob.glob(os.path.join(dist, '*.whl'))
    _run([sys.executable, '-m', 'venv', '--clear', venv])
    pip = os.path.join(venv, 'bin', 'pip')
    _run([pip, 'install', '-q', wheel, 'PyMySQL', 'psycopg2-binary'])
    with open(os.path.join(venv, 'done'), 'w'):
        pass


class WheelInstall:
    MIGRATE = False

    def _manage(self, *argv):
        conf_file = os.path.join(self.state_dir, 'wheel.conf')
        with open(conf_file, 'w') as f:
            f.write('[database]\nconnection = %s\n' % self.db_url)
        exe = os.path.join(wheel_venv(), 'vitrage-persistor-manage')
        # Run from an empty directory so nothing can come from the checkout.
        return _run([exe, '--config-file', conf_file, *argv],
                    cwd=self.state_dir,
                    env=dict(os.environ, PYTHONPATH=''))

    def test_db_upgrade_and_current_from_wheel(self):
        out = self._manage('db', 'upgrade')
        self.assertIn(migration.head(), out)
        out = self._manage('db', 'current')
        self.assertEqual('%s (head)' % migration.head(), out.strip())
        tables = set(sa.inspect(self.store.engine).get_table_names())
        self.assertLessEqual({'event', 'graph_snapshot', 'quarantine'}, tables)


globals().update(func_fixtures.backend_classes(
    'TestWheelInstall', (WheelInstall, func_fixtures.OpportunisticDB,
                         base.TestCase), {}))


class TestWheelContents(base.TestCase):
    """What the API needs at run time is in the wheel, not only the tree."""

    def test_wsgi_script_and_openapi_document_are_installed(self):
        bin_dir = wheel_venv()
        self.assertTrue(os.path.isfile(os.path.join(
            bin_dir, 'vitrage-persistor-api-wsgi')))
        out = _run([os.path.join(bin_dir, 'python'), '-c',
                    'from vitrage_persistor.api import app; '
                    'print(len(app.load_openapi(10)["paths"]))'],
                   cwd=self.state_dir, env=dict(os.environ, PYTHONPATH=''))
        self.assertGreater(int(out), 5)

    def test_vendored_cytoscape_and_its_licence_are_installed(self):
        out = _run([os.path.join(wheel_venv(), 'python'), '-c',
                    'from importlib import resources; '
                    'from vitrage_persistor.replay import page; '
                    'd = resources.files("vitrage_persistor") / "static" / '
                    '"cytoscape"; '
                    'print(len(page.cytoscape_js()), '
                    '"MIT" in (d / "LICENSE").read_text() or '
                    '"Permission is hereby granted" in '
                    '(d / "LICENSE").read_text())'],
                   cwd=self.state_dir, env=dict(os.environ, PYTHONPATH=''))
        size, licence = out.split()
        self.assertGreater(int(size), 100000)
        self.assertEqual('True', licence)

    def test_history_page_files_are_installed(self):
        out = _run([os.path.join(wheel_venv(), 'python'), '-c',
                    'from importlib import resources; '
                    'd = resources.files("vitrage_persistor") / "static" / '
                    '"history"; '
                    'print(len((d / "history.html").read_text()), '
                    'len((d / "history.js").read_text()), '
                    'len((d / "graph-style.js").read_text()))'],
                   cwd=self.state_dir, env=dict(os.environ, PYTHONPATH=''))
        html_size, js_size, style_size = out.split()
        self.assertGreater(int(html_size), 1000)
        self.assertGreater(int(js_size), 5000)
        self.assertGreater(int(style_size), 500)
