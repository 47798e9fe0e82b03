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

"""Replay gives vertices the vitrage_ids the live vitrage-graph gave them.

Vitrage's real collector path (``vitrage_persistor/demo/harness.py``:
drivers, ``DriverExec``, pushed notifications, the ``ConsistencyEnforcer``
and the ``Processor``) runs with the collector hook installed; the hook
publishes to a fresh RabbitMQ vhost, the real agent stores the events, and
the replayed graph must equal the live graph *including every vitrage_id*.

The consistency enforcer's ``remove_deleted_entity`` events name their
target by the live uuid4, so without the recorded ids those vertices would
survive in the replay. Only the timestamps the processor takes from the
wall clock (deletion marks) are left out of the comparison: the live
pipeline runs on the real clock, shifted by days for the consistency
checks.
"""


from vitrage.datasources import transformer_base

from vitrage_persistor import wire
from vitrage_persistor.demo import harness
from vitrage_persistor.publish.hooks import install
from vitrage_persistor.replay import processor as processor_mod
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers
from vitrage_persistor.tests.functional.replay import base

_TB = transformer_base.TransformerBase


def raw_form(graph) -> tuple[dict, dict]:
    """Vertices and edges by their real ids, wall-clock marks left out."""
    vertices = {}
    for vid, props in graph._g.nodes(data=True):
        props = dict(props)
        if props.get('vitrage_is_deleted'):
            props.pop('vitrage_sample_timestamp', None)
        vertices[vid] = props
    edges = {}
    for u, v, label, props in graph._g.edges(keys=True, data=True):
        props = dict(props)
        if props.get('vitrage_is_deleted'):
            props.pop('update_timestamp', None)
        edges[(u, v, label)] = props
    return vertices, edges


class TestLiveIds(base.ReplayDBTestCase):

    FIXTURE = func_fixtures.test_fixtures.PostgresqlOpportunisticFixture

    def setUp(self):
        super().setUp()
        # The live processor's id cache is class-wide: start it empty, as
        # a fresh vitrage-graph does, and give it back afterwards.
        saved = _TB.key_to_uuid_cache
        _TB.key_to_uuid_cache = {}
        self.addCleanup(setattr, _TB, 'key_to_uuid_cache', saved)
        # Live and replayed processors share cfg.CONF in this process.
        processor_mod._CONFIGURED.clear()
        self.addCleanup(processor_mod._CONFIGURED.clear)
        self.addCleanup(harness.configure_vitrage().cleanUp)
        self.config(datasources_values_dir=harness.RES + '/datasources_values',
                    datasource_types=harness.DATASOURCES, group='replay')

    def run_live(self, rabbit):
        self.config(transport_url=rabbit.url, hooks=['collector'],
                    group='persistor_hooks')
        installed = install.install(self.conf, register_atexit=False)
        self.addCleanup(installed.uninstall)
        self.addCleanup(installed.stop, 5)
        pipeline = harness.Pipeline(harness.FakeCloud(scale=2),
                                    record=True)
        pipeline.full_scenario(scale=2)
        self.assertTrue(installed.flush(60))
        return pipeline, installed.stats()['collector']

    def test_replay_has_the_live_vitrage_ids(self):
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        helpers.make_agent(self, rabbit.url, self.db_url).start()

        pipeline, stats = self.run_live(rabbit)
        published = len(pipeline.received)
        self.assertEqual(published, stats['sent'])
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= published, 120,
            what='%d events stored' % published)

        stored = list(self.store.iter_events())
        removes = [e for e in stored if e.payload.get(
            'vitrage_event_type') == 'remove_deleted_entity']
        self.assertGreater(len(removes), 0)
        with_ids = [e for e in stored
                    if wire.LIVE_IDS_KEY in e.payload]
        self.assertGreater(len(with_ids), 0)
        # every id the live processor made was recorded, once
        recorded = {}
        for event in with_ids:
            recorded.update(event.payload[wire.LIVE_IDS_KEY])
        live_vertices, live_edges = raw_form(pipeline.graph)
        for vid, props in live_vertices.items():
            self.assertEqual(vid, recorded.get(props['vitrage_cached_id']))
        # remove_deleted_entity really removed vertices from the live graph
        removed = {e.payload['vitrage_id'] for e in removes}
        self.assertFalse(removed & set(live_vertices))

        result = self.replayer.graph_at()
        self.assertEqual(published, result.event_count)
        got_vertices, got_edges = raw_form(result.graph)
        self.assertEqual(sorted(live_vertices), sorted(got_vertices))
        for vid, props in live_vertices.items():
            self.assertEqual(props, got_vertices[vid], vid)
        self.assertEqual(sorted(live_edges), sorted(got_edges))
        self.assertEqual(live_edges, got_edges)

        # snapshot + tail keeps the live ids too
        middle = stored[len(stored) // 2].order_key
        self.replayer.save_snapshot(self.replayer.graph_at(until=middle))
        again = self.replayer.graph_at()
        self.assertIsNotNone(again.snapshot_id)
        self.assertEqual(raw_form(result.graph), raw_form(again.graph))
