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

"""The versioned JSON form of a replayed graph, for snapshots and output.

It holds everything a processor needs to carry on exactly where it
stopped (see ``doc/source/replay.rst``):

* every vertex, keyed by ``vitrage_id``, *including* the ones marked
  ``vitrage_is_deleted`` -- the processor checks those marks, and a graph
  without them would bring deleted entities back;
* every edge, deleted ones too, keyed by (source, target, label);
* the transformers' entity-key -> vitrage_id cache
  (``TransformerBase.key_to_uuid_cache``). Vitrage's ``graph_init``
  rebuilds it from the vertices; we store it, because entries of vertices
  that were removed outright cannot be rebuilt.

Vertices and edges keep the graph's insertion order, so a restored graph
iterates exactly like the one that was saved.

Two layouts, both read by :func:`load`:

* version 1 (:func:`dump`), the output form: ``vertices`` and ``edges``
  as lists of objects, one per element;
* version 2 (:func:`dump_snapshot`), what snapshots store: ``nodes``
  (vitrage_id -> properties) and ``succ`` (source -> target ->
  relationship_type -> properties), networkx's own dict-of-dicts. The
  JSON parser builds those dicts itself, so loading only adds the
  in-edge index: with Zstandard, 0.15 s for a 30,000-vertex snapshot
  where zlib and version 1 took 0.24 s (``doc/source/replay.rst``). JSON object
  keys are strings, so a graph with another kind of vertex id is stored
  in version 1.

An incremental snapshot is a *delta* (:class:`ChangeTracker`): the
vertices and edges added, changed or removed since the snapshot before
it, and the id-cache entries added or removed. A vertex that was only
updated is stored as the properties that changed (delta version 2,
``changed_vertices``), not all of them: a driver's update touches 1 to
5 of a vertex's 20 properties. Loading a snapshot loads the chain's full
snapshot and applies the deltas in order (:func:`load`).
"""

from typing import Any

import networkx as nx

from vitrage_persistor import gc_pause

FORMAT = 'vitrage-persistor-graph'
DELTA_FORMAT = 'vitrage-persistor-graph-delta'
VERSION = 1
ADJACENCY = 2
READABLE = (VERSION, ADJACENCY)
# delta version 2 adds changed_vertices: a vertex's changed properties
DELTA_VERSION = 2
DELTA_READABLE = (1, DELTA_VERSION)


def nx_graph(graph) -> nx.MultiDiGraph:
    """The networkx graph inside Vitrage's ``NXGraph``.

    Read, except by :func:`load`, which fills a new, empty graph in bulk
    (nothing subscribes to it yet, so no notification is missed).

    Vitrage 15.0.1's ``NXGraph`` has no public way to walk every vertex
    and edge with its properties as they are: ``get_vertices()`` copies
    each one into a ``Vertex`` (too slow at 10^5 vertices) and there is no
    call that lists all edges at all. Its networkx graph is the private
    attribute ``_g``; this is the one place that reads it, and
    ``tests/unit/test_private_apis.py`` fails when Vitrage changes it.
    """
    return graph._g  # private: no public way, see above


def dump(graph, id_cache: dict | None = None,
         processor: str | None = None, copy: bool = True) -> dict[str, Any]:
    """Return the JSON-able document of an ``NXGraph`` and its id cache.

    With ``copy=False`` the document shares the graph's property dicts:
    only for a caller that encodes it before the graph changes again
    (a snapshot write), which saves copying every vertex.
    """
    nx_graph_ = nx_graph(graph)
    own = dict if copy else _same
    return {
        'format': FORMAT,
        'version': VERSION,
        'processor': processor,
        'vertices': [{'vitrage_id': vid, 'properties': own(props)}
                     for vid, props in nx_graph_.nodes(data=True)],
        'edges': [{'source': u, 'target': v, 'relationship_type': label,
                   'properties': own(props)}
                  for u, v, label, props in nx_graph_.edges(keys=True,
                                                            data=True)],
        'key_to_uuid_cache': dict(id_cache or {}),
    }


