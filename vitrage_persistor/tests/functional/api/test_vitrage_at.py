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

"""python-vitrageclient, the real one, against history served by uWSGI.

The history holds a deduced alarm and a causal edge that come and go
(:mod:`vitrage_persistor.tests.common.rca_history`). At each of three
times, ``vitrage ... --endpoint <API>/v1/at/<time>`` (run as a
subprocess, noauth plugin) must answer what Vitrage's own API handlers
answer over the live graph at that time.
"""

import json
import os
import subprocess

from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor import wire
from vitrage_persistor.replay import vitrage_views
from vitrage_persistor.tests.common import rca_history, replay_base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.api import server
from vitrage_persistor.tests.functional.persistor import helpers

VITRAGE = os.path.join(helpers.BIN_DIR, 'vitrage')
ADMIN = vitrage_views.Caller('admin', True)


def _wire(answer):
    """An answer as it crosses HTTP (tuples become lists)."""
    return json.loads(json.dumps(answer))


class VitrageAtTime:

    def setUp(self):
        super().setUp()
        self.history = rca_history.build(self.conf)
        self.store.add_batch(self.history.records)
        config = os.path.join(self.state_dir, 'api.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = %s'
                    '\nmax_retries = 0\n[api]\nauth_strategy = noauth\n'
                    '[replay]\ndatasources_values_dir = %s\n' % (
                        self.state_dir, self.db_url, self.values_dir))
        self.api = self.useFixture(server.UwsgiAPI(
            config, os.path.join(self.state_dir, 'uwsgi.log')))

    def endpoint(self, label):
        return '%s/v1/at/%s' % (self.api.url, wire.format_timestamp(
            self.history.times[label]))

    def vitrage(self, label, *args, roles='admin', project='admin',
                check=True):
        result = subprocess.run(
            [VITRAGE, '--os-auth-type', 'vitrage-noauth', '--endpoint',
             self.endpoint(label), '--user-id', 'u', '--project-id',
             project, '--roles', roles, *args, '-f', 'json'],
            capture_output=True, text=True, timeout=120, check=False)
        if check:
            self.assertEqual(0, result.returncode, result.stderr[-3000:])
            return json.loads(result.stdout)
        return result

    def test_topology_show_is_vitrages_answer_at_each_time(self):
        for label in ('before', 'during', 'after'):
            live = _wire(vitrage_views.topology(
                self.history.graphs[label], ADMIN, all_tenants=True))
            got = self.vitrage(label, 'topology', 'show', '--all-tenants')
            self.assertEqual(live, got, label)
        during = self.vitrage('during', 'topology', 'show', '--all-tenants')
        ids = {n['vitrage_id'] for n in during['nodes']}
        self.assertIn(self.history.deduced_alarm, ids)
        self.assertIn('causes', {link['relationship_type']
                                 for link in during['links']})

    def test_rca_show_follows_the_causal_edge_and_its_undo(self):
        h = self.history
        rca = self.vitrage('during', 'rca', 'show', h.deduced_alarm,
                           '--all-tenants')
        self.assertEqual(_wire(vitrage_views.rca(
            h.graphs['during'], ADMIN, h.deduced_alarm, True)), rca)
        by_index = dict(enumerate(n['vitrage_id'] for n in rca['nodes']))
        self.assertEqual(h.deduced_alarm, by_index[rca['inspected_index']])
        self.assertEqual(
            [(h.nagios_alarm, h.deduced_alarm, 'causes')],
            [(by_index[link['source']], by_index[link['target']],
              link['relationship_type']) for link in rca['links']])
        cause = self.vitrage('during', 'rca', 'show', h.nagios_alarm,
                             '--all-tenants')
        self.assertEqual(2, len(cause['nodes']))
        before = self.vitrage('before', 'rca', 'show', h.nagios_alarm,
                              '--all-tenants')
        self.assertEqual(([h.nagios_alarm], []), (
            [n['vitrage_id'] for n in before['nodes']], before['links']))
        # undone: the deduced alarm is gone, so is its RCA
        gone = self.vitrage('after', 'rca', 'show', h.deduced_alarm,
                            '--all-tenants', check=False)
        self.assertNotEqual(0, gone.returncode)
        self.assertIn('no alarm', gone.stderr)

    def test_alarm_and_resource_lists(self):
        h = self.history
        for label in ('before', 'during', 'after'):
            alarms = self.vitrage(label, 'alarm', 'list', '--all-tenants')
            live = vitrage_views.alarms(h.graphs[label], ADMIN,
                                        all_tenants=True)
            self.assertEqual(sorted(a['vitrage_id'] for a in live),
                             sorted(a['ID'] for a in alarms), label)
            self.assertEqual(label == 'during', h.deduced_alarm in
                             {a['ID'] for a in alarms}, label)
            resources = self.vitrage(label, 'resource', 'list',
                                     '--all-tenants')
            live = vitrage_views.resources(h.graphs[label], ADMIN,
                                           all_tenants=True)
            self.assertEqual(sorted(r['vitrage_id'] for r in live),
                             sorted(r['ID'] for r in resources), label)
        on_instance = self.vitrage('during', 'alarm', 'list', h.instance)
        self.assertEqual([h.deduced_alarm], [a['ID'] for a in on_instance])
        shown = self.vitrage('during', 'alarm', 'show', h.deduced_alarm)
        live = vitrage_views.alarm(h.graphs['during'], ADMIN,
                                   h.deduced_alarm)
        self.assertEqual(_wire(live), shown)
        shown = self.vitrage('during', 'resource', 'show', h.instance)
        self.assertEqual(h.instance, shown['vitrage_id'])
        self.assertEqual('nova.instance', shown['vitrage_type'])
        # after the undo Vitrage's show_alarm still finds the vertex,
        # marked deleted, until consistency removes it: so does history
        gone = self.vitrage('after', 'alarm', 'show', h.deduced_alarm)
        self.assertEqual(_wire(vitrage_views.alarm(
            h.graphs['after'], ADMIN, h.deduced_alarm)), gone)
        self.assertIs(True, gone['vitrage_is_deleted'])
        missing = self.vitrage('before', 'alarm', 'show', h.deduced_alarm,
                               check=False)
        self.assertNotEqual(0, missing.returncode)
        self.assertIn('no alarm', missing.stderr)

    def test_tenant_scoping_as_vitrage_does_it(self):
        h = self.history
        project = h.graphs['during'].get_vertex(h.instance).get('project_id')
        reader = vitrage_views.Caller(project, False)
        got = self.vitrage('during', 'topology', 'show', roles='reader',
                           project=project)
        self.assertEqual(_wire(vitrage_views.topology(h.graphs['during'],
                                                      reader)), got)
        self.assertTrue(got['nodes'])
        self.assertEqual({project}, {n.get('project_id') for n in got['nodes']
                                     if n['vitrage_category'] == 'RESOURCE'
                                     and n['vitrage_type'] not in (
                                         'openstack.cluster', 'nova.zone',
                                         'nova.host')})
        refused = self.vitrage('during', 'alarm', 'list', '--all-tenants',
                               roles='reader', project=project, check=False)
        self.assertNotEqual(0, refused.returncode)
        self.assertIn('403', refused.stderr + refused.stdout)
        alarms = self.vitrage('during', 'alarm', 'list', roles='reader',
                              project=project)
        live = vitrage_views.alarms(h.graphs['during'], reader)
        self.assertEqual([a['vitrage_id'] for a in live],
                         [a['ID'] for a in alarms])
        self.assertIn(h.deduced_alarm, [a['ID'] for a in alarms])
        every = vitrage_views.alarms(h.graphs['during'], ADMIN, 'all', True)
        self.assertLess(len(alarms), len(every))
        for alarm in live:
            self.assertIn(project, (alarm.get('project_id'),
                                    alarm.get('vitrage_resource_project_id')))


