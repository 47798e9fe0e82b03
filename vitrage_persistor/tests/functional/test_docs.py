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

"""The documentation builds clean, as ``tox -e docs`` builds it (``-W``).

And the generated references hold what they are generated from: every
option group in the configuration reference, every path of the OpenAPI
document in the API reference.
"""

import os
import subprocess

import yaml

from vitrage_persistor.conf import opts
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers

SPHINX = os.path.join(helpers.BIN_DIR, 'sphinx-build')


class TestDocs(base.TestCase):

    def test_docs_build_without_warnings(self):
        out = os.path.join(self.state_dir, 'html')
        result = subprocess.run(
            [SPHINX, '-W', '--keep-going', '-q', '-b', 'html',
             os.path.join(func_fixtures.REPO, 'doc', 'source'), out],
            capture_output=True, text=True, timeout=600, check=False)
        self.assertEqual(0, result.returncode,
                         result.stdout[-3000:] + result.stderr[-3000:])
        with open(os.path.join(out, 'config-reference.html')) as f:
            config = f.read()
        for group, options in opts.list_opts():
            for opt in options:
                self.assertIn(opt.name, config, '[%s] %s' % (group, opt.name))
        with open(os.path.join(func_fixtures.REPO, 'vitrage_persistor',
                               'api', 'openapi.yaml')) as f:
            paths = yaml.safe_load(f)['paths']
        with open(os.path.join(out, 'api-reference.html')) as f:
            api = f.read()
        for path in paths:
            self.assertIn(path.split('{')[0], api, path)
        for page in ('install', 'operator-guide'):
            self.assertTrue(os.path.exists(os.path.join(out, page + '.html')))
