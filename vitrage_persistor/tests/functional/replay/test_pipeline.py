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

"""End to end: publisher -> RabbitMQ -> persistor agent -> DB -> replay.

The trace's events go through the real hook publisher
(``vitrage_persistor.publish.publisher.Publisher``) to a fresh RabbitMQ
vhost; the real ``vitrage-persistor-agent`` stores them; replay must give
the graph Vitrage's processor held live. The publisher stamps events with
the wall clock, so only the timestamps the processor takes from the clock
(deletion marks) are normalised.
"""


from vitrage_persistor.publish import messaging, publisher
from vitrage_persistor.replay import canonical
from vitrage_persistor.tests.common import trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers
from vitrage_persistor.tests.functional.replay import base

N = 600


class TestPipelineReplay(base.ReplayDBTestCase):

    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture

    def test_replay_of_published_events_equals_live(self):
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        events = base.long_trace()[:N]
        helpers.make_agent(self, rabbit.url, self.db_url).start()

        messaging.prepare_conf(self.conf)
        self.config(transport_url=rabbit.url)
        pub = publisher.Publisher(self.conf, 'driver', register_atexit=False)
        self.addCleanup(pub.stop, 10)
        for event in events:
            self.assertTrue(pub.publish(event))
        self.assertTrue(pub.flush(60))
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= N, 120,
            what='%d events stored' % N)

        result = self.replayer.graph_at()
        self.assertEqual(N, result.event_count)
        expected = trace.live_graphs(self.conf, events, [N])[N]
        got = canonical.canonical(result.graph, result.processor.id_cache,
                                  normalise_wall_clock=True)
        self.assertEqual([], canonical.differences(
            canonical.strip_wall_clock(expected), got))
