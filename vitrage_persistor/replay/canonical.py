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

"""A canonical form of an entity graph, to compare graphs across runs.

Vitrage gives each vertex a random uuid4 (replay derives them from event
ids), so two graphs built from the same events differ in every id. The
canonical form names each vertex by its ``vitrage_cached_id`` -- the md5
of its entity key, e.g. ``RESOURCE:nova.host:host-3`` -- and rewrites
every id-valued property (edge ends, an alarm's ``vitrage_resource_id``)
the same way. A re-created entity has the same key as its deleted
predecessor, so the n-th vertex of a key, in insertion order, is
``<key>#n``.
"""

from typing import Any

from vitrage_persistor.replay import graph_json

# Properties the processor takes from the wall clock (mark_deleted); only
# normalised on request, when the live graph's clock was not pinned.
_WALL_CLOCK = {'vertex': 'vitrage_sample_timestamp',
               'edge': 'update_timestamp'}


def _vertex_keys(graph, id_cache: dict | None) -> dict[str, str]:
    keys: dict[str, str] = {}
    seen: dict[str, int] = {}
    for vid, props in graph_json.nx_graph(graph).nodes(data=True):
        cached = props.get('vitrage_cached_id')
        if not cached:
            keys[vid] = 'NO_CACHED_ID:' + vid
            continue
        seen[cached] = seen.get(cached, 0) + 1
        keys[vid] = cached if seen[cached] == 1 else '%s#%d' % (
            cached, seen[cached])
    for cached, vid in (id_cache or {}).items():
        keys.setdefault(vid, cached)
    return keys


def vertex_keys(graph, id_cache: dict | None = None) -> dict[str, str]:
    """vitrage_id -> the name :func:`canonical` (so a diff) gives it."""
    return _vertex_keys(graph, id_cache)


def _rewrite(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, str):
        return keys.get(value, value)
    if isinstance(value, dict):
        return {k: _rewrite(v, keys) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rewrite(v, keys) for v in value]
    return value


def canonical(graph, id_cache: dict | None = None,
              normalise_wall_clock: bool = False) -> dict:
    """Return a sorted, JSON-able form of ``graph`` without uuids."""
    keys = _vertex_keys(graph, id_cache)
    nx_graph = graph_json.nx_graph(graph)
    vertices = {}
    for vid, props in nx_graph.nodes(data=True):
        props = {k: _rewrite(v, keys) for k, v in props.items()
                 if k != 'vitrage_id'}
        if normalise_wall_clock and props.get('vitrage_is_deleted'):
            props.pop(_WALL_CLOCK['vertex'], None)
        vertices[keys[vid]] = props
    edges = []
    for u, v, label, props in nx_graph.edges(keys=True, data=True):
        props = {k: _rewrite(x, keys) for k, x in props.items()}
        if normalise_wall_clock and props.get('vitrage_is_deleted'):
            props.pop(_WALL_CLOCK['edge'], None)
        edges.append([keys[u], keys[v], label, props])
    edges.sort(key=lambda e: (e[0], e[1], e[2]))
    return {'vertices': dict(sorted(vertices.items())), 'edges': edges}


def strip_wall_clock(form: dict) -> dict:
    """A canonical form without the timestamps of deletion marks.

    For comparing with a graph whose processor ran on the real clock.
    """
    vertices = {
        key: {p: v for p, v in props.items()
              if not (props.get('vitrage_is_deleted')
                      and p == _WALL_CLOCK['vertex'])}
        for key, props in form['vertices'].items()}
    edges = [[u, v, label, {p: x for p, x in props.items()
                            if not (props.get('vitrage_is_deleted')
                                    and p == _WALL_CLOCK['edge'])}]
             for u, v, label, props in form['edges']]
    return {'vertices': vertices, 'edges': edges}


def differences(a: dict, b: dict, limit: int = 10) -> list[str]:
    """Human-readable differences between two canonical forms (tests)."""
    out = []
    for key in sorted(set(a['vertices']) | set(b['vertices'])):
        x, y = a['vertices'].get(key), b['vertices'].get(key)
        if x == y:
            continue
        if x is None or y is None:
            out.append('vertex %s only in %s' % (key, 'B' if x is None
                                                 else 'A'))
        else:
            changed = {p: (x.get(p), y.get(p)) for p in set(x) | set(y)
                       if x.get(p) != y.get(p)}
            out.append('vertex %s (%s): %s' % (key, x.get('vitrage_type'),
                                               changed))
    ea = {tuple(e[:3]): e[3] for e in a['edges']}
    eb = {tuple(e[:3]): e[3] for e in b['edges']}
    for key in sorted(set(ea) | set(eb)):
        if ea.get(key) != eb.get(key):
            out.append('edge %s: %s != %s' % (key, ea.get(key), eb.get(key)))
    if len(out) > limit:
        out = out[:limit] + ['... %d more' % (len(out) - limit)]
    return out
