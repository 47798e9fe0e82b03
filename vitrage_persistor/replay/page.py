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

"""One self-contained HTML page of a graph, drawn by cytoscape.js.

The page inlines the cytoscape.js release committed under
``vitrage_persistor/static/cytoscape/`` (MIT, its LICENSE beside it), so
the file works offline and needs no build step. Node positions come
from Graphviz's ``dot`` when it is installed, so the page and the SVG
show the same layout; without it, or above the bound a server sets
(:func:`bounded_layout`), cytoscape's own ``breadthfirst`` layout places
them. The history page (``api/history_page.py``) draws the same
elements. Styles and the legend are the ones of
:mod:`vitrage_persistor.replay.drawing`. Click a vertex for its
properties; scroll to zoom, drag to pan.
"""

import functools
import html
import json
import math
from importlib import resources

from vitrage_persistor.replay import drawing


@functools.cache
def cytoscape_js() -> str:
    return resources.files('vitrage_persistor').joinpath(
        'static', 'cytoscape', 'cytoscape.min.js').read_text('utf-8')


@functools.cache
def graph_style_js() -> str:
    """``VP_GRAPH_STYLE``, the style this page and the history page share."""
    return resources.files('vitrage_persistor').joinpath(
        'static', 'history', 'graph-style.js').read_text('utf-8')


def segments(source: tuple, target: tuple, route: list) -> dict | None:
    """cytoscape's ``segments`` style that follows ``route``.

    cytoscape places segment point i at ``S + w_i (T - S) + d_i n``, with
    n the unit normal ``(-dy, dx) / |T - S|`` (node centres, with
    ``edge-distances: node-position``). None for a route that is a
    straight line anyway.
    """
    (sx, sy), (tx, ty) = source, target
    dx, dy = tx - sx, ty - sy
    length2 = dx * dx + dy * dy
    if length2 < 1 or not route:
        return None
    length = math.sqrt(length2)
    weights, distances = [], []
    for px, py in route:
        vx, vy = px - sx, py - sy
        weights.append((vx * dx + vy * dy) / length2)
        distances.append((vy * dx - vx * dy) / length)
    if max(abs(d) for d in distances) < 3:
        return None
    return {'curve-style': 'segments', 'edge-distances': 'node-position',
            'segment-weights': ' '.join('%.4f' % w for w in weights),
            'segment-distances': ' '.join('%.2f' % d for d in distances)}


def elements(view, places: dict | None, routes: list | None = None
             ) -> list:
    """The graph as cytoscape.js element definitions.

    With dot's ``places`` and edge ``routes`` the page shows dot's
    drawing: edges follow dot's splines around the nodes.
    """
    labels = drawing.display_lines(view.vertices)
    out = []
    for vid, p in sorted(view.vertices.items()):
        s = drawing.node_style(p)
        node = {'group': 'nodes', 'data': {
            'id': vid, 'label': '\n'.join(labels[vid]),
            'shape': s['shape'], 'fill': s['fill'], 'line': s['line'],
            'text': s['text'], 'dashed': 'dashed' if s['dashed'] else 'solid',
            'props': p}}
        if places and vid in places:
            x, y = places[vid]
            node['position'] = {'x': x, 'y': y}
        out.append(node)
    for n, (u, v, key, p) in enumerate(sorted(view.edges,
                                              key=lambda e: e[:3])):
        s = drawing.edge_style(key, p)
        edge = {'group': 'edges', 'data': {
            'id': 'e%d' % n, 'source': u, 'target': v,
            'label': drawing.relationship(key, p), 'line': s['line'],
            'width': s['width'],
            'dashed': 'dashed' if s['dashed'] else 'solid', 'props': p}}
        route = routes[n] if routes else None
        if route and places and u in places and v in places:
            style = segments(places[u], places[v], route)
            if style:
                edge['data']['route'] = style
        out.append(edge)
    return out


def _script_json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, sort_keys=True, default=str).replace(
        '</', '<\\/').replace('<!--', '<\\!--')


_STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;display:flex;
 flex-direction:column;height:100vh}
