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

"""Start vitrage-graph from the persistor's history, without pickles.

With ``[persistor_hooks] restore = true``, ``vitrage-persistor-graph``
patches four points of vitrage-graph 15.x (on the classes, before
``VitrageGraphInit`` is built; no Vitrage file is edited):

* ``GraphPersistency.query_recent_snapshot``, which ``VitrageGraphInit.run``
  asks first: it answers with the graph replayed from the persistor's
  store (newest usable snapshot plus the events after it, through Vitrage's
  own processor, :mod:`vitrage_persistor.replay.engine`), so ``run`` takes
  Vitrage's own restart path: workers enabled without a full
  re-evaluation, then ``immediate_get_all`` to reconcile with the cloud.
  An empty or unreachable store falls back to Vitrage's stock start, with
  one log line saying why.
* ``VitrageGraphInit._restart_from_stored_graph``: for that answer, the
  main process fills its graph with the replayed vertices and edges and
  rebuilds the transformers' id cache, as Vitrage does after its pickle.
* ``GraphCloneWorkerBase._read_db_graph``: the evaluator and API workers
  (graph clones in their own processes) load the graph the main process
  hands over in a JSON file (``graph_json`` format), instead of each one
  replaying the history or reading Vitrage's pickle. Measured: one load
  of a JSON document per worker, against one replay per worker.
* ``VitrageGraphInit._start_from_scratch``: after a stock start, the main
  process hands its graph over the same way, so workers never need
  Vitrage's pickle.

With ``vitrage_persistence = false``, ``GraphPersistency`` stores nothing:
no row per graph change, no commit per event, no pickle.
"""

import json
import os
import tempfile
import time

from oslo_config import cfg
from oslo_log import log
from vitrage.entity_graph import graph_init, graph_persistency, workers
from vitrage.graph.driver.elements import Edge, Vertex

LOG = log.getLogger(__name__)

_INIT = graph_init.VitrageGraphInit
_PERSISTENCY = graph_persistency.GraphPersistency
_WORKER = workers.GraphCloneWorkerBase
_OFF = ('store_graph', 'persist_event', 'flush_events')


class Restored:
    """The answer to ``query_recent_snapshot``: a replayed graph."""

    def __init__(self, document: dict, event_count: int, snapshot_id):
        self.document = document
        self.event_count = event_count
        self.snapshot_id = snapshot_id
        # what VitrageGraphInit logs of a pickle snapshot
        self.graph_snapshot = b''
        self.event_id = None


def one_line(exc: Exception) -> str:
    """An exception's text on one line (drivers' messages span several)."""
    return ' '.join(str(exc).split())


def handover_path(master_pid: int) -> str:
    """The graph the main process hands to its workers."""
    return os.path.join(tempfile.gettempdir(),
                        'vitrage-persistor-graph-%d.json' % master_pid)


def write_handover(graph, master_pid: int) -> str:
    """Write ``graph`` for the workers, atomically."""
    from vitrage_persistor.replay import graph_json

    path = handover_path(master_pid)
    document = graph_json.dump(graph, None, 'vitrage-graph')
    partial = path + '.part'
    # the graph is the cloud's inventory: readable by vitrage-graph only
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(document, f)
    os.replace(partial, path)
    return path


def fill(graph, document: dict) -> None:
    """Add the document's vertices and edges to an (empty) NXGraph."""
    for vertex in document['vertices']:
        graph.add_vertex(Vertex(vertex['vitrage_id'], vertex['properties']))
    for edge in document['edges']:
        graph.add_edge(Edge(edge['source'], edge['target'],
                            edge['relationship_type'], edge['properties']))


