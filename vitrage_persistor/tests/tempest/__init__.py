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

"""The in-tree tempest plugin (entry point ``tempest.test_plugins``).

Tempest runs these tests against a deployed API. The unit/functional run
(stestr over ``vitrage_persistor/tests``) does not load them directly:
without a tempest configuration this package loads no tests at all (they
are not reported as skips). The functional test
``tests/functional/api/test_tempest.py`` runs them with ``tempest run``
against a deployed API, in keystone and in noauth mode.
"""

import importlib.util
import os


def _tempest_run() -> bool:
    if importlib.util.find_spec('tempest') is None:
        return False
    return bool(os.environ.get('TEMPEST_CONFIG') or
                os.path.isfile(os.path.join('etc', 'tempest.conf')))


def load_tests(loader, standard_tests, pattern):
    if not _tempest_run():
        return standard_tests
    this_dir = os.path.dirname(__file__)
    standard_tests.addTests(loader.discover(start_dir=this_dir,
                                            pattern=pattern))
    return standard_tests
