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

"""Installing and removing the hooks on Vitrage's classes."""

from vitrage.datasources import driver_base
from vitrage.entity_graph import graph_init

from vitrage_persistor.publish.hooks import install, registry
from vitrage_persistor.tests import base


class TestInstall(base.TestCase):

    def test_collector_default_and_uninstall(self):
        originals = (graph_init.EventsCoordination.__dict__[
            'handle_multiple_low_priority'],
            driver_base.DriverBase.__dict__[
                'make_pickleable_without_end_msg'])
        installed = install.install(self.conf, register_atexit=False)
        self.assertEqual(['collector'], list(installed.publishers))
        self.assertIsNone(installed.registry)
        self.assertIsNot(originals[0], graph_init.EventsCoordination.__dict__[
            'handle_multiple_low_priority'])
        installed.uninstall()
        self.assertIs(originals[0], graph_init.EventsCoordination.__dict__[
            'handle_multiple_low_priority'])
        self.assertIs(originals[1], driver_base.DriverBase.__dict__[
            'make_pickleable_without_end_msg'])

    def test_disabled_installs_nothing(self):
        self.config(enabled=False, group='persistor_hooks')
        installed = install.install(self.conf, register_atexit=False)
        self.assertEqual({}, installed.publishers)

    def test_both_share_a_registry(self):
        self.config(hooks=['driver', 'collector'], group='persistor_hooks')
        installed = install.install(self.conf, register_atexit=False)
        self.addCleanup(installed.uninstall)
        self.assertIsNotNone(installed.registry)


class TestRegistry(base.TestCase):

    def test_identity_claimed_once_and_bounded(self):
        reg = registry.PublishedRegistry(2)
        a, b, c = {'x': 1}, {'x': 1}, {'x': 1}
        reg.add(a)
        self.assertFalse(reg.claim(b))   # equal, but another event
        self.assertTrue(reg.claim(a))
        self.assertFalse(reg.claim(a))
        for event in (a, b, c):
            reg.add(event)
        self.assertEqual(2, len(reg))
        self.assertFalse(reg.claim(a))   # evicted, oldest first
