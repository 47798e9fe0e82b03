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
"""

from typing import Any

import networkx as nx

FORMAT = 'vitrage-persistor-graph'
VERSION = 1


def nx_graph(graph) -> nx.MultiDiGraph:
    """The networkx graph inside Vitrage's ``NXGraph``, read-only.

    Vitrage 15.0.1's ``NXGraph`` has no public way to walk every vertex
    and edge with its properties as they are: ``get_vertices()`` copies
    each one into a ``Vertex`` (too slow at 10^5 vertices) and there is no
    call that lists all edges at all. Its networkx graph is the private
    attribute ``_g``; this is the one place that reads it, and
    ``tests/unit/test_private_apis.py`` fails when Vitrage changes it.
    """
    return graph._g  # private: no public way, see above


def dump(graph, id_cache: dict | None = None,
         processor: str | None = None) -> dict[str, Any]:
    """Return the JSON-able document of an ``NXGraph`` and its id cache."""
    nx_graph_ = nx_graph(graph)
    return {
        'format': FORMAT,
        'version': VERSION,
        'processor': processor,
        'vertices': [{'vitrage_id': vid, 'properties': dict(props)}
                     for vid, props in nx_graph_.nodes(data=True)],
        'edges': [{'source': u, 'target': v, 'relationship_type': label,
                   'properties': dict(props)}
                  for u, v, label, props in nx_graph_.edges(keys=True,
                                                            data=True)],
        'key_to_uuid_cache': dict(id_cache or {}),
    }


def check(document: dict) -> None:
    if not isinstance(document, dict) or document.get('format') != FORMAT:
        raise ValueError('not a %s document' % FORMAT)
    if document.get('version') != VERSION:
        raise ValueError('unsupported %s version %r (this release reads %d)'
                         % (FORMAT, document.get('version'), VERSION))


def load(document: dict):
    """Return ``(NXGraph, id cache)`` rebuilt from :func:`dump`'s output."""
    from vitrage.graph.driver.elements import Edge, Vertex
    from vitrage.graph.driver.networkx_graph import NXGraph

    check(document)
    graph = NXGraph('Entity Graph')
    for vertex in document['vertices']:
        graph.add_vertex(Vertex(vertex['vitrage_id'],
                                dict(vertex['properties'])))
    for edge in document['edges']:
        graph.add_edge(Edge(edge['source'], edge['target'],
                            edge['relationship_type'],
                            dict(edge['properties'])))
    cache = document.get('key_to_uuid_cache')
    if cache is None:
        # What Vitrage's graph_init._recreate_transformers_id_cache does.
        cache = {v['properties']['vitrage_cached_id']: v['vitrage_id']
                 for v in document['vertices']
                 if v['properties'].get('vitrage_cached_id')}
    return graph, dict(cache)