class Restore:
    """The patches above; :meth:`install` before vitrage-graph starts."""

    name = 'restore'

    def __init__(self, conf: cfg.ConfigOpts):
        hconf = conf.persistor_hooks
        self.restore = hconf.restore
        self.persistence = hconf.vitrage_persistence
        self.config_file = hconf.restore_config_file
        self.handover_timeout = 600.0
        self._originals = None

    @property
    def active(self) -> bool:
        return self.restore or not self.persistence

    def load(self) -> Restored | None:
        """The graph replayed from the store, or None (and why, logged)."""
        if not self.config_file:
            LOG.warning('restore: [persistor_hooks] restore_config_file is '
                        'not set; starting as vitrage-graph does')
            return None
        try:
            from vitrage_persistor import service
            from vitrage_persistor.replay import engine, errors
            from vitrage_persistor.storage import api as storage_api

            vconf = cfg.CONF   # vitrage-graph's own, parsed by its main()
            pconf = service.make_conf()
            pconf(['--config-file', self.config_file],
                  project='vitrage-persistor')
            # the restored graph must be the one this vitrage-graph builds
            pconf.set_override('datasources_values_dir',
                               vconf.entity_graph.datasources_values_dir,
                               'replay')
            pconf.set_override('datasource_types',
                               list(vconf.datasources.types), 'replay')
            store = storage_api.Store.from_conf(pconf)
        except Exception as exc:
            LOG.warning('restore: cannot read the persistor configuration '
                        '%s (%s); starting as vitrage-graph does',
                        self.config_file, one_line(exc))
            return None
        start = time.monotonic()
        try:
            result = engine.Replayer(pconf, store).graph_at()
            document = result.processor.to_document()
        except errors.EmptyHistory:
            LOG.warning('restore: the persistor store holds no events; '
                        'starting as vitrage-graph does')
            return None
        except Exception as exc:
            LOG.warning('restore: the persistor store is unusable (%s: '
                        '%s); starting as vitrage-graph does',
                        type(exc).__name__, one_line(exc))
            return None
        finally:
            store.dispose()
        LOG.info('restore: %d vertices and %d edges from the persistor '
                 '(%s, %d events replayed after snapshot %s) in %.2fs',
                 len(document['vertices']), len(document['edges']),
                 result.target, result.applied, result.snapshot_id,
                 time.monotonic() - start)
        return Restored(document, result.event_count, result.snapshot_id)

    def install(self) -> None:
        if self._originals is not None or not self.active:
            return
        names = {_PERSISTENCY: ('query_recent_snapshot',) + _OFF,
                 _INIT: ('_restart_from_stored_graph', '_start_from_scratch'),
                 _WORKER: ('_read_db_graph',)}
        self._originals = {(cls, name): cls.__dict__[name]
                           for cls, names_ in names.items()
                           for name in names_}
        hook = self
        orig = self._originals

        def query_recent_snapshot(persistency):
            with_pid = handover_path(os.getpid())
            if os.path.exists(with_pid):
                os.unlink(with_pid)   # a stale one, from a reused pid
            if hook.restore:
                restored = hook.load()
                if restored is not None:
                    return restored
            if not hook.persistence:
                return None
            return orig[(_PERSISTENCY, 'query_recent_snapshot')](persistency)

        def restart_from_stored_graph(init, graph_snapshot):
            if not isinstance(graph_snapshot, Restored):
                orig[(_INIT, '_restart_from_stored_graph')](
                    init, graph_snapshot)
            else:
                fill(init.graph, graph_snapshot.document)
                init._recreate_transformers_id_cache()
                LOG.info('%s vertices loaded from the persistor',
                         init.graph.num_vertices())
                init.subscribe_presist_notifier()
            write_handover(init.graph, os.getpid())

        def start_from_scratch(init):
            orig[(_INIT, '_start_from_scratch')](init)
            write_handover(init.graph, os.getpid())

        def read_db_graph(worker):
            path = handover_path(os.getppid())
            deadline = time.monotonic() + hook.handover_timeout
            while not os.path.exists(path):
                if time.monotonic() > deadline:
                    raise RuntimeError('no graph from the main process in '
                                       '%s' % path)
                time.sleep(0.05)
            start = time.monotonic()
            with open(path) as f:
                fill(worker._entity_graph, json.load(f))
            worker._entity_graph.ready = True
            LOG.info('restore: worker %d loaded %d vertices from the main '
                     'process\'s hand-over in %.2fs', os.getpid(),
                     worker._entity_graph.num_vertices(),
                     time.monotonic() - start)

        _PERSISTENCY.query_recent_snapshot = query_recent_snapshot
        _INIT._restart_from_stored_graph = restart_from_stored_graph
        _INIT._start_from_scratch = start_from_scratch
        _WORKER._read_db_graph = read_db_graph
        if not self.persistence:
            for name in _OFF:
                setattr(_PERSISTENCY, name, _nothing)
        LOG.info('vitrage-persistor restore %s, Vitrage\'s own graph '
                 'persistence %s', 'on' if self.restore else 'off',
                 'on' if self.persistence else 'off')

    def uninstall(self) -> None:
        if self._originals is None:
            return
        for (cls, name), func in self._originals.items():
            setattr(cls, name, func)
        self._originals = None


def _nothing(*args, **kwargs):
    """GraphPersistency with Vitrage's own persistence off."""
    return None
