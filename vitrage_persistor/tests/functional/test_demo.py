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

"""The README's main job (tools/demo.py + the replay CLI) keeps working.

Runs on the in-process fake:// transport so that it leaves nothing on the
shared broker; tools/demo.sh uses the local RabbitMQ when one answers.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import replay_base

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))


def _run(*cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True,
                            timeout=600, check=False, **kwargs)
    if result.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s\n%s' % (
            ' '.join(cmd), result.returncode, result.stdout[-3000:],
            result.stderr[-3000:]))
    return result.stdout


class TestDemo(base.TestCase):

    def test_incident_replayed_before_during_after_with_its_rca(self):
        env = dict(os.environ, VP_DEMO_TRANSPORT='fake')
        values = replay_base.datasources_values_dir()
        out = _run(sys.executable, os.path.join(REPO, 'tools', 'demo.py'),
                   self.state_dir, values, env=env, cwd=REPO)
        self.assertIn('fake:// transport', out)
        self.assertIn(', 0 quarantined', out)
        self.assertIn('host-1 goes down', out)
        with open(os.path.join(self.state_dir, 'times.json')) as f:
            times = json.load(f)
        replay = [os.path.join(os.path.dirname(sys.executable),
                               'vitrage-persistor-replay'),
                  '--config-file', times['config']]

        def graph(at):
            path = os.path.join(self.state_dir, 'g.json')
            _run(*replay, 'show', '--at', at, '--format', 'json',
                 '-o', path)
            with open(path) as f:
                doc = json.load(f)
            alive = {v['vitrage_id']: v['properties']
                     for v in doc['vertices']
                     if not v['properties'].get('vitrage_is_deleted')}
            causes = [(e['source'], e['target']) for e in doc['edges']
                      if e['relationship_type'] == 'causes' and
                      not e['properties'].get('vitrage_is_deleted')]
            return alive, causes

        before, during, after = (graph(times[t]) for t in ('t1', 't2', 't3'))
        self.assertEqual([], before[1])
        # during: the deduced alarm has a cause, the host is marked down,
        # and the production datasources_values gave the states
        self.assertEqual('instance_down', during[0][times['alarm']]['name'])
        self.assertIn(times['alarm'], {t for _s, t in during[1]})
        host = [p for p in during[0].values() if p.get('name') == 'host-1'
                and p.get('vitrage_type') == 'nova.host']
        self.assertEqual([(True, 'ERROR')], [
            (p.get('is_marked_down'), p.get('vitrage_aggregated_state'))
            for p in host])
        doctor = [p for p in during[0].values()
                  if p.get('vitrage_type') == 'doctor']
        self.assertNotIn('undefined datasource',
                         {p.get('vitrage_aggregated_severity')
                          for p in doctor})
        self.assertEqual([], after[1])
        self.assertNotIn(times['alarm'], after[0])

        svg = os.path.join(self.state_dir, 'graph.svg')
        _run(*replay, 'show', '--at', times['t2'], '--format', 'svg',
             '-o', svg)
        root = ET.parse(svg).getroot()
        self.assertEqual('{http://www.w3.org/2000/svg}svg', root.tag)
        diff = _run(*replay, 'diff', '--from', times['t1'], '--to',
                    times['t2'])
        self.assertIn('+ vitrage instance_down', diff)
        self.assertIn('-causes->', diff)
