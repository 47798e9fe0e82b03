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

"""When the standby writes a snapshot: events, seconds, CPU budget."""

from oslotest import base as test_base

from vitrage_persistor.replay import snapshot_policy


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TestSnapshotPolicy(test_base.BaseTestCase):

    def test_by_events_and_chunks_up_to_the_interval(self):
        policy = snapshot_policy.SnapshotPolicy(500, None)
        self.assertFalse(policy.due())
        self.assertEqual(500, policy.chunk(2000))
        self.assertEqual(300, policy.chunk(300))
        policy.applied(300)
        self.assertEqual(200, policy.chunk(2000))
        self.assertFalse(policy.due())
        policy.applied(200)
        self.assertTrue(policy.due())
        policy.reset()
        self.assertFalse(policy.due())
        self.assertEqual(500, policy.chunk(2000))

    def test_by_seconds(self):
        clock = Clock()
        policy = snapshot_policy.SnapshotPolicy(None, 300.0, clock=clock)
        clock.now += 400
        self.assertFalse(policy.due())  # nothing applied
        policy.applied(3)
        self.assertTrue(policy.due())
        self.assertEqual(2000, policy.chunk(2000))
        policy.reset()
        policy.applied(3)
        self.assertFalse(policy.due())

    def test_cpu_budget_first_of_the_limits(self):
        policy = snapshot_policy.SnapshotPolicy(500, None, cpu_budget=0.1)
        # no cost known yet: up to the interval
        self.assertEqual(500, policy.chunk(2000))
        policy.applied(50, 0.02)  # 0.4 ms per event
        self.assertFalse(policy.due())
        self.assertEqual(200, policy.chunk(2000))  # 0.08 s left
        self.assertFalse(policy.over_budget(0.07))
        self.assertTrue(policy.over_budget(0.08))
        policy.applied(100, 0.09)
        self.assertTrue(policy.due())
        # spent (a snapshot postponed): no limit, no stop, until it comes;
        # the interval still limits
        self.assertEqual(350, policy.chunk(2000))
        self.assertFalse(policy.over_budget(5.0))
        policy.reset()
        # the last interval's cost carries over
        self.assertAlmostEqual(0.11 / 150, policy.cost_per_event)
        self.assertEqual(137, policy.chunk(2000))
        policy.applied(500, 0.0)  # a cheap stretch: the interval wins
        self.assertTrue(policy.due())

    def test_zero_budget_is_off(self):
        policy = snapshot_policy.SnapshotPolicy(500, None, cpu_budget=0.0)
        policy.applied(10, 50.0)
        self.assertFalse(policy.due())
        self.assertFalse(policy.over_budget(50.0))
        self.assertEqual(490, policy.chunk(2000))
        policy.applied(490)
        self.assertEqual(2000, policy.chunk(2000))  # postponed: a page

    def test_from_conf_and_bad_interval(self):
        from vitrage_persistor import service
        conf = service.make_conf()
        conf([], project='vitrage-persistor', default_config_files=[])
        policy = snapshot_policy.SnapshotPolicy.from_conf(conf)
        self.assertEqual((500, None, 0.03), (
            policy.every_events, policy.every_seconds, policy.cpu_budget))
        conf.set_override('snapshot_interval', '30s', 'persistor')
        conf.set_override('snapshot_cpu_budget', 0, 'persistor')
        policy = snapshot_policy.SnapshotPolicy.from_conf(conf)
        self.assertEqual((None, 30.0, 0), (
            policy.every_events, policy.every_seconds, policy.cpu_budget))
        conf.set_override('snapshot_interval', 'often', 'persistor')
        self.assertRaisesRegex(ValueError, 'snapshot_interval',
                               snapshot_policy.SnapshotPolicy.from_conf,
                               conf)
