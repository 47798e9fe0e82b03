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

"""Vitrage's answers over a small hand-made graph: RCA, alarms, tenants."""

from unittest import mock

from vitrage_persistor.replay import vitrage_views as vv
from vitrage_persistor.tests import base


def _graph():
    """A host and a vm of p1; a chain of three alarms, one edge deleted.

    A nagios alarm on the host causes a deduced alarm on the vm, which
    causes another; a deleted alarm once caused the first deduced one.
    """
    from vitrage.graph.driver.elements import Edge, Vertex
    from vitrage.graph.driver.networkx_graph import NXGraph

    def res(vid, kind, project=None):
        return Vertex(vid, {'vitrage_id': vid, 'id': vid, 'name': vid,
                            'vitrage_category': 'RESOURCE',
                            'vitrage_type': kind, 'project_id': project,
                            'vitrage_is_deleted': False,
                            'vitrage_is_placeholder': False})

    def alarm(vid, on, kind, when, deleted=False, project=None):
        return Vertex(vid, {'vitrage_id': vid, 'name': vid,
                            'vitrage_category': 'ALARM',
                            'vitrage_type': kind, 'project_id': project,
                            'vitrage_resource_id': on,
                            'update_timestamp': when,
                            'vitrage_operational_severity': 'CRITICAL',
                            'vitrage_is_deleted': deleted,
                            'vitrage_is_placeholder': False})

    g = NXGraph('g')
    for v in (res('host', 'nova.host'), res('vm', 'nova.instance', 'p1'),
              alarm('cause', 'host', 'nagios', '2026-01-01T00:00:01Z'),
              alarm('deduced', 'vm', 'vitrage', '2026-01-01 00:00:02.5'),
              alarm('next', 'vm', 'vitrage', '2026-01-01T00:00:03Z'),
              alarm('old', 'vm', 'vitrage', '2026-01-01T00:00:00Z',
                    deleted=True)):
        g.add_vertex(v)
    for u, v, label, deleted in (
            ('host', 'vm', 'contains', False),
            ('cause', 'deduced', 'causes', False),
            ('deduced', 'next', 'causes', False),
            ('old', 'deduced', 'causes', True)):
        g.add_edge(Edge(u, v, label, {'relationship_type': label,
                                      'vitrage_is_deleted': deleted}))
    return g


ADMIN = vv.Caller(None, True)


class TestVitrageViews(base.TestCase):

    def test_rca_walks_causes_both_ways_and_skips_deleted(self):
        nodes, edges = vv.rca_chain(_graph(), 'deduced')
        self.assertEqual(['deduced', 'next', 'cause'], nodes)
        self.assertEqual({('cause', 'deduced'), ('deduced', 'next')},
                         {(u, v) for u, v, _ in edges})
        self.assertRaises(vv.NotFound, vv.rca_chain, _graph(), 'old')

    def test_rca_is_vitrages_json_with_the_inspected_alarm(self):
        answer = vv.rca(_graph(), ADMIN, 'next', all_tenants=True)
        ids = [n['vitrage_id'] for n in answer['nodes']]
        self.assertEqual('next', ids[answer['inspected_index']])
        self.assertEqual({'cause', 'deduced', 'next'}, set(ids))
        self.assertEqual(2, len(answer['links']))
        self.assertEqual({'causes'}, {link['relationship_type']
                                      for link in answer['links']})
        self.assertTrue(all(isinstance(link['source'], int)
                            for link in answer['links']))

    def test_rca_of_another_projects_alarm_is_not_found(self):
        self.assertRaises(vv.NotFound, vv.rca, _graph(),
                          vv.Caller('p2', False), 'deduced')
        # p1 owns the vm the deduced alarms are on, not the host's alarm
        nodes, _ = vv.rca_chain(_graph(), 'deduced', vv.Caller('p1', False),
                                all_tenants=False)
        self.assertEqual(['deduced', 'next'], nodes)

    def test_alarm_list_sorts_filters_pages_and_scopes(self):
        graph = _graph()
        every = vv.alarms(graph, ADMIN, all_tenants=True)
        self.assertEqual(['cause', 'deduced', 'next'],
                         [a['vitrage_id'] for a in every])
        self.assertEqual('2026-01-01 00:00:02.500000+00:00',
                         every[1]['start_timestamp'])
        self.assertEqual('p1', every[1]['vitrage_resource_project_id'])
        newest = vv.alarms(graph, ADMIN, all_tenants=True,
                           sort_by=['start_timestamp'], sort_dirs=['desc'],
                           limit=1)
        self.assertEqual(['next'], [a['vitrage_id'] for a in newest])
        page = vv.alarms(graph, ADMIN, all_tenants=True, marker='cause')
        self.assertEqual(['deduced', 'next'],
                         [a['vitrage_id'] for a in page])
        on_vm = vv.alarms(graph, ADMIN, vitrage_id='vm')
        self.assertEqual(['deduced', 'next'],
                         [a['vitrage_id'] for a in on_vm])
        named = vv.alarms(graph, ADMIN, all_tenants=True,
                          filter_by=['vitrage_type'], filter_vals=['nag'])
        self.assertEqual(['cause'], [a['vitrage_id'] for a in named])
        self.assertEqual(['deduced', 'next'], [
            a['vitrage_id'] for a in vv.alarms(graph, vv.Caller('p1', False))])
        self.assertEqual([], vv.alarms(graph, vv.Caller('p2', False)))

    def test_alarm_list_refuses_what_vitrage_refuses(self):
        graph = _graph()
        for kwargs, parameter in (
                ({'sort_by': ['colour'], 'sort_dirs': ['asc']}, 'sort_by'),
                ({'sort_dirs': ['up', 'asc']}, 'sort_dirs'),
                ({'filter_by': ['name'], 'filter_vals': []}, 'filter_vals'),
                ({'filter_by': ['payload'], 'filter_vals': ['x']},
                 'filter_by'),
                ({'marker': 'nope'}, 'marker')):
            error = self.assertRaises(vv.QueryError, vv.alarms, graph,
                                      ADMIN, all_tenants=True, **kwargs)
            self.assertEqual(parameter, error.parameter)

    def test_topology_checks_its_arguments_first(self):
        graph = _graph()
        self.assertRaises(vv.QueryError, vv.topology, graph, ADMIN,
                          depth=2)
        self.assertRaises(vv.QueryError, vv.topology, graph, ADMIN,
                          graph_type='tree')
        self.assertRaises(vv.NotFound, vv.topology, graph, ADMIN,
                          root='nowhere', depth=1, query={'==': {'a': 1}})

    def test_networkx_36_is_refused_with_the_reason(self):
        # Vitrage 15.0.1's json_output_graph needs node-link 'links'
        with mock.patch('networkx.__version__', '3.6.1'):
            error = self.assertRaises(vv.NetworkxTooNew, vv.check_networkx)
        self.assertIn("networkx<3.6", str(error))

    def test_installed_networkx_serialises_vitrage_graphs(self):
        # fails loudly if the networkx<3.6 pin is lost
        vv.check_networkx()
        answer = vv.topology(_graph(), ADMIN, all_tenants=True)
        self.assertIn('links', answer)
