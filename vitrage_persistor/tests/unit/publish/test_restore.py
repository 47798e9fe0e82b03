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

"""The restore patches: what they replace, and how they fall back."""

import os

from oslo_config import cfg
from vitrage.entity_graph import graph_init, graph_persistency, workers
from vitrage.graph.driver.elements import Edge, Vertex
from vitrage.graph.driver.networkx_graph import NXGraph

from vitrage_persistor import service
from vitrage_persistor.publish.hooks import restore
from vitrage_persistor.tests import base

_PERSISTENCY = graph_persistency.GraphPersistency


def hooks_conf(**options):
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    for name, value in options.items():
        conf.set_override(name, value, 'persistor_hooks')
    return conf


class TestRestore(base.TestCase):

    def setUp(self):
        super().setUp()
        # vitrage-graph's own CONF, as its main() leaves it
        for group in ('entity_graph', 'datasources'):
            if group not in cfg.CONF:
                from vitrage import opts as vitrage_opts
                for grp, options in vitrage_opts.list_opts():
                    if grp == group:
                        cfg.CONF.register_opts(list(options), group=grp)

    def persistor_conf(self, url):
        path = os.path.join(self.state_dir, 'persistor.conf')
        with open(path, 'w') as f:
            f.write('[database]\nconnection = %s\nmax_retries = 0\n' % url)
        return path

    def test_nothing_patched_by_default(self):
        before = dict(_PERSISTENCY.__dict__)
        restore.Restore(hooks_conf()).install()
        self.assertEqual(before, dict(_PERSISTENCY.__dict__))

    def test_persistence_off_stores_nothing_and_uninstalls(self):
        hook = restore.Restore(hooks_conf(vitrage_persistence=False))
        originals = {name: _PERSISTENCY.__dict__[name]
                     for name in restore._OFF + ('query_recent_snapshot',)}
        hook.install()
        self.addCleanup(hook.uninstall)
        persistency = _PERSISTENCY(db=None, graph=None)
        for name in restore._OFF:
            self.assertIsNone(getattr(persistency, name)())
        # no restore, no pickle: vitrage-graph starts from scratch
        self.assertIsNone(persistency.query_recent_snapshot())
        hook.uninstall()
        for name, func in originals.items():
            self.assertIs(func, _PERSISTENCY.__dict__[name])

    def test_no_config_file_falls_back(self):
        hook = restore.Restore(hooks_conf(restore=True))
        with self.assertLogs(restore.LOG.logger, 'WARNING') as logs:
            self.assertIsNone(hook.load())
        self.assertIn('restore_config_file is not set', logs.output[0])

    def test_empty_store_falls_back(self):
        from vitrage_persistor.storage import api, migration
        url = 'sqlite:///%s/store.sqlite' % self.state_dir
        conf = service.make_conf()
        conf([], project='vitrage-persistor', default_config_files=[])
        conf.set_override('connection', url, 'database')
        store = api.Store.from_conf(conf)
        migration.upgrade(store)
        store.dispose()
        hook = restore.Restore(hooks_conf(
            restore=True, restore_config_file=self.persistor_conf(url)))
        with self.assertLogs(restore.LOG.logger, 'WARNING') as logs:
            self.assertIsNone(hook.load())
        self.assertIn('holds no events', logs.output[0])

    def test_unreachable_database_falls_back_in_one_line(self):
        # nothing listens on port 9 (discard) of this host
        url = 'postgresql+psycopg2://postgres@127.0.0.1:9/nothing'
        hook = restore.Restore(hooks_conf(
            restore=True, restore_config_file=self.persistor_conf(url)))
        with self.assertLogs(restore.LOG.logger, 'WARNING') as logs:
            self.assertIsNone(hook.load())
        self.assertEqual(1, len(logs.output))
        # psycopg2's message spans lines; the log record does not
        self.assertNotIn('\n', logs.output[0])
        self.assertIn('unusable', logs.output[0])
        self.assertIn('starting as vitrage-graph does', logs.output[0])

    def test_handover_round_trip(self):
        graph = NXGraph('g')
        graph.add_vertex(Vertex('a', {'name': 'host-1', 'x': 1}))
        graph.add_vertex(Vertex('b', {'name': 'vm-1'}))
        graph.add_edge(Edge('a', 'b', 'contains', {'is_deleted': False}))
        pid = 10 ** 7 + os.getpid()   # no real master has that pid
        path = restore.write_handover(graph, pid)
        self.addCleanup(os.unlink, path)
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        import json
        with open(path) as f:
            document = json.load(f)
        copy = NXGraph('copy')
        restore.fill(copy, document)
        self.assertEqual({'name': 'host-1', 'x': 1},
                         copy.get_vertex('a').properties)
        [edge] = copy.get_edges('a')
        self.assertEqual(('a', 'b', 'contains'),
                         (edge.source_id, edge.target_id, edge.label))


class TestVitrageRestartPath(base.TestCase):
    """What restore relies on in vitrage-graph 15.x; fails when it changes.

    ``publish/hooks/restore.py`` patches private methods of Vitrage's
    classes because vitrage-graph offers no hook to choose where its graph
    comes from.
    """

    def test_run_asks_for_a_snapshot_then_takes_the_restart_path(self):
        import inspect
        run = inspect.getsource(graph_init.VitrageGraphInit.run)
        self.assertIn('self.persist.query_recent_snapshot()', run)
        self.assertIn('self._restart_from_stored_graph(graph_snapshot)', run)
        self.assertIn('submit_enable_evaluations', run)
        self.assertIn('self._start_from_scratch()', run)
        self.assertIn('immediate_get_all=True if graph_snapshot', run)
        for name in ('_recreate_transformers_id_cache',
                     'subscribe_presist_notifier'):
            self.assertTrue(callable(getattr(graph_init.VitrageGraphInit,
                                             name)))

    def test_workers_read_the_graph_in_read_db_graph(self):
        import inspect
        task = inspect.getsource(workers.GraphCloneWorkerBase.do_task)
        self.assertIn('self._read_db_graph()', task)
        self.assertIn('_entity_graph',
                      inspect.getsource(workers.GraphCloneWorkerBase))
        for name in restore._OFF + ('query_recent_snapshot',):
            self.assertIn(name, _PERSISTENCY.__dict__)