def _same(value):
    return value


def dump_snapshot(graph, id_cache: dict | None = None,
                  processor: str | None = None) -> dict[str, Any]:
    """The version 2 document of a graph, for a snapshot write.

    It shares the graph's property dicts (encode it before the graph
    changes again). A graph with a vertex id or an edge label that is not
    a string, which a JSON object cannot key, gets :func:`dump`'s version
    1 instead; so does a networkx whose dicts changed (see :func:`fill`).
    """
    nx_graph_ = nx_graph(graph)
    if not _has_dicts(nx_graph_):
        return dump(graph, id_cache, processor, copy=False)
    # private, as in fill(): the out-edge dicts as they are, only those
    # of vertices that have out-edges
    succ = {u: nbrs for u, nbrs in nx_graph_._succ.items() if nbrs}
    if not (all(type(vid) is str for vid in nx_graph_)
            and all(type(label) is str for nbrs in succ.values()
                    for keys in nbrs.values() for label in keys)):
        return dump(graph, id_cache, processor, copy=False)
    return {
        'format': FORMAT,
        'version': ADJACENCY,
        'processor': processor,
        'nodes': dict(nx_graph_.nodes(data=True)),
        'succ': succ,
        'key_to_uuid_cache': dict(id_cache or {}),
    }


def check(document: dict) -> None:
    if not isinstance(document, dict) or document.get('format') != FORMAT:
        raise ValueError('not a %s document' % FORMAT)
    if document.get('version') not in READABLE:
        raise ValueError('unsupported %s version %r (this release reads %s)'
                         % (FORMAT, document.get('version'),
                            ', '.join(map(str, READABLE))))


def check_delta(delta: dict) -> None:
    if not isinstance(delta, dict) or delta.get('format') != DELTA_FORMAT:
        raise ValueError('not a %s document' % DELTA_FORMAT)
    if delta.get('version') not in DELTA_READABLE:
        raise ValueError('unsupported %s version %r (this release reads %s)'
                         % (DELTA_FORMAT, delta.get('version'),
                            ', '.join(map(str, DELTA_READABLE))))


def load(document: dict):
    """Return ``(NXGraph, id cache)`` rebuilt from :func:`dump`'s output.

    The networkx graph is filled in bulk (``add_nodes_from``,
    ``add_edges_from``): what ``NXGraph.add_vertex`` does for one vertex,
    without a ``Vertex`` object and a notification per element, which
    made loading a 30,000-vertex snapshot five times slower. A document
    may carry ``deltas`` (see :func:`delta`), applied in order after the
    base: that is how an incremental snapshot is loaded. The garbage
    collector is paused meanwhile (``gc_pause``).
    """
    with gc_pause.paused():
        return _load(document)


def _load(document: dict):
    from vitrage.graph.driver.networkx_graph import NXGraph

    check(document)
    deltas = document.get('deltas') or []
    for item in deltas:
        check_delta(item)
    graph = NXGraph('Entity Graph')
    nx_graph_ = nx_graph(graph)
    if document['version'] == ADJACENCY:
        fill_adjacency(nx_graph_, document['nodes'], document['succ'])
    else:
        fill(nx_graph_, document['vertices'], document['edges'])
    cache = document.get('key_to_uuid_cache')
    if cache is None:
        # What Vitrage's graph_init._recreate_transformers_id_cache does.
        cache = {props['vitrage_cached_id']: vid
                 for vid, props in nx_graph_.nodes(data=True)
                 if props.get('vitrage_cached_id')}
    cache = IdCache(cache)
    for item in deltas:
        _apply_delta(nx_graph_, cache, item)
    return graph, cache


