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

"""RCA history: the evaluator's conclusions are stored and replayed.

Vitrage's real collector path, processor and ``ScenarioEvaluator`` (with
the demo templates: ``raise_alarm``, ``set_state``, ``mark_down`` and
``add_causal_relationship`` on nova, doctor, nagios and aodh entities) run
with the collector hook installed; the hook publishes to a fresh RabbitMQ
vhost, the real agent stores every event, and the graph replayed at each
chapter's end equals the live graph then, every vitrage_id included:
deduced alarms, deduced states, marks and causal edges, and their undo
when host-1's alarms clear. Replay never runs the evaluator: it applies
what the evaluator concluded.
"""

from vitrage_persistor import wire
from vitrage_persistor.demo import harness, story
from vitrage_persistor.tests.common import evaluator
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers
from vitrage_persistor.tests.functional.replay import base


class RcaHistory:
    """The test; mixed into one concrete class per database backend."""

    def setUp(self):
        super().setUp()
        self.config(datasources_values_dir=harness.RES + '/datasources_values',
                    datasource_types=harness.DATASOURCES, group='replay')

    def test_replay_holds_what_the_evaluator_concluded(self):
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        helpers.make_agent(self, rabbit.url, self.db_url).start()
        told, cuts = evaluator.run_story(self, rabbit.url)
        published = told['processed']
        self.assertEqual(published, told['stats']['collector']['sent'])
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= published, 120,
            what='%d events stored' % published)
        stored = list(self.store.iter_events())
        self.assertEqual(published, len(stored))

        # the evaluator's events are stored, as the processor got them
        # (the evaluator's own event kind is the payload's 'type')
        from_evaluator = [e for e in stored
                          if e.payload.get('vitrage_entity_type') ==
                          'vitrage' and 'type' in e.payload]
        kinds = {e.payload['type'] for e in from_evaluator}
        self.assertEqual({'add_vertex', 'remove_vertex', 'update_vertex',
                          'add_edge', 'remove_edge'}, kinds)
        raised = [e for e in from_evaluator
                  if e.payload['type'] == 'add_vertex']
        # a deduced alarm's new uuid4 is recorded with the event that made it
        self.assertTrue(all(wire.LIVE_IDS_KEY in e.payload for e in raised))

        # each chapter tells what the test is about
        chapters = {name: graph for name, _n, graph in cuts}
        down = chapters['host-1 down']
        self.assertGreater(len(story.live_alarms(down[0])), 0)
        self.assertGreater(len(story.live_causes(down[1])), 0)
        host1 = [p for p in down[0].values()
                 if p.get('vitrage_type') == 'nova.host' and
                 p.get('name') == 'host-1']
        self.assertEqual([(True, 'ERROR')], [
            (p.get('is_marked_down'), p.get('vitrage_state'))
            for p in host1])
        cleared = chapters['host-1 back, host-2 down']
        gone = set(story.live_causes(down[1])) - set(
            story.live_causes(cleared[1]))
        self.assertGreater(len(gone), 0)

        for name, count, live in cuts:
            until = stored[count - 1].order_key
            result = self.replayer.graph_at(until=until)
            self.assertEqual(count, result.event_count, name)
            got = evaluator.comparable(result.graph)
            self.assertEqual(sorted(live[0]), sorted(got[0]), name)
            for vid, props in live[0].items():
                self.assertEqual(props, got[0][vid], (name, vid))
            self.assertEqual(live[1], got[1], name)

        # from a snapshot taken mid-incident, the tail gives the same graph
        name, count, live = cuts[1]
        self.replayer.save_snapshot(
            self.replayer.graph_at(until=stored[count - 3].order_key))
        again = self.replayer.graph_at(until=stored[cuts[2][1] - 1]
                                       .order_key)
        self.assertIsNotNone(again.snapshot_id)
        self.assertEqual(cuts[2][2], evaluator.comparable(again.graph))


class TestRcaHistoryPostgreSQL(RcaHistory, base.ReplayDBTestCase):
    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture


class TestRcaHistoryMariaDB(RcaHistory, base.ReplayDBTestCase):
    FIXTURE = func_fixtures.test_fixtures.MySQLOpportunisticFixture


class TestRcaHistorySQLite(RcaHistory, base.ReplayDBTestCase):
    FIXTURE = func_fixtures.test_fixtures.OpportunisticDbFixture