header{padding:6px 12px;border-bottom:1px solid #ddd}
header h1{font-size:16px;margin:0 0 4px}
main{flex:1;display:flex;min-height:0}
#graph{flex:1;min-width:0}
aside{width:320px;overflow:auto;border-left:1px solid #ddd;padding:6px;
 font-size:12px}
aside pre{white-space:pre-wrap;word-break:break-all}
.legend span.sw{display:inline-block;width:12px;height:12px;
 border:1px solid #555;vertical-align:middle;margin-right:4px}
.legend li{list-style:none;margin:2px 0}
.legend ul{padding-left:0}
"""

_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById('graph-data').textContent);
  var preset = data.elements.some(function (e) { return e.position; });
  var cy = cytoscape({
    container: document.getElementById('graph'),
    elements: data.elements,
    wheelSensitivity: 0.3,
    layout: preset ? {name: 'preset', fit: true, padding: 20}
                   : {name: 'breadthfirst', directed: true, padding: 20},
    style: VP_GRAPH_STYLE.concat([
      {selector: ':selected', style: {
        'border-width': 4, 'border-color': '#1565c0',
        'line-color': '#1565c0', 'target-arrow-color': '#1565c0'}}
    ])
  });
  // dot's edge routes, as cytoscape segments (see page.segments)
  cy.edges().forEach(function (e) {
    if (e.data('route')) { e.style(e.data('route')); }
  });
  var info = document.getElementById('info');
  cy.on('tap', 'node, edge', function (evt) {
    var d = evt.target.data();
    info.textContent = (evt.target.isNode() ? d.id + '\\n' : '') +
      JSON.stringify(d.props, null, 1);
  });
  window.entityGraph = cy;
})();
"""


def legend_html() -> str:
    rows = ''.join(
        '<li><span class="sw" style="background:%s"></span>%s</li>' % (
            fill, html.escape(states))
        for fill, states in drawing.legend_colours())
    return (
        '<div class="legend"><b>Legend</b><ul>'
        '<li>&#9679; ellipse: resource</li><li>&#9670; diamond: alarm'
        ' (drawn beside the resource it is on)</li>'
        '<li>hollow: placeholder (known only by reference)</li>'
        '<li>grey, dashed, "(deleted)": deleted</li>'
        '<li>arrow: relationship, labelled with its type; '
        '<span style="color:%s">red, thick: causes (RCA)</span>; '
        'dashed: deleted edge</li></ul><b>Fill: state (alarms: '
        'severity)</b><ul>%s</ul></div>' % (drawing.CAUSES_COLOUR, rows))


def bounded_layout(view, max_vertices: int | None = None) -> tuple:
    """dot's ``(places, routes, None)``, or ``(None, None, why not)``.

    dot's time grows faster than the graph (minutes at 10^4 vertices), so
    a server drawing for a request stops at ``max_vertices`` (None: no
    bound, for the command line); above it, or without Graphviz, the
    page lays the graph out in the browser with cytoscape.js.
    """
    if max_vertices is not None and len(view.vertices) > max_vertices:
        return None, None, ('%d vertices, more than [api] '
                            'page_layout_max_vertices = %d'
                            % (len(view.vertices), max_vertices))
    try:
        places, routes = drawing.layout(view)
    except drawing.GraphvizMissing:
        return None, None, 'Graphviz is not installed'
    return places, routes, None


def to_html(view, title: str = '', max_layout_vertices: int | None = None
            ) -> str:
    places, routes, why_not = bounded_layout(view, max_layout_vertices)
    data = _script_json({'elements': elements(view, places, routes)})
    deleted = sum(1 for p in view.vertices.values()
                  if p.get('vitrage_is_deleted'))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<title>%(title)s</title><style>%(style)s</style></head><body>'
        '<header><h1>%(title)s</h1>%(nv)d vertices (%(nd)d deleted), '
        '%(ne)d edges; layout: %(layout)s. Click a vertex or an edge for '
        'its properties; scroll to zoom, drag to pan.</header>'
        '<main><div id="graph"></div><aside>%(legend)s'
        '<b>Selected</b><pre id="info">(nothing)</pre></aside></main>'
        '<script type="application/json" id="graph-data">%(data)s</script>'
        '<script>/* cytoscape.js, MIT licence: see its header */\n'
        '%(lib)s</script><script>%(script)s</script></body></html>\n' % {
            'title': html.escape(title), 'style': _STYLE,
            'nv': len(view.vertices), 'nd': deleted, 'ne': len(view.edges),
            'layout': 'Graphviz dot' if places is not None
            else 'cytoscape breadthfirst (%s)' % html.escape(why_not),
            'legend': legend_html(),
            'data': data,
            'lib': cytoscape_js(),
            'script': graph_style_js() + _SCRIPT})