def edge_count(graph) -> int:
    """The number of edges of an ``NXGraph``.

    Vitrage's ``num_edges()`` sums networkx's degree view, a Python call
    per vertex: 0.08 s at 30,000 vertices, paid at every snapshot the
    standby writes. The edge view's length counts the same edges (keys
    of a multigraph included) four times faster.
    """
    return len(nx_graph(graph).edges)


_MISSING = object()


class IdCache(dict):
    """The transformers' entity-key -> vitrage_id cache of one replay.

    A dict that notes, for every key set or removed since :meth:`mark`,
    the value it had then, so that :meth:`changes` costs what changed,
    not the cache's size (at 30,000 vertices, comparing two copies took
    70 ms per incremental snapshot). Vitrage only sets entries by item
    assignment; every other mutating method is noted too.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._before: dict = {}

    def mark(self) -> None:
        self._before = {}

    def changes(self) -> tuple[dict, list]:
        """(entries added or changed, keys removed) since :meth:`mark`."""
        added, removed = {}, []
        for key, before in self._before.items():
            now = self.get(key, _MISSING)
            if now is _MISSING:
                if before is not _MISSING:
                    removed.append(key)
            elif now != before:
                added[key] = now
        return added, sorted(removed)

    def _note(self, key) -> None:
        if key not in self._before:
            self._before[key] = self.get(key, _MISSING)

    def __setitem__(self, key, value):
        self._note(key)
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self._note(key)
        super().__delitem__(key)

    def pop(self, key, *default):
        self._note(key)
        return super().pop(key, *default)

    def popitem(self):
        key, value = super().popitem()
        self._before.setdefault(key, value)
        return key, value

    def setdefault(self, key, default=None):
        self._note(key)
        return super().setdefault(key, default)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other):
        self.update(other)
        return self

    def clear(self):
        for key in self:
            self._note(key)
        super().clear()


def fill(nx_graph_: nx.MultiDiGraph, vertices: list, edges: list) -> None:
    """Fill an empty MultiDiGraph with a document's vertices and edges.

    The graph takes the documents' property dicts as its own (no copy):
    only for documents decoded for this graph alone.

    networkx's public bulk calls cost a Python call and a dict copy per
    element (``add_edges_from`` calls ``add_edge`` for each edge): 0.3 s
    of a 30,000-vertex load, where filling its adjacency dicts directly
    takes 0.08 s (``doc/source/replay.rst``). Those dicts (``_node``,
    ``_succ``, ``_pred``) are private; networkx documents the
    dict-of-dicts layout for subclasses (the ``*_dict_factory``
    attributes) but offers no call that adopts one.
    ``tests/unit/test_private_apis.py`` fails when networkx changes it,
    and a graph without them is filled through the public calls.
    """
    if not _can_adopt(nx_graph_):
        nx_graph_.add_nodes_from((vertex['vitrage_id'], vertex['properties'])
                                 for vertex in vertices)
        nx_graph_.add_edges_from((edge['source'], edge['target'],
                                  edge['relationship_type'],
                                  edge['properties']) for edge in edges)
        return
    node = {vertex['vitrage_id']: vertex['properties'] for vertex in vertices}
    succ = {vid: {} for vid in node}
    pred = {vid: {} for vid in node}
    for edge in edges:
        u, v = edge['source'], edge['target']
        for end in (u, v):
            if end not in node:  # as add_edge: an unknown end is added
                node[end], succ[end], pred[end] = {}, {}, {}
        keys = succ[u].get(v)
        if keys is None:
            keys = succ[u][v] = pred[v][u] = {}
        keys[edge['relationship_type']] = edge['properties']
    _adopt(nx_graph_, node, succ, pred)


def fill_adjacency(nx_graph_: nx.MultiDiGraph, nodes: dict,
                   succ: dict) -> None:
    """Fill an empty MultiDiGraph from a version 2 document's dicts.

    The graph adopts ``nodes`` and ``succ`` as they are (decoded for this
    graph alone) and gets the in-edge index built from them, sharing
    each edge's ``{label: properties}`` dict as networkx does. In-edges
    are indexed in out-edge order, as :func:`fill` does. Same private
    dicts as :func:`fill`, and the same fallback to networkx's calls.
    """
    if not _can_adopt(nx_graph_):
        nx_graph_.add_nodes_from(nodes.items())
        nx_graph_.add_edges_from(
            (u, v, label, props) for u, nbrs in succ.items()
            for v, keys in nbrs.items() for label, props in keys.items())
        return
    out = {vid: {} for vid in nodes}
    pred = {vid: {} for vid in nodes}
    for u, nbrs in succ.items():
        if u not in nodes:  # as add_edge: an unknown end is added
            nodes[u], pred[u] = {}, {}
        out[u] = nbrs
        for v, keys in nbrs.items():
            if v not in nodes:
                nodes[v], out[v], pred[v] = {}, {}, {}
            pred[v][u] = keys
    _adopt(nx_graph_, nodes, out, pred)


def _can_adopt(nx_graph_: nx.MultiDiGraph) -> bool:
    """Whether an empty graph's dicts are as :func:`_adopt` fills them."""
    return not len(nx_graph_) and _has_dicts(nx_graph_)


