"""``db upgrade`` from a built wheel in a fresh venv, on every backend.

The alembic environment lives outside the package; this proves the wheel
carries it and the installed manage command finds it away from a checkout.
"""

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
    """Build the wheel once per test process; install it in a new venv."""
    with _LOCK:
        if 'bin' not in _VENV:
            work = tempfile.mkdtemp(prefix='vp-wheel-')
            # sdist first, then the wheel from it: what a release does.
            _run([sys.executable, '-m', 'build', '--outdir',
                  os.path.join(work, 'dist'), REPO])
            (wheel,) = glob.glob(os.path.join(work, 'dist', '*.whl'))
            venv = os.path.join(work, 'venv')
            _run([sys.executable, '-m', 'venv', venv])
            pip = os.path.join(venv, 'bin', 'pip')
            _run([pip, 'install', '-q', wheel, 'PyMySQL', 'psycopg2-binary'])
            _VENV['bin'] = os.path.join(venv, 'bin')
    return _VENV['bin']


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
