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

"""The real vitrage-graph's answers at a time, and the graph replayed then.

The real services run (``stack.VitrageStack``: vitrage-graph with the
hooks, vitrage-api, Vitrage's own persistor, on MariaDB and RabbitMQ) with
the demo's host-down template added by ``vitrage template add``. Doctor
reports host-1 down with ``vitrage event post``, later up again. At each
step the test asks the live service what operators ask
(``topology show``, ``alarm list``, ``rca show``) through the real
``python-vitrageclient``; the persistor agent stores what the hooks
published; and the graph replayed from the store at the time of each
answer must give the same answer, deduced alarms, states, marks and causal
links included. Vitrage's own alarm history (``alarm history``) must agree
with which alarms the replayed graphs hold.

One difference is Vitrage's, and it is checked for what it is: the API
answers from the API worker's copy of the graph, which vitrage-graph keeps
up to date by sending each changed vertex to the worker, where networkx's
``add_node`` *merges* the properties. A property the main graph deleted
(the undo of ``set_state`` sets ``vitrage_state`` to None, and
``NXGraph.update_vertex`` deletes a None property) stays in the worker's
copy. Replay builds the main graph, so it lacks that property; the test
accepts exactly those properties that a stored event set to None for that
vertex.
"""

import datetime
import os
import time

from vitrage_persistor.demo import harness
from vitrage_persistor.replay import engine
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers
from vitrage_persistor.tests.functional.replay import base
from vitrage_persistor.tests.functional.service import stack

TEMPLATE = os.path.join(harness.TEMPLATES, 'host_down_rca.yaml')
# what the API adds to a vertex: its index in the answer
_API_ONLY = {'graph_index'}


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def utc(text: str) -> datetime.datetime:
    """A time of Vitrage's API as naive UTC."""
    value = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def topology(answer: dict) -> tuple[dict, set]:
    """A topology answer (node-link JSON) as vertices and edges by id."""
    vertices = {n['vitrage_id']: {k: v for k, v in n.items()
                                  if k not in _API_ONLY}
                for n in answer['nodes']}
    ids = [n['vitrage_id'] for n in answer['nodes']]
    # links name their ends by index into the nodes (node-link JSON)
    edges = {(ids[e['source']], ids[e['target']], e['relationship_type'])
             for e in answer['links']}
    return vertices, edges


def replayed(graph) -> tuple[dict, set]:
    """The same of a replayed graph: what the topology API shows.

    Node-link JSON names each node ``id``: a vertex without an ``id``
    property of its own (an alarm) shows its vitrage_id there.
    """
    vertices = {}
    for v in graph.get_vertices():
        if not v.get('vitrage_is_deleted'):
            props = dict(v.properties, vitrage_id=v.vertex_id)
            props.setdefault('id', v.vertex_id)
            vertices[v.vertex_id] = props
    edges = set()
    for vid in vertices:
        for e in graph.get_edges(vid):
            if not e.get('vitrage_is_deleted') and e.source_id == vid:
                edges.add((e.source_id, e.target_id, e.label))
    return vertices, edges


