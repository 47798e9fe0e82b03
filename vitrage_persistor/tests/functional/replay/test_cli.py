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

"""``vitrage-persistor-replay`` end to end on a real database."""

import io
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import fixtures

from vitrage_persistor.cmd import replay as cmd
from vitrage_persistor.tests.common import trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.replay import base


class TestReplayCommand(base.ReplayDBTestCase):

    def setUp(self):
        super().setUp()
        self.conf_file = os.path.join(self.state_dir, 'replay.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = '
                    '%s\n[replay]\ndatasources_values_dir = %s\n' % (
                        self.state_dir, self.db_url, self.values_dir))

    def run_cmd(self, *args):
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        try:
            rc = cmd.main(['--config-file', self.conf_file, *args])
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        return rc, out.getvalue(), err.getvalue()

    def at(self, i):
        return trace.collector_time(i).isoformat() + 'Z'

    def test_errors_are_one_line(self):
        rc, _, err = self.run_cmd('show')
        self.assertEqual((1, 'vitrage-persistor-replay: the event table is '
                          'empty: nothing to replay\n'), (rc, err))
        self.store_trace(base.long_trace()[:20])
        for args, code, text in (
                (('show', '--at', '2001-01-01T00:00:00'), 1,
                 'is before the first replayable point'),
                (('show', '--format', 'png'), 2, "unknown format 'png'"),
                (('show', '--at', 'last tuesday'), 2, 'bad timestamp'),
                (('show', '--event-id', '999999'), 1, 'no stored event'),
                (('show', '--filter', 'colour=red'), 2, 'bad filter'),
                (('diff', '--from', self.at(1)), 2, 'needs --from and --to'),
        ):
            rc, _, err = self.run_cmd(*args)
            self.assertEqual(code, rc, err)
            self.assertIn(text, err)
            self.assertEqual(1, len(err.strip().splitlines()), err)

    def test_show_formats_and_filters(self):
        n = self.store_trace(base.long_trace()[:400])
        out = os.path.join(self.state_dir, 'g')
        rc, text, err = self.run_cmd('show', '--at', self.at(n - 1))
        self.assertEqual(0, rc, err)
        document = json.loads(text)
        self.assertEqual('vitrage-persistor-graph', document['format'])
        self.assertIn('%d vertices' % len(document['vertices']), err)
        for fmt in ('graphml', 'svg', 'html', 'dot'):
            rc, _, err = self.run_cmd('show', '--format', fmt, '-o',
                                      out + '.' + fmt)
            self.assertEqual(0, rc, err)
        ET.parse(out + '.graphml')
        svg = ET.parse(out + '.svg').getroot()
        self.assertTrue(svg.tag.endswith('svg'))
        with open(out + '.svg') as f:
            self.assertIn('(deleted)', f.read())   # deleted entities
        # No --format: the extension says which.
        for ext, check in (('.svg', lambda t: ET.fromstring(t).tag.endswith(
                'svg')), ('.html', lambda t: 'cytoscape' in t),
                ('.gv', lambda t: t.startswith('digraph'))):
            rc, _, err = self.run_cmd('show', '-o', out + '-auto' + ext)
            self.assertEqual(0, rc, err)
            with open(out + '-auto' + ext) as f:
                self.assertTrue(check(f.read()), ext)
        rc, _, err = self.run_cmd('show', '-o', out + '.png')
        self.assertEqual(2, rc)
        self.assertIn("cannot tell the format from", err)
        self.assertFalse(os.path.exists(out + '.png'))
        with open(out + '.dot') as f:
            self.assertTrue(f.read().startswith('digraph'))
        rc, text, _ = self.run_cmd('show', '--filter', 'type=nova.host')
        types = {v['properties']['vitrage_type']
                 for v in json.loads(text)['vertices']}
        self.assertEqual({'nova.host'}, types)
        rc, text, _ = self.run_cmd('show', '--filter', 'around=host-1:1',
                                   '--filter', 'live')
        vertices = json.loads(text)['vertices']
        self.assertIn('host-1', [v['properties'].get('name')
                                 for v in vertices])
        self.assertFalse(any(v['properties'].get('vitrage_is_deleted')
                             for v in vertices))

    def test_time_after_history_is_warned_about(self):
        n = self.store_trace(base.long_trace()[:50])
        rc, _, err = self.run_cmd('show', '--at', self.at(n - 1))
        self.assertEqual(0, rc, err)
        self.assertNotIn('warning', err)
        rc, text, err = self.run_cmd('show', '--at', '2099-01-01T00:00:00Z')
        self.assertEqual(0, rc, err)
        self.assertIn('warning: 2099-01-01 00:00:00 is after the newest '
                      'stored event (%s' % trace.collector_time(
                          n - 1).isoformat(sep=' '), err)
        self.assertTrue(json.loads(text)['vertices'])

    def test_follow_says_what_it_does(self):
        n = self.store_trace(base.long_trace()[:40])
        with open(self.conf_file, 'a') as f:
            f.write('dump_path = %(d)s/dump.json\n'
                    'status_path = %(d)s/st.json\n'
                    'poll_interval = 0.2\n' % {'d': self.state_dir})
        proc = subprocess.Popen(
            [sys.executable, '-m', 'vitrage_persistor.cmd.replay',
             '--config-file', self.conf_file, 'follow'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(proc.kill)
        seen = []
        while not any('follow: graph at' in line for line in seen):
            seen.append(proc.stdout.readline())
            self.assertTrue(seen[-1], 'follow exited: %s' % seen)
        self.assertIn('follow: replaying the stored history', seen[0])
        second = seen[-1]
        self.assertIn('follow: graph at event %d (' % n, second)
        self.assertIn('SIGUSR1 dumps the graph to %s/dump.json'
                      % self.state_dir, second)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        self.assertEqual(0, proc.returncode, rest)
        self.assertIn('follow: stopped at event %d: 0 events applied' % n,
                      rest)

    def test_diff_and_snapshot(self):
        n = self.store_trace(base.long_trace()[:600])
        rc, text, err = self.run_cmd('diff', '--from', self.at(199),
                                     '--to', self.at(599), '--format',
                                     'json')
        self.assertEqual(0, rc, err)
        result = json.loads(text)
        self.assertTrue(result['vertices']['added'])
        self.assertTrue(any('vitrage_is_deleted' in c['properties']
                            for c in result['vertices']['changed']))
        rc, text, _ = self.run_cmd('diff', '--from', self.at(599),
                                   '--to', self.at(599))
        self.assertIn('vertices: 0 added, 0 removed, 0 changed', text)
        rc, text, _ = self.run_cmd('snapshot', '--at', self.at(299))
        self.assertEqual(0, rc)
        self.assertIn('300 events', text)
        rc, text, err = self.run_cmd('show', '--event-id', str(n))
        self.assertEqual(0, rc)
        self.assertIn('after snapshot', err)
        rc, text, _ = self.run_cmd('snapshot', '--at', self.at(299))
        self.assertIn('nothing new since snapshot', text)

    def test_manage_expire(self):
        from vitrage_persistor.cmd import manage
        n = self.store_trace(base.long_trace()[:300], shuffle=False)
        self.assertEqual(0, self.run_cmd('snapshot', '--at', self.at(199))[0])
        with open(self.conf_file, 'a') as f:
            f.write('[persistor]\nevent_ttl = 60\n')
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.assertEqual(0, manage.main(['--config-file', self.conf_file,
                                         'expire']))
        self.assertIn('expired 200 events and 0 snapshots', out.getvalue())
        self.assertEqual(n - 200, self.store.event_counts()['count'])
        rc, _, err = self.run_cmd('show', '--at', self.at(100))
        self.assertEqual(1, rc)
        self.assertIn('before the first replayable point', err)
        self.assertEqual(0, self.run_cmd('show', '--at', self.at(250))[0])

    def test_removed_processor_choice_is_refused_clearly(self):
        self.store_trace(base.long_trace()[:10])
        with open(self.conf_file, 'a') as f:
            f.write('processor = builtin\n')
        rc, _, err = self.run_cmd('show')
        self.assertEqual(1, rc)
        self.assertIn('[replay] processor', err)
        self.assertIn('builtin', err)


class TestReplayCommandPostgreSQL(TestReplayCommand):
    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture
