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

People look at graphs rather than read them, so SVG and HTML colour each
vertex by its state (alarms by severity), draw alarms as diamonds and
resources as circles, and show deleted entities dashed, faded and struck
through. The SVG layout is built in (layers by entity kind), so no
Graphviz is needed; ``dot`` output is there for those who have it.
"""

import html
import io
import json
from collections import defaultdict

import networkx as nx

from vitrage_persistor.replay import graph_json

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


# -- colours -----------------------------------------------------------

_STATE_COLOURS = {
    'OK': '#4caf50', 'AVAILABLE': '#4caf50', 'ACTIVE': '#4caf50',
    'RUNNING': '#4caf50', 'IN-USE': '#4caf50',
    'SUBOPTIMAL': '#ffc107', 'TRANSIENT': '#03a9f4',
    'SUSPENDED': '#9e9e9e', 'ERROR': '#f44336', 'DOWN': '#f44336',
    'CRITICAL': '#d32f2f', 'SEVERE': '#ff5722', 'WARNING': '#ffc107',
    'N/A': '#b0bec5', 'UNDEFINED DATASOURCE': '#b0bec5',
}


def colour(props: dict) -> str:
    if props.get('vitrage_category') == 'ALARM':
        state = props.get('vitrage_operational_severity') or \
            props.get('severity')
    else:
        state = props.get('vitrage_operational_state') or \
            props.get('vitrage_aggregated_state')
    return _STATE_COLOURS.get(str(state).upper(), '#90a4ae')


def label(props: dict) -> str:
    value = props.get('name') or props.get('id')
    return str(value or props.get('vitrage_type') or '?')


# -- JSON, GraphML, DOT -------------------------------------------------

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


def _dot_quote(text: str) -> str:
    return '"%s"' % str(text).replace('\\', '\\\\').replace('"', '\\"')


def to_dot(view: View) -> str:
    lines = ['digraph entity_graph {', '  rankdir=LR;',
             '  node [style=filled, fontname="Helvetica", fontsize=10];']
    for vid, p in view.vertices.items():
        attrs = {'label': '%s\\n%s' % (label(p), p.get('vitrage_type', '')),
                 'fillcolor': colour(p),
                 'shape': 'diamond' if p.get('vitrage_category') == 'ALARM'
                 else 'ellipse'}
        if p.get('vitrage_is_deleted'):
            attrs['style'] = 'filled,dashed'
            attrs['fillcolor'] = '#eeeeee'
        lines.append('  %s [%s];' % (_dot_quote(vid), ', '.join(
            '%s=%s' % (k, _dot_quote(v)) for k, v in attrs.items())))
    for u, v, key, p in view.edges:
        style = ', style="dashed"' if p.get('vitrage_is_deleted') else ''
        lines.append('  %s -> %s [label=%s%s];' % (
            _dot_quote(u), _dot_quote(v), _dot_quote(key), style))
    lines.append('}')
    return '\n'.join(lines) + '\n'


# -- SVG ---------------------------------------------------------------

_LAYERS = {'openstack.cluster': 0, 'nova.zone': 1, 'nova.host': 2,
           'switch': 2, 'neutron.network': 2}
_PER_ROW, _DX, _DY, _R = 18, 96, 92, 16


def _layer(p: dict) -> int:
    if p.get('vitrage_category') == 'ALARM':
        return 4
    return _LAYERS.get(p.get('vitrage_type'), 3)


def _layout(view: View) -> dict:
    """Layers top-down by entity kind; each layer sorted by parent."""
    rows = defaultdict(list)
    for vid, p in view.vertices.items():
        rows[_layer(p)].append(vid)
    parents = defaultdict(list)
    for u, v, _, _ in view.edges:
        parents[v].append(u)
        parents[u].append(v)
    pos, y = {}, 40
    for layer in sorted(rows):
        members = rows[layer]
        members.sort(key=lambda n: (
            min([pos[q][0] for q in parents[n] if q in pos] or [0]),
            label(view.vertices[n])))
        for start in range(0, len(members), _PER_ROW):
            chunk = members[start:start + _PER_ROW]
            for i, vid in enumerate(chunk):
                pos[vid] = (60 + i * _DX, y)
            y += _DY
    return pos


def to_svg(view: View, title: str = '') -> str:
    pos = _layout(view)
    width = 120 + _DX * min(_PER_ROW, max(
        [1] + [sum(1 for p in pos.values() if p[1] == y)
               for y in {p[1] for p in pos.values()}]))
    height = max([p[1] for p in pos.values()] + [0]) + 110
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="Helvetica,Arial,sans-serif" font-size="10">'
           % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="16" font-size="13">%s</text>'
           % html.escape(title)]
    for u, v, key, p in view.edges:
        if u not in pos or v not in pos:
            continue
        (x1, y1), (x2, y2) = pos[u], pos[v]
        dash = ' stroke-dasharray="4,3" opacity="0.4"' if p.get(
            'vitrage_is_deleted') else ''
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#78909c"'
                   '%s><title>%s</title></line>'
                   % (x1, y1, x2, y2, dash, html.escape(key)))
    for vid, (x, y) in pos.items():
        p = view.vertices[vid]
        deleted = bool(p.get('vitrage_is_deleted'))
        style = 'fill="%s" stroke="#37474f"' % colour(p)
        if deleted:
            style = ('fill="#eeeeee" stroke="#9e9e9e" '
                     'stroke-dasharray="3,2" opacity="0.6"')
        elif p.get('vitrage_is_placeholder'):
            style = 'fill="white" stroke="%s" stroke-width="2"' % colour(p)
        tip = html.escape('%s\n%s' % (vid, json.dumps(
            p, indent=1, sort_keys=True, default=str)))
        if p.get('vitrage_category') == 'ALARM':
            shape = '<polygon points="%d,%d %d,%d %d,%d %d,%d" %s/>' % (
                x, y - _R, x + _R, y, x, y + _R, x - _R, y, style)
        else:
            shape = '<circle cx="%d" cy="%d" r="%d" %s/>' % (x, y, _R, style)
        text_style = ' text-decoration="line-through" fill="#9e9e9e"' \
            if deleted else ''
        out.append('<g><title>%s</title>%s<text x="%d" y="%d" '
                   'text-anchor="middle"%s>%s</text><text x="%d" y="%d" '
                   'text-anchor="middle" fill="#607d8b" font-size="8">%s'
                   '</text></g>' % (
                       tip, shape, x, y + _R + 11, text_style,
                       html.escape(label(p)[:18]), x, y + _R + 20,
                       html.escape(str(p.get('vitrage_type', ''))[:18])))
    out.append(_legend(10, height - 22))
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def _legend(x: int, y: int) -> str:
    items = [('OK', '#4caf50'), ('warning / suboptimal', '#ffc107'),
             ('severe', '#ff5722'), ('critical / error', '#d32f2f'),
             ('n/a', '#b0bec5')]
    parts = []
    for text, fill in items:
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>'
                     '<text x="%d" y="%d">%s</text>' % (
                         x, y, fill, x + 14, y + 9, html.escape(text)))
        x += 30 + 6 * len(text)
    parts.append('<circle cx="%d" cy="%d" r="5" fill="#ddd" stroke="#333"/>'
                 '<text x="%d" y="%d">resource</text>'
                 % (x, y + 5, x + 8, y + 9))
    x += 70
    parts.append('<polygon points="%d,%d %d,%d %d,%d %d,%d" fill="#ddd" '
                 'stroke="#333"/><text x="%d" y="%d">alarm</text>' % (
                     x, y - 1, x + 6, y + 5, x, y + 11, x - 6, y + 5,
                     x + 9, y + 9))
    x += 60
    parts.append('<circle cx="%d" cy="%d" r="5" fill="#eee" stroke="#999" '
                 'stroke-dasharray="2,1"/><text x="%d" y="%d" '
                 'text-decoration="line-through">deleted</text>' % (
                     x, y + 5, x + 8, y + 9))
    return ''.join(parts)


def to_html(view: View, title: str = '') -> str:
    rows = []
    for vid, p in sorted(view.vertices.items(),
                         key=lambda kv: (kv[1].get('vitrage_type', ''),
                                         label(kv[1]))):
        rows.append('<tr%s><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                    '<td><code>%s</code></td></tr>' % (
                        ' class="deleted"' if p.get('vitrage_is_deleted')
                        else '',
                        html.escape(str(p.get('vitrage_type', ''))),
                        html.escape(label(p)),
                        html.escape(str(p.get('vitrage_operational_state')
                                        or p.get('vitrage_operational_'
                                                 'severity') or '')),
                        'deleted' if p.get('vitrage_is_deleted') else '',
                        html.escape(vid)))
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<title>%s</title><style>body{font-family:sans-serif}'
            'table{border-collapse:collapse}td,th{padding:2px 8px;'
            'border-bottom:1px solid #ddd}tr.deleted td{color:#999;'
            'text-decoration:line-through}</style></head><body>'
            '<h1>%s</h1><p>%d vertices (%d deleted), %d edges. Hover a '
            'vertex for its properties.</p>%s<table><tr><th>type</th>'
            '<th>name</th><th>state</th><th></th><th>vitrage_id</th></tr>'
            '%s</table></body></html>\n' % (
                html.escape(title), html.escape(title), len(view.vertices),
                sum(1 for p in view.vertices.values()
                    if p.get('vitrage_is_deleted')),
                len(view.edges), to_svg(view, ''), '\n'.join(rows)))


def render(fmt: str, view: View, title: str = '',
           document: dict | None = None) -> str:
    if fmt == 'json':
        return to_json(view, document)
    if fmt == 'graphml':
        return to_graphml(view)
    if fmt == 'dot':
        return to_dot(view)
    if fmt == 'svg':
        return to_svg(view, title)
    if fmt == 'html':
        return to_html(view, title)
    raise ValueError('unknown format %r (choose from %s)' % (
        fmt, ', '.join(FORMATS)))
