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

"""Stored histories with the evaluator's conclusions in them, for tests.

:func:`run_story` runs ``vitrage_persistor.demo.story`` (Vitrage's real
collector path, processor and ``ScenarioEvaluator`` with the demo
templates, and the collector hook) in a process of its own, publishing to
a RabbitMQ vhost; start an agent on that vhost first, and the events land
in the test's database. It returns the live graph at the end of each
chapter (``story.CHAPTERS``): ``[(name, events applied, (vertices,
edges))]``, comparable with ``story.from_json(story.json_form(
story.raw_form(replayed_graph)))``.
"""

import json
import os
import subprocess
import sys

from vitrage_persistor.demo import story


def run_story(test, rabbit_url: str) -> tuple[dict, list]:
    """The story in a process of its own; returns (summary, chapters)."""
    conf_file = os.path.join(test.state_dir, 'hooks.conf')
    out = os.path.join(test.state_dir, 'story.json')
    with open(conf_file, 'w') as f:
        f.write('[persistor_hooks]\ntransport_url = %s\n'
                'hooks = collector\n' % rabbit_url)
    proc = subprocess.run(
        [sys.executable, '-m', 'vitrage_persistor.demo.story',
         '--config-file', conf_file, '--output', out],
        capture_output=True, text=True, timeout=600)
    test.assertEqual(0, proc.returncode, proc.stderr[-4000:])
    with open(out) as f:
        told = json.load(f)
    chapters = [(c['name'], c['count'], story.from_json(c['graph']))
                for c in told['chapters']]
    return told, chapters


def comparable(graph) -> tuple[dict, dict]:
    """A replayed graph in the form the story's chapters are in."""
    return story.from_json(story.json_form(story.raw_form(graph)))
