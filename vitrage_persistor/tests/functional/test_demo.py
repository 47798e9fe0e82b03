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

    def test_pipeline_then_replay_two_times_and_diff(self):
        env = dict(os.environ, VP_DEMO_TRANSPORT='fake')
        out = _run(sys.executable, os.path.join(REPO, 'tools', 'demo.py'),
                   self.state_dir, env=env, cwd=REPO)
        self.assertIn('fake:// transport', out)
        self.assertIn(', 0 quarantined', out)
        with open(os.path.join(self.state_dir, 'times.json')) as f:
            times = json.load(f)
        replay = [os.path.join(os.path.dirname(sys.executable),
                               'vitrage-persistor-replay'),
                  '--config-file', times['config']]
        svg = os.path.join(self.state_dir, 'graph.svg')
        _run(*replay, 'show', '--at', times['t2'], '--format', 'svg',
             '-o', svg)
        root = ET.parse(svg).getroot()
        self.assertEqual('{http://www.w3.org/2000/svg}svg', root.tag)
        diff = _run(*replay, 'diff', '--from', times['t1'], '--to',
                    times['t2'])
        self.assertIn('vertices:', diff)
        self.assertIn('removed', diff)
