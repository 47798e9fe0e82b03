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

"""Test base for replay: Vitrage's datasources_values, fetched once.

The vitrage wheel lacks ``etc/vitrage/datasources_values``; the tests get
them from the sdist with ``tools/fetch-datasources-values.sh`` into a
cache directory shared by test workers (or use
``$VP_DATASOURCES_VALUES_DIR``).
"""

import fcntl
import glob
import logging
import os
import subprocess
import sys
import tempfile

import fixtures

import vitrage_persistor
from vitrage_persistor.tests import base

_TOOLS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(vitrage_persistor.__file__))), 'tools')


def datasources_values_dir() -> str:
    path = os.environ.get('VP_DATASOURCES_VALUES_DIR')
    if path:
        return path
    path = os.path.join(tempfile.gettempdir(),
                        'vitrage-persistor-datasources_values-15.0.1')
    if glob.glob(os.path.join(path, '*.yaml')):
        return path
    with open(path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not glob.glob(os.path.join(path, '*.yaml')):
            subprocess.run(
                ['bash', os.path.join(_TOOLS, 'fetch-datasources-values.sh'),
                 path], check=True, capture_output=True, timeout=600,
                env=dict(os.environ, PYTHON=sys.executable))
    return path


class ReplayTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.values_dir = datasources_values_dir()
        self.config(datasources_values_dir=self.values_dir, group='replay')
        # The processor warns about every stale event; keep output small.
        self.useFixture(fixtures.FakeLogger(level=logging.ERROR))