class TestVitrageServiceHistory(base.ReplayDBTestCase):

    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture

    def test_answers_at_each_time_equal_the_replayed_graph(self):
        services = self.useFixture(stack.VitrageStack(self.state_dir))
        agent = helpers.make_agent(self, services.transport_url,
                                   self.db_url).start()
        self.config(datasources_values_dir=services.values_dir,
                    datasource_types=['static', 'doctor'], group='replay')
        services.add_template(TEMPLATE)

        asked = []

        def ask(name):
            asked.append((name, now(), topology(services.vitrage(
                'topology', 'show', '--all-tenants')),
                services.vitrage('alarm', 'list', '--all-tenants')))

        ask('quiet')
        # Vitrage's alarm history keeps whole seconds (storage.db_time)
        time.sleep(1.1)
        services.host_event('host-1', down=True)
        helpers.wait_for(
            lambda: len([a for a in services.vitrage(
                'alarm', 'list', '--all-tenants')
                if a['Name'] == 'instance_down']) == 2,
            120, what='two deduced instance_down alarms')
        # the evaluator links the causes after raising the alarms
        helpers.wait_for(
            lambda: sum(1 for e in topology(services.vitrage(
                'topology', 'show', '--all-tenants'))[1]
                if e[2] == 'causes') == 2, 120, what='two causal links')
        ask('host-1 down')
        deduced = [a for a in asked[-1][3] if a['Name'] == 'instance_down']
        # rca show reads Vitrage's alarm history, which its own persistor
        # writes a moment after the graph changed
        helpers.wait_for(
            lambda: services.vitrage('rca', 'show', deduced[0]['ID'],
                                     '--all-tenants')['links'], 60,
            what='the causal link in Vitrage\'s alarm history')
        rca = services.vitrage('rca', 'show', deduced[0]['ID'],
                               '--all-tenants', as_json=True)
        services.host_event('host-1', down=False)
        helpers.wait_for(
            lambda: not [a for a in services.vitrage(
                'alarm', 'list', '--all-tenants')
                if a['Name'] == 'instance_down'],
            120, what='deduced alarms cleared')
        ask('host-1 back')
        history = services.vitrage('alarm', 'history', '--all-tenants')

        # everything vitrage-graph processed is stored
        helpers.wait_for(
            lambda: services.rabbit.queues().get(
                'vitrage_persistor.sample', 1) == 0, 60,
            what='the agent queue drained')
        self.assertGreater(agent.stored_total(), 0)

        replayer = engine.Replayer(self.conf, self.store)
        deleted_props = {
            (e.payload.get('vitrage_id'), key)
            for e in self.store.iter_events()
            for key, value in e.payload.items()
            if value is None and e.payload.get('type') == 'update_vertex'}
        stale_seen = set()
        for name, when, (live_v, live_e), alarms in asked:
            graph = replayer.graph_at(at_time=when).graph
            got_v, got_e = replayed(graph)
            self.assertEqual(sorted(live_v), sorted(got_v), name)
            for vid, props in live_v.items():
                stale = set(props) - set(got_v[vid])
                self.assertEqual(
                    set(), {(vid, key) for key in stale} - deleted_props,
                    (name, vid))
                stale_seen |= stale
                self.assertEqual(
                    {k: v for k, v in props.items() if k not in stale},
                    got_v[vid], (name, vid))
            self.assertEqual(live_e, got_e, name)
            self.assertEqual(
                sorted(a['ID'] for a in alarms),
                sorted(vid for vid, p in got_v.items()
                       if p.get('vitrage_category') == 'ALARM'), name)

        # the worker-copy difference above happened, and only there
        self.assertEqual({'vitrage_state'}, stale_seen)

        # the RCA vitrage-graph gave while host-1 was down is in the graph
        # replayed at that time
        _name, when, _topo, _alarms = asked[1]
        graph = replayer.graph_at(at_time=when).graph
        causes = {(e.source_id, e.target_id) for e in graph.get_edges(
            deduced[0]['ID']) if e.label == 'causes'}
        self.assertEqual(
            {(link['source_id'], link['target_id'])
             for link in rca['links']}, causes)
        self.assertEqual({n['vitrage_id'] for n in rca['nodes']},
                         {v for pair in causes for v in pair})

        # Vitrage's own alarm history agrees: every alarm it recorded was
        # alive in the graph replayed between its start and its end
        self.assertGreaterEqual(len(history), 3)
        for alarm in history:
            start = utc(alarm['Start Time'])
            end = utc(alarm['End Time']) if alarm.get('End Time') else None
            for name, when, (live_v, _e), _alarms in asked:
                inside = start <= when and (end is None or when < end)
                self.assertEqual(inside, alarm['ID'] in live_v,
                                 (name, alarm))
