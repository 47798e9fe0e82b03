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

import contextlib
import datetime
import io
import os
import socket

from vitrage_persistor.cmd import manage
from vitrage_persistor.tests import base


def _closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestManage(base.TestCase):

    def _run(self, *argv):
        conf_file = os.path.join(self.state_dir, 'vp.conf')
        with open(conf_file, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % self.state_dir)
            f.write('[database]\nconnection = %s\n' % self.connection)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = manage.main(['--config-file', conf_file, *argv])
        return rc, out.getvalue(), err.getvalue()

    def test_upgrade_current_status_on_sqlite(self):
        self.connection = 'sqlite:///%s/m.sqlite' % self.state_dir
        rc, out, _ = self._run('db', 'current')
        self.assertEqual(0, rc)
        self.assertIn('base', out)
        rc, out, _ = self._run('db', 'upgrade')
        self.assertEqual(0, rc)
        rc, out, _ = self._run('db', 'current')
        self.assertEqual((0, True), (rc, '(head)' in out))
        rc, out, _ = self._run('db', 'history')
        self.assertIn('Initial schema', out)
        rc, out, _ = self._run('status')
        self.assertEqual(0, rc)
        self.assertIn('events: 0', out)

    def test_quarantine_list_and_status_by_source(self):
        from vitrage_persistor.persistor import quarantine
        from vitrage_persistor.storage import api as storage_api
        self.connection = 'sqlite:///%s/q.sqlite' % self.state_dir
        self.assertEqual(0, self._run('db', 'upgrade')[0])
        self.config(connection=self.connection, group='database')
        store = storage_api.Store(self.conf)
        self.addCleanup(store.dispose)
        store.add_batch([], [
            quarantine.record('not_json', 'body is not JSON', 'garbage',
                              source='dead_letter', raw_format='text'),
            quarantine.record('bad_priority', 'priority None', '{}',
                              message_id='m\ud800', source='dispatcher')])
        store.report_agent('host:1', datetime.datetime(2026, 1, 1),
                           {'totals': {'duplicates': 7,
                                       'dead_lettered': 1}})
        rc, out, _ = self._run('quarantine', 'list', '--source',
                               'dead_letter', '--raw')
        self.assertEqual(0, rc)
        self.assertIn('not_json', out)
        self.assertIn('raw: garbage', out)
        self.assertNotIn('bad_priority', out)
        self.assertIn('1 row(s)', out)
        rc, out, _ = self._run('quarantine', 'list')
        self.assertIn('(text escaped)', out)
        rc, out, _ = self._run('status')
        self.assertIn('from dead_letter', out)
        self.assertIn('redeliveries 7', out)
        self.assertIn('dead-lettered 1', out)

    def test_unreachable_database_is_one_clear_line(self):
        self.connection = ('postgresql+psycopg2://u:p@127.0.0.1:%d/x'
                           % _closed_port())
        rc, out, err = self._run('db', 'upgrade')
        self.assertEqual(1, rc)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn('database error', err)
        self.assertNotIn('Traceback', err)

    def test_unreachable_database_status(self):
        self.connection = ('mysql+pymysql://u:p@127.0.0.1:%d/x'
                           % _closed_port())
        rc, _, err = self._run('status')
        self.assertEqual(1, rc)
        self.assertIn("Can't connect", err)

    def test_status_without_a_database_names_it_and_creates_nothing(self):
        where = os.path.join(self.state_dir, 'nowhere')
        self.connection = 'sqlite:///%s/vp.sqlite' % where
        for argv in (('status',), ('quarantine', 'list'), ('expire',)):
            rc, out, err = self._run(*argv)
            self.assertEqual(1, rc, argv)
            self.assertIn('no database at %s/vp.sqlite' % where, err)
            self.assertIn('db upgrade', err)
            self.assertIn('vp.conf', err)
            self.assertEqual(1, len(err.strip().splitlines()), err)
        rc, out, _ = self._run('db', 'current')
        self.assertEqual(0, rc)
        self.assertIn('base (head is', out)
        self.assertFalse(os.path.exists(where))

    def test_status_on_a_database_without_schema(self):
        import sqlite3
        path = os.path.join(self.state_dir, 'empty.sqlite')
        sqlite3.connect(path).close()
        self.connection = 'sqlite:///%s' % path
        rc, _, err = self._run('status')
        self.assertEqual(1, rc)
        self.assertIn('no vitrage-persistor schema', err)
        self.assertIn('db upgrade', err)

    def test_help_lists_commands_before_oslo_options(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertRaises(SystemExit, manage.main, ['--help'])
        text = out.getvalue()
        self.assertLess(text.index('commands:'), text.index('--log-file'))
        self.assertLess(text.index('  status '), text.index('--log-file'))
        for argv in (['status', '--help'], ['db', 'upgrade', '--help'],
                     ['quarantine', 'list', '--help']):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertRaises(SystemExit, manage.main, argv)
            usage, _, rest = out.getvalue().partition('\n\n')
            self.assertTrue(rest.strip() and not rest.startswith(
                'options:'), 'no description in %s --help' % argv)
