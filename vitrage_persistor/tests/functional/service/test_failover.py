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

"""Failover without pickle: vitrage-graph restarts from the persistor.

The real services (``stack.VitrageStack``) run with ``[persistor_hooks]
restore = true`` and ``vitrage_persistence = false``: Vitrage's own graph
persistence writes nothing, so only the persistor can bring the graph
back. The first start finds the store empty and starts as vitrage-graph
does. Doctor reports host-1 down (push-only: a cold start cannot know
it), the evaluator deduces and links; then vitrage-graph's whole process
group is killed with SIGKILL and started again. Its API must answer what
it answered before the kill, deduced alarms and causal links included,
and the next pushed event must update the graph and be stored.

A second story clears the alarm before the kill: what was deleted stays
deleted, after our restore and after Vitrage's own restart. Then the
store holds a snapshot made by another Vitrage (skipped, its events
replayed instead), then the store is unreachable (Vitrage's stock start,
said in one line).
"""

import os

from vitrage_persistor.demo import harness
from vitrage_persistor.storage import records
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers
from vitrage_persistor.tests.functional.replay import base
from vitrage_persistor.tests.functional.service import (
    stack,
    test_vitrage_service,
)

TEMPLATE = os.path.join(harness.TEMPLATES, 'host_down_rca.yaml')
# what Vitrage refreshes on every poll, restored or not
_CLOCK = {'update_timestamp', 'vitrage_sample_timestamp'}


def stable(topology):
    vertices, edges = topology
    return ({vid: {k: v for k, v in props.items() if k not in _CLOCK}
             for vid, props in vertices.items()}, edges)