def _has_dicts(nx_graph_: nx.MultiDiGraph) -> bool:
    """Whether networkx keeps its graph in the dicts :func:`fill` knows."""
    return all(isinstance(getattr(nx_graph_, name, None), dict)
               for name in ('_node', '_succ', '_pred'))


def _adopt(nx_graph_: nx.MultiDiGraph, node: dict, succ: dict,
           pred: dict) -> None:
    # private, see fill(); updated in place: the graph's views hold them
    nx_graph_._node.update(node)
    nx_graph_._succ.update(succ)
    nx_graph_._pred.update(pred)


def clone(graph, id_cache: dict):
    """Return ``(NXGraph, IdCache)``, a copy of a graph and its id cache.

    Property dicts are copied (one level, as networkx's ``copy()`` and
    Vitrage's ``NXGraph.copy()`` do), and the order of vertices,
    out-edges and in-edges is kept. The source's adjacency dicts are
    read, and the copy's filled, directly, as in :func:`fill` (same
    reason, same test): networkx's views wrap every neighbour in a view
    object, which made a clone of 30,000 vertices cost more than
    decoding and loading the snapshot.
    """
    from vitrage.graph.driver.networkx_graph import NXGraph

    src = nx_graph(graph)
    new = NXGraph('Entity Graph')
    target = nx_graph(new)
    if not _can_adopt(target):
        # networkx changed its dicts (test_private_apis says so): the
        # public calls, slower, same graph
        target.add_nodes_from((vid, dict(props))
                              for vid, props in src.nodes(data=True))
        target.add_edges_from((u, v, key, dict(data)) for u, v, key, data
                              in src.edges(keys=True, data=True))
        return new, IdCache(id_cache)
    with gc_pause.paused():
        # private, see fill(); src is the same networkx class as target
        node = {vid: props.copy() for vid, props in src._node.items()}
        succ = {}
        for u, nbrs in src._succ.items():
            out = succ[u] = {}
            for v, keys in nbrs.items():
                out[v] = copied = {}
                for key, data in keys.items():
                    copied[key] = data.copy()
        pred = {}
        for v, nbrs in src._pred.items():
            into = pred[v] = {}
            for u in nbrs:
                into[u] = succ[u][v]
        _adopt(target, node, succ, pred)
    return new, IdCache(id_cache)


def apply_delta(graph, id_cache: dict, delta: dict) -> None:
    """Move a loaded graph on by one delta of its snapshot chain."""
    check_delta(delta)
    with gc_pause.paused():
        _apply_delta(nx_graph(graph), id_cache, delta)