class TestVitrageAtTimeSQLite(VitrageAtTime, func_fixtures.OpportunisticDB,
                              replay_base.ReplayTestCase):
    FIXTURE = test_fixtures.OpportunisticDbFixture


class TestVitrageAtTimePostgreSQL(VitrageAtTime,
                                  func_fixtures.OpportunisticDB,
                                  replay_base.ReplayTestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture


class TestVitrageAtTimeMySQL(VitrageAtTime, func_fixtures.OpportunisticDB,
                             replay_base.ReplayTestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class TestStoryThroughTheClientPostgreSQL(func_fixtures.OpportunisticDB,
                                          replay_base.ReplayTestCase):
    """The lead's host-down story end to end, asked with ``vitrage``.

    Vitrage's real ScenarioEvaluator concludes, the collector hook
    publishes, the real agent stores (``tests/common/evaluator.py``);
    then ``vitrage rca show`` of every deduced alarm alive when host-1 is
    down, at that time, must be the RCA of the live graph then.
    """

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def test_rca_show_of_every_deduced_alarm_equals_the_live_one(self):
        from vitrage.graph.driver.elements import Edge, Vertex
        from vitrage.graph.driver.networkx_graph import NXGraph

        from vitrage_persistor.demo import harness, story
        from vitrage_persistor.tests.common import evaluator

        self.config(datasources_values_dir=harness.RES +
                    '/datasources_values',
                    datasource_types=harness.DATASOURCES, group='replay')
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        helpers.make_agent(self, rabbit.url, self.db_url).start()
        told, _chapters = evaluator.run_story(self, rabbit.url)
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= told['processed'],
            120, what='%d events stored' % told['processed'])
        stored = list(self.store.iter_events())
        chapter = next(c for c in told['chapters']
                       if c['name'] == 'host-1 down')
        when = stored[chapter['count'] - 1].collector_timestamp
        self.assertLess(when, stored[chapter['count']].collector_timestamp)
        vertices, edges = story.from_json(chapter['graph'])
        live = NXGraph('live')
        for vid, props in vertices.items():
            live.add_vertex(Vertex(vid, props))
        for (u, v, label), props in edges.items():
            live.add_edge(Edge(u, v, label, props))
        deduced = sorted(story.live_alarms(vertices))
        self.assertTrue(deduced)
        self.assertTrue(story.live_causes(edges))

        config = os.path.join(self.state_dir, 'api.conf')
        with open(config, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n[database]\nconnection = %s'
                    '\nmax_retries = 0\n[api]\nauth_strategy = noauth\n'
                    '[replay]\ndatasources_values_dir = %s\n'
                    'datasource_types = %s\n' % (
                        self.state_dir, self.db_url,
                        harness.RES + '/datasources_values',
                        ','.join(harness.DATASOURCES)))
        api = self.useFixture(server.UwsgiAPI(
            config, os.path.join(self.state_dir, 'uwsgi.log')))
        endpoint = '%s/v1/at/%s' % (api.url, wire.format_timestamp(when))
        linked = 0
        for alarm in deduced:
            result = subprocess.run(
                [VITRAGE, '--os-auth-type', 'vitrage-noauth', '--endpoint',
                 endpoint, '--user-id', 'u', '--project-id', 'admin',
                 '--roles', 'admin', 'rca', 'show', alarm, '--all-tenants',
                 '-f', 'json'],
                capture_output=True, text=True, timeout=120, check=False)
            self.assertEqual(0, result.returncode, result.stderr[-3000:])
            got = json.loads(result.stdout)
            self.assertEqual(_wire(vitrage_views.rca(live, ADMIN, alarm,
                                                     True)), got, alarm)
            linked += len(got['links'])
        self.assertGreater(linked, 0)