class TestFailover(base.ReplayDBTestCase):

    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture

    def topology(self, services):
        return test_vitrage_service.topology(services.vitrage(
            'topology', 'show', '--all-tenants'))

    def start_stack(self, persistence: str):
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        agent = helpers.make_agent(self, rabbit.url, self.db_url).start()
        services = self.useFixture(stack.VitrageStack(
            self.state_dir, rabbit=rabbit, hooks_options={
                'restore': 'true',
                'restore_config_file': agent.config_path,
                'vitrage_persistence': persistence}))
        return rabbit, agent, services

    def restart(self, services) -> str:
        """kill -9 and start again; what this start logged."""
        logged = len(services.graph_log())
        services.kill9_graph()
        services.start_graph()
        return services.graph_log()[logged:]

    def host_down(self, services) -> None:
        """The template, then host-1 down; wait for both causal links."""
        services.add_template(TEMPLATE)
        services.host_event('host-1', down=True)
        helpers.wait_for(
            lambda: sum(1 for e in self.topology(services)[1]
                        if e[2] == 'causes') == 2, 120,
            what='two causal links')

    def drained(self, rabbit):
        helpers.wait_for(
            lambda: rabbit.queues().get('vitrage_persistor.sample', 1) == 0,
            60, what='the agent queue drained')

    def test_kill9_then_restore_from_the_persistor(self):
        rabbit, agent, services = self.start_stack(persistence='false')
        # the store was empty: a stock start, and it says so
        self.assertIn('restore: the persistor store holds no events',
                      services.graph_log())
        self.host_down(services)
        before = self.topology(services)
        alarms = services.vitrage('alarm', 'list', '--all-tenants')
        deduced = [a['ID'] for a in alarms if a['Name'] == 'instance_down']
        # rca show reads Vitrage's alarm history, written a moment later
        helpers.wait_for(
            lambda: services.vitrage('rca', 'show', deduced[0],
                                     '--all-tenants')['links'], 60,
            what='the causal link in Vitrage\'s alarm history')
        rca = services.vitrage('rca', 'show', deduced[0], '--all-tenants')
        self.assertTrue(rca['links'])
        self.drained(rabbit)
        stored = self.store.event_counts()['count']

        services.kill9_graph()
        services.start_graph()
        log = services.graph_log()
        self.assertIn('from the persistor', log)
        after = self.topology(services)
        self.assertEqual(stable(before), stable(after))
        doctor = [p for p in after[0].values()
                  if p.get('vitrage_type') == 'doctor']
        self.assertEqual(1, len(doctor))   # push-only: only we kept it
        again = services.vitrage('rca', 'show', deduced[0], '--all-tenants')
        self.assertEqual(
            sorted((link['source_id'], link['target_id'])
                   for link in rca['links']),
            sorted((link['source_id'], link['target_id'])
                   for link in again['links']))

        # the next pushed event updates the graph, and it is stored. (Not
        # the "up" event: Vitrage's doctor driver keeps its alarms in
        # memory and, after any restart, drops a clearing event for an
        # alarm it has not seen; Vitrage's own pickle restart does too.)
        services.host_event('host-1', down=True, event_id='after-restart')
        helpers.wait_for(
            lambda: [p.get('monitor_event_id') for p in
                     self.topology(services)[0].values()
                     if p.get('vitrage_type') == 'doctor'] ==
            ['after-restart'], 120, what='the doctor alarm updated')
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] > stored, 60,
            what='the new events stored')
        # Vitrage's own persistence wrote nothing, all along
        self.assertEqual(0, services.vitrage_db_count('events'))
        self.assertEqual(0, services.vitrage_db_count('graph_snapshots'))

    def doctor_alarms(self, topology):
        return [p for p in topology[0].values()
                if p.get('vitrage_type') == 'doctor']

    def test_deleted_stays_deleted_foreign_snapshot_unreachable_store(self):
        rabbit, agent, services = self.start_stack(persistence='true')
        self.host_down(services)
        services.host_event('host-1', down=False)
        helpers.wait_for(
            lambda: not self.doctor_alarms(self.topology(services)) and
            not any(e[2] == 'causes' for e in self.topology(services)[1]),
            120, what='the doctor alarm cleared and the deduced ones gone')
        # the evaluator's undo of set_state, as the store holds it
        helpers.wait_for(
            lambda: not any(v.get('vitrage_state') for v in
                            self.replayer.graph_at().graph.get_vertices()),
            120, what='the evaluator\'s undo of set_state stored')
        self.drained(rabbit)
        cleared = self.topology(services)
        # Vitrage's workers keep a property the main process removed: the
        # undo of set_state deletes vitrage_state from the main graph, but
        # a worker's clone merges the after-image (networkx add_node), so
        # vitrage-api (an API worker's clone) still shows ERROR on host-1
        # and its instances. A restored vitrage-graph hands the main
        # graph to its workers: the state is gone there too.
        stale = sorted(vid for vid, props in cleared[0].items()
                       if props.get('vitrage_state') == 'ERROR')
        self.assertEqual(3, len(stale), cleared[0])
        expected = stable(cleared)
        for vid in stale:
            del expected[0][vid]['vitrage_state']

        # our restore: the cleared alarm does not come back
        log = self.restart(services)
        self.assertIn('from the persistor', log)
        self.assertEqual(expected, stable(self.topology(services)))

        # Vitrage's own restart (its events table and pickle), to compare
        services.reconfigure(restore='false')
        log = self.restart(services)
        self.assertNotIn('from the persistor', log)
        self.assertEqual([], self.doctor_alarms(self.topology(services)))

        # a snapshot by another Vitrage, newest of all, in which host-1
        # has a property no event gave it: skipped, said once, the events
        # replayed instead
        self.drained(rabbit)
        result = self.replayer.graph_at()
        document = result.processor.to_document()
        for vertex in document['vertices']:
            if vertex['properties'].get('name') == 'host-1':
                vertex['properties']['ghost'] = 'from another vitrage'
        foreign = self.store.save_snapshot(records.Snapshot(
            covers=result.last, max_event_id=result.max_event_id,
            event_count=result.event_count,
            processor='vitrage-14.0.0+foreign', graph=document,
            vertex_count=len(document['vertices'])))
        services.reconfigure(restore='true')
        log = self.restart(services)
        self.assertIn('snapshot %d skipped: made by vitrage-14.0.0+foreign'
                      % foreign, log)
        self.assertIn('from the persistor', log)
        self.assertEqual(expected, stable(self.topology(services)))

        # the store unreachable: Vitrage's stock start, said in one line
        unreachable = os.path.join(self.state_dir, 'unreachable.conf')
        with open(unreachable, 'w') as f:
            # nothing listens on port 9 (discard) of this host
            f.write('[database]\nconnection = postgresql+psycopg2://'
                    'postgres@127.0.0.1:9/nothing\n')
        services.reconfigure(restore_config_file=unreachable)
        log = self.restart(services)
        told = [line for line in log.splitlines()
                if 'restore: the persistor store is unusable' in line]
        self.assertEqual(1, len(told), log[-3000:])
        self.assertIn('starting as vitrage-graph does', told[0])
        self.assertNotIn('from the persistor', log)
        self.assertIn('host-1', [p.get('name') for p in
                                 self.topology(services)[0].values()])
