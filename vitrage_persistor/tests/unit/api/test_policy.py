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

"""The policy entry points work with oslo.policy's own generators."""

import os
import subprocess
import sys

from vitrage_persistor.api import policy
from vitrage_persistor.tests import base

BIN_DIR = os.path.dirname(sys.executable)


class TestPolicyGenerators(base.TestCase):

    def _run(self, tool):
        result = subprocess.run(
            [os.path.join(BIN_DIR, tool), '--namespace', 'vitrage_persistor'],
            capture_output=True, text=True, timeout=120, check=False,
            cwd=self.state_dir)
        self.assertEqual(0, result.returncode, result.stderr[-3000:])
        return result.stdout

    def test_sample_and_effective_policy_list_every_rule(self):
        names = [rule.name for rule in policy.list_rules()]
        self.assertIn('persistor:event:get:all_tenants', names)
        sample = self._run('oslopolicy-sample-generator')
        effective = self._run('oslopolicy-policy-generator')
        for name in names:
            self.assertIn('#"%s":' % name, sample)
            self.assertIn('"%s":' % name, effective)