def _apply_delta(nx_graph_: nx.MultiDiGraph, cache: dict, item: dict):
    """Move a graph loaded from a snapshot to the next one in its chain.

    Removed elements go first: a vertex removed and added again since the
    previous snapshot is appended, as in the live graph, and takes its
    old edges with it (the live graph lost them too; the ones added again
    are in the delta).
    """
    for vid in item['removed_vertices']:
        if vid in nx_graph_:
            nx_graph_.remove_node(vid)
    for u, v, label in item['removed_edges']:
        if nx_graph_.has_edge(u, v, label):
            nx_graph_.remove_edge(u, v, label)
    nodes = nx_graph_.nodes
    for change in item.get('changed_vertices', ()):
        props = nodes.get(change['vitrage_id'])
        if props is None:
            raise ValueError('snapshot delta changes vertex %s, which its '
                             'parent does not hold' % change['vitrage_id'])
        for key in change['unset']:
            props.pop(key, None)
        props.update(change['set'])
    for vertex in item['vertices']:
        vid = vertex['vitrage_id']
        if vid in nodes:
            props = nodes[vid]
            props.clear()
            props.update(vertex['properties'])
        else:
            nx_graph_.add_node(vid, **vertex['properties'])
    adj = nx_graph_.adj
    for edge in item['edges']:
        u, v, label = edge['source'], edge['target'], edge['relationship_type']
        if nx_graph_.has_edge(u, v, label):
            props = adj[u][v][label]
            props.clear()
            props.update(edge['properties'])
        else:
            nx_graph_.add_edge(u, v, label, **edge['properties'])
    for key in item['removed_cache_keys']:
        cache.pop(key, None)
    cache.update(item['key_to_uuid_cache'])


