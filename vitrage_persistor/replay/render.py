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

"""Pictures and exports of a replayed graph: JSON, GraphML, DOT, SVG, HTML.

People look at graphs rather than read them, so the pictures are drawn
by real layout engines: Graphviz's ``dot`` for SVG (and the DOT source
itself), cytoscape.js for the HTML page. What each colour and shape means
lives in :mod:`~vitrage_persistor.replay.drawing`, the page in
:mod:`~vitrage_persistor.replay.page`; this module holds the filterable
:class:`View` and the :func:`render` entry point.
"""

import io
import json
from collections import defaultdict

import networkx as nx

from vitrage_persistor.replay import drawing, graph_json, page

FORMATS = ('json', 'graphml', 'dot', 'svg', 'html')


class View:
    """A plain, filterable copy of a graph: vertices and edges."""

    def __init__(self, vertices: dict, edges: list):
        self.vertices = vertices
        self.edges = edges

    @classmethod
    def from_graph(cls, graph) -> 'View':
        g = graph_json.nx_graph(graph)
        return cls({vid: dict(p) for vid, p in g.nodes(data=True)},
                   [(u, v, k, dict(p))
                    for u, v, k, p in g.edges(keys=True, data=True)])

    def restrict(self, keep: set) -> 'View':
        return View({k: v for k, v in self.vertices.items() if k in keep},
                    [e for e in self.edges if e[0] in keep and e[1] in keep])

    def find(self, ident: str) -> list:
        return [vid for vid, p in self.vertices.items()
                if ident in (vid, p.get('id'), p.get('name'),
                             p.get('vitrage_cached_id'))]


def parse_filter(text: str):
    """``type=a,b`` | ``around=VERTEX[:DEPTH]`` | ``live``."""
    if text == 'live':
        return ('live', None)
    kind, sep, value = text.partition('=')
    if not sep or kind not in ('type', 'around') or not value:
        raise ValueError('bad filter %r: use type=T1,T2, around=VERTEX[:N] '
                         'or live' % text)
    if kind == 'type':
        return ('type', set(value.split(',')))
    ident, _, depth = value.partition(':')
    try:
        return ('around', (ident, int(depth) if depth else 1))
    except ValueError:
        raise ValueError('bad depth in filter %r' % text) from None


def apply_filters(view: View, filters) -> View:
    for kind, arg in filters:
        if kind == 'live':
            view = view.restrict({k for k, p in view.vertices.items()
                                  if not p.get('vitrage_is_deleted')})
        elif kind == 'type':
            view = view.restrict({k for k, p in view.vertices.items()
                                  if p.get('vitrage_type') in arg
                                  or p.get('vitrage_category') in arg})
        else:
            ident, depth = arg
            start = view.find(ident)
            if not start:
                raise ValueError('no vertex %r in the graph' % ident)
            adjacent = defaultdict(set)
            for u, v, _, _ in view.edges:
                adjacent[u].add(v)
                adjacent[v].add(u)
            seen, frontier = set(start), set(start)
            for _ in range(depth):
                frontier = {n for f in frontier for n in adjacent[f]} - seen
                seen |= frontier
            view = view.restrict(seen)
    return view


def colour(props: dict) -> str:
    return drawing.colour(props)


def label(props: dict) -> str:
    return drawing.name(props)


# -- JSON, GraphML, DOT, SVG, HTML ------------------------------------

def to_json(view: View, document: dict | None = None) -> str:
    if document is not None:
        keep = set(view.vertices)
        document = dict(document)
        document['vertices'] = [v for v in document['vertices']
                                if v['vitrage_id'] in keep]
        document['edges'] = [e for e in document['edges']
                             if e['source'] in keep and e['target'] in keep]
        return json.dumps(document, indent=1, sort_keys=True)
    return json.dumps({'vertices': view.vertices,
                       'edges': [list(e) for e in view.edges]},
                      indent=1, sort_keys=True)


def _scalar(value):
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def to_graphml(view: View) -> str:
    g = nx.MultiDiGraph()
    for vid, props in view.vertices.items():
        g.add_node(vid, **{k: _scalar(v) for k, v in props.items()
                           if v is not None})
    for u, v, key, props in view.edges:
        g.add_edge(u, v, key=key, **{k: _scalar(x) for k, x in props.items()
                                     if x is not None})
    out = io.BytesIO()
    nx.write_graphml(g, out)
    return out.getvalue().decode('utf-8')


def to_dot(view: View, title: str = '') -> str:
    """DOT source: needs no Graphviz to write, only to draw."""
    return drawing.digraph(view, title).source


def to_svg(view: View, title: str = '') -> str:
    """Drawn by Graphviz's ``dot``; raises GraphvizMissing without it."""
    return drawing.pipe(drawing.digraph(view, title), 'svg')


def to_html(view: View, title: str = '') -> str:
    return page.to_html(view, title)


def render(fmt: str, view: View, title: str = '',
           document: dict | None = None) -> str:
    if fmt == 'json':
        return to_json(view, document)
    if fmt == 'graphml':
        return to_graphml(view)
    if fmt == 'dot':
        return to_dot(view, title)
    if fmt == 'svg':
        return to_svg(view, title)
    if fmt == 'html':
        return to_html(view, title)
    raise ValueError('unknown format %r (choose from %s)' % (
        fmt, ', '.join(FORMATS)))