class ChangeTracker:
    """What changed in a graph since the snapshot it was loaded from.

    It listens through ``Graph.subscribe``, Vitrage's public notification
    of every vertex and edge added, updated or removed (the evaluator
    listens the same way), and keeps ids, and the properties a vertex had
    before its first change; the properties are read from the graph when
    :meth:`delta` is written, and only those that changed are stored for
    a vertex that was updated (:func:`property_change`). So an
    incremental snapshot costs what changed, not the graph's size.
    Vitrage has no way to unsubscribe: :meth:`stop` turns the listener
    into a no-op.

    ``base_id`` is the snapshot the changes are relative to (None: the
    graph was not loaded from one, only a full snapshot can follow).
    ``chain`` is what :class:`~vitrage_persistor.replay.engine.Replayer`
    needs to decide when to compact: the number of deltas since the last
    full snapshot, their bytes, and the bytes of that full snapshot.
    """

    def __init__(self, graph, id_cache: dict, base_id: int | None,
                 chain: tuple[int, int, int] = (0, 0, 0)):
        self.graph = graph
        self.id_cache = id_cache
        self.active = True
        self.reset(base_id, chain)
        self._edge_count = None
        graph.subscribe(self._changed)

    def reset(self, base_id: int | None,
              chain: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.base_id = base_id
        self.chain = chain
        # dicts as ordered sets: the order elements were (re)added in
        self._vertices: dict = {}
        self._removed_vertices: set = set()
        # vitrage_id -> its properties when first changed since base_id
        # (None: it was added), for changed_vertices
        self._vertex_base: dict = {}
        self._edges: dict = {}
        self._removed_edges: set = set()
        if isinstance(self.id_cache, IdCache):
            self.id_cache.mark()
            self._cache = None
        else:
            self._cache = dict(self.id_cache)

    def stop(self) -> None:
        self.active = False

    def _changed(self, before, current, is_vertex, graph) -> None:
        if not self.active:
            return
        element = current if current is not None else before
        if element is None:
            return
        if is_vertex:
            key, seen, removed = (element.vertex_id, self._vertices,
                                  self._removed_vertices)
            if key not in self._vertex_base:
                # Vitrage's notification hands over a copy of the vertex
                # as it was before this change (NXGraph.get_vertex)
                self._vertex_base[key] = (before.properties
                                          if before is not None else None)
        else:
            key, seen, removed = ((element.source_id, element.target_id,
                                   element.label), self._edges,
                                  self._removed_edges)
        if self._edge_count is not None:
            if not is_vertex:
                self._edge_count += (before is None) - (current is None)
            elif current is None:
                self._edge_count = None  # its edges went silently
        if current is None:
            removed.add(key)
        if before is None:
            seen.pop(key, None)  # (re)added: keeps its new place last
        seen[key] = None

    def edge_count(self) -> int:
        """The graph's edges, counted once and then followed.

        An edge added or removed is notified, but a vertex removed takes
        its edges along silently: then they are counted again.
        """
        if self._edge_count is None:
            self._edge_count = edge_count(self.graph)
        return self._edge_count

    @property
    def changed(self) -> int:
        return len(self._vertices) + len(self._edges)

    def delta(self, processor: str | None = None) -> dict[str, Any]:
        """The changes since ``base_id`` as a JSON-able document.

        Properties are shared with the graph (encode before it changes).
        """
        nx_graph_ = nx_graph(self.graph)
        nodes, adj = nx_graph_.nodes, nx_graph_.adj
        vertices, changed_vertices, removed_vertices = [], [], []
        for vid in self._vertices:
            if vid in self._removed_vertices or vid not in nodes:
                removed_vertices.append(vid)
            elif self._vertex_base.get(vid) is not None:
                change = property_change(self._vertex_base[vid], nodes[vid])
                if change is not None:
                    if change[0] or change[1]:
                        changed_vertices.append({'vitrage_id': vid,
                                                 'set': change[0],
                                                 'unset': change[1]})
                    continue
            if vid in nodes:
                vertices.append({'vitrage_id': vid,
                                 'properties': nodes[vid]})
        edges, removed_edges = [], []
        for key in self._edges:
            u, v, label = key
            props = adj[u][v].get(label) if (
                u in adj and v in adj[u]) else None
            if key in self._removed_edges or props is None:
                removed_edges.append(list(key))
            if props is not None:
                edges.append({'source': u, 'target': v,
                              'relationship_type': label,
                              'properties': props})
        if self._cache is None:
            added, removed = self.id_cache.changes()
        else:
            cache, base = self.id_cache, self._cache
            added = dict(cache.items() - base.items())
            removed = sorted(base.keys() - cache.keys())
        return {
            'format': DELTA_FORMAT,
            'version': DELTA_VERSION,
            'processor': processor,
            'vertices': vertices,
            'changed_vertices': changed_vertices,
            'removed_vertices': removed_vertices,
            'edges': edges,
            'removed_edges': removed_edges,
            'key_to_uuid_cache': added,
            'removed_cache_keys': removed,
        }


def property_change(before: dict, now: dict) -> tuple[dict, list] | None:
    """``(set, unset)`` that turn ``before`` into ``now``, keys in order.

    Applied as a delta applies it (unset keys popped, then ``set``
    merged), it gives ``now`` with its keys in the same order, which
    holds when ``now`` lists the keys it kept from ``before`` first, in
    their order, then the new ones: what Vitrage's ``update_vertex`` does
    (it updates the property dict in place and deletes the keys set to
    None). Otherwise None: the caller stores the whole dict. Values are
    compared by type and ``==``; Vitrage replaces a property's value, it
    does not change a list or dict inside one in place.
    """
    unset = [key for key in before if key not in now]
    kept = [key for key in before if key in now]
    keys = list(now)
    if keys[:len(kept)] != kept:
        return None
    set_ = {key: now[key] for key in keys
            if key not in before or not _equal(before[key], now[key])}
    return set_, unset


def _equal(a, b) -> bool:
    # as JSON: 1, 1.0 and True are equal in Python, not in a document
    return type(a) is type(b) and a == b
