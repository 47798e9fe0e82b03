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

"""How a vertex or an edge looks, and the Graphviz drawing of a graph.

Graphviz's ``dot`` lays the graph out (ranks left to right, edges routed
around the nodes, arrows and labels placed without overlaps); this module
only says what to draw. The same styles feed the HTML page
(:mod:`vitrage_persistor.replay.page`), so both pictures use one legend:

* resources are ellipses, alarms diamonds, placeholders (an entity known
  only by reference) hollow, deleted entities grey, dashed and marked
  "(deleted)";
* the fill is the operational state, or the severity for alarms;
* every edge is an arrow labelled with its relationship type; ``causes``
  edges (RCA) are red and bold;
* an alarm sits in the same rank as the resource it is ``on``, so it is
  drawn beside it rather than a column further;
* two vertices that would read the same get a short id to tell them
  apart.
"""

import collections
import json

import graphviz

FONT = 'Helvetica,Arial,sans-serif'

#: state or severity (upper case) -> fill colour.
STATE_COLOURS = {
    'OK': '#4caf50', 'AVAILABLE': '#4caf50', 'ACTIVE': '#4caf50',
    'RUNNING': '#4caf50', 'IN-USE': '#4caf50',
    'SUBOPTIMAL': '#ffc107', 'TRANSIENT': '#03a9f4',
    'SUSPENDED': '#9e9e9e', 'ERROR': '#f44336', 'DOWN': '#f44336',
    'CRITICAL': '#d32f2f', 'SEVERE': '#ff5722', 'WARNING': '#ffc107',
    'N/A': '#b0bec5', 'UNDEFINED DATASOURCE': '#b0bec5',
}
OTHER_COLOUR = '#90a4ae'
DELETED_FILL = '#eeeeee'
DELETED_LINE = '#9e9e9e'
EDGE_COLOUR = '#546e7a'
CAUSES_COLOUR = '#c62828'


def legend_colours() -> list:
    """(colour, 'STATE, STATE...') for every fill a vertex can get."""
    states = collections.defaultdict(list)
    for state, fill in STATE_COLOURS.items():
        states[fill].append(state)
    rows = [(fill, ', '.join(names)) for fill, names in states.items()]
    rows.append((OTHER_COLOUR, 'any other or no state'))
    return rows


def is_alarm(props: dict) -> bool:
    return props.get('vitrage_category') == 'ALARM'


def colour(props: dict) -> str:
    if is_alarm(props):
        state = props.get('vitrage_operational_severity') or \
            props.get('severity')
    else:
        state = props.get('vitrage_operational_state') or \
            props.get('vitrage_aggregated_state')
    return STATE_COLOURS.get(str(state).upper(), OTHER_COLOUR)


def name(props: dict) -> str:
    value = props.get('name') or props.get('id')
    return str(value or props.get('vitrage_type') or '?')


def relationship(key, props: dict) -> str:
    return str(props.get('relationship_type') or key or '')


def display_lines(vertices: dict) -> dict:
    """vitrage_id -> the lines of its label, unique across ``vertices``.

    The first line is the name, the second the type. Vertices whose two
    lines are equal (two "vm-3" instances, or one deleted and its
    re-created twin) get a third: the entity id if that tells them apart,
    else the start of the vertex id.
    """
    lines = {vid: [name(p), str(p.get('vitrage_type') or '')]
             for vid, p in vertices.items()}
    groups = collections.defaultdict(list)
    for vid, text in lines.items():
        groups[tuple(text)].append(vid)
    for members in groups.values():
        if len(members) < 2:
            continue
        ids = [str(vertices[vid].get('id') or '')[:24] for vid in members]
        use_ids = len(set(ids)) == len(ids) and all(
            i and i != lines[vid][0]
            for i, vid in zip(ids, members, strict=True))
        for i, vid in zip(ids, members, strict=True):
            lines[vid].append('id %s' % i if use_ids else '#%s' % vid[:8])
    for vid, p in vertices.items():
        if p.get('vitrage_is_deleted'):
            lines[vid].append('(deleted)')
    return lines


def node_style(props: dict) -> dict:
    """Shape, fill, line and line style of one vertex, engine-neutral."""
    style = {'shape': 'diamond' if is_alarm(props) else 'ellipse',
             'fill': colour(props), 'line': '#37474f', 'dashed': False,
             'text': '#000000'}
    if props.get('vitrage_is_deleted'):
        style.update(fill=DELETED_FILL, line=DELETED_LINE, dashed=True,
                     text=DELETED_LINE)
    elif props.get('vitrage_is_placeholder'):
        style.update(fill='#ffffff', line=colour(props))
    return style


def edge_style(key, props: dict) -> dict:
    causes = relationship(key, props) == 'causes'
    return {'line': CAUSES_COLOUR if causes else EDGE_COLOUR,
            'width': 2 if causes else 1,
            'dashed': bool(props.get('vitrage_is_deleted'))}


def _text(value: str) -> str:
    """A DOT string holding ``value`` literally.

    The graphviz package leaves backslashes alone (so that ``\\n`` and
    ``\\l`` keep their DOT meaning) and reads ``<...>`` as an HTML label;
    a name from a datasource must be neither.
    """
    return graphviz.nohtml(str(value).replace('\\', '\\\\'))


def _label(lines: list) -> str:
    return graphviz.nohtml('\\n'.join(
        str(line).replace('\\', '\\\\') for line in lines))


def _alarm_hosts(view) -> dict:
    """resource vitrage_id -> the alarms that are ``on`` it."""
    hosts = collections.defaultdict(list)
    placed = set()
    for u, v, key, p in view.edges:
        if (u in placed or relationship(key, p) != 'on'
                or not is_alarm(view.vertices.get(u, {}))
                or v not in view.vertices or is_alarm(view.vertices[v])):
            continue
        hosts[v].append(u)
        placed.add(u)
    return hosts


def digraph(view, title: str = '', legend: bool = True) -> graphviz.Digraph:
    """The graph as a :class:`graphviz.Digraph`, ready for any engine."""
    g = graphviz.Digraph('entity_graph', engine='dot')
    g.attr(rankdir='LR', nodesep='0.25', ranksep='0.6', fontname=FONT,
           fontsize='14', labelloc='t', label=_text(title),
           bgcolor='white')
    g.attr('node', fontname=FONT, fontsize='10', style='filled',
           margin='0.05,0.03')
    g.attr('edge', fontname=FONT, fontsize='8', arrowsize='0.7')
    labels = display_lines(view.vertices)
    for vid, p in sorted(view.vertices.items()):
        s = node_style(p)
        g.node(_text(vid), label=_label(labels[vid]), shape=s['shape'],
               fillcolor=s['fill'], color=s['line'], fontcolor=s['text'],
               style='filled,dashed' if s['dashed'] else 'filled',
               penwidth='2' if p.get('vitrage_is_placeholder') else '1',
               tooltip=_text(json.dumps(p, indent=1, sort_keys=True,
                                        default=str)))
    for resource, alarms in sorted(_alarm_hosts(view).items()):
        with g.subgraph() as same:
            same.attr(rank='same')
            for vid in [resource] + sorted(alarms):
                same.node(_text(vid))
    for u, v, key, p in sorted(view.edges, key=lambda e: e[:3]):
        s = edge_style(key, p)
        g.edge(_text(u), _text(v), label=_text(relationship(key, p)),
               color=s['line'], fontcolor=s['line'],
               penwidth=str(s['width']),
               style='dashed' if s['dashed'] else 'solid')
    if legend:
        _add_legend(g)
    return g


def _add_legend(g: graphviz.Digraph) -> None:
    with g.subgraph(name='cluster_legend') as leg:
        leg.attr(label='legend', fontsize='11', color='#b0bec5',
                 style='rounded')
        leg.attr('node', fontsize='9', width='0.3', height='0.3')
        samples = [
            ('legend_resource', 'resource', 'ellipse', '#cfd8dc',
             '#37474f', 'filled'),
            ('legend_alarm', 'alarm', 'diamond', '#cfd8dc', '#37474f',
             'filled'),
            ('legend_placeholder', 'placeholder\\n(known by reference)',
             'ellipse', '#ffffff', '#37474f', 'filled'),
            ('legend_deleted', 'deleted', 'ellipse', DELETED_FILL,
             DELETED_LINE, 'filled,dashed'),
        ]
        for ident, text, shape, fill, line, style in samples:
            leg.node(ident, label=text, shape=shape, fillcolor=fill,
                     color=line, style=style, penwidth='1')
        rows = ''.join(
            '<TR><TD BGCOLOR="%s" WIDTH="14"> </TD>'
            '<TD ALIGN="LEFT">%s</TD></TR>' % (fill, _html(states))
            for fill, states in legend_colours())
        leg.node('legend_colours', shape='plain', style='',
                 label='<<TABLE BORDER="0" CELLSPACING="2">'
                       '<TR><TD COLSPAN="2" ALIGN="LEFT"><B>fill: state '
                       '(alarms: severity)</B></TD></TR>%s</TABLE>>' % rows)
        leg.edge('legend_resource', 'legend_alarm', label='relationship',
                 color=EDGE_COLOUR, fontcolor=EDGE_COLOUR)
        leg.edge('legend_alarm', 'legend_placeholder', label='causes (RCA)',
                 color=CAUSES_COLOUR, fontcolor=CAUSES_COLOUR, penwidth='2')
        leg.edge('legend_placeholder', 'legend_deleted',
                 label='deleted edge', style='dashed', color=EDGE_COLOUR,
                 fontcolor=EDGE_COLOUR)
        leg.edge('legend_deleted', 'legend_colours', style='invis')


def _html(text: str) -> str:
    return (text.replace('&', '&amp;').replace('<', '&lt;')
            .replace('>', '&gt;'))


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` is not installed."""


def pipe(g: graphviz.Digraph, fmt: str) -> str:
    try:
        return g.pipe(format=fmt, encoding='utf-8')
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(
            'drawing needs Graphviz\'s "dot" command: install the '
            '"graphviz" package of your distribution (apt-get install '
            'graphviz), or use --format dot|json|graphml') from None


def _point(text: str) -> tuple:
    x, y = text.split(',')[:2]
    return float(x), -float(y)


def _route(spline: str) -> list:
    """Points along one of dot's edge splines, y downwards.

    ``pos`` is ``[e,x,y] [s,x,y] p0 p1 p2 p3 [p4 p5 p6 ...]``: cubic
    Bezier pieces sharing their ends. Each piece gives its middle and its
    end, enough for a polyline that follows dot's route around nodes.
    """
    pts = [_point(p) for p in spline.split() if not p.startswith(('e,',
                                                                  's,'))]
    route = []
    for k in range(0, len(pts) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts[k:k + 4]
        route.append(((x0 + 3 * x1 + 3 * x2 + x3) / 8,
                      (y0 + 3 * y1 + 3 * y2 + y3) / 8))
        if k + 4 < len(pts):
            route.append((x3, y3))
    return route


def layout(view) -> tuple:
    """dot's layout: ``({vitrage_id: (x, y)}, [route per edge])``.

    y grows downwards, as on a page. The routes are in the order of
    ``sorted(view.edges)`` (the order :func:`digraph` adds them); each is
    a list of points between the two ends, or None where dot's edge
    could not be matched.
    """
    drawn = json.loads(pipe(digraph(view, legend=False), 'json'))
    objects = drawn.get('objects', [])
    places = {obj['name']: _point(obj['pos']) for obj in objects
              if obj.get('name') in view.vertices and 'pos' in obj}
    names = {obj.get('_gvid'): obj.get('name') for obj in objects}
    edges = sorted(view.edges, key=lambda e: e[:3])
    routes = [None] * len(edges)
    # dot lists the edges in the order they were added; strict=False: a
    # count that differs leaves the rest unmatched (straight) rather than
    # failing the page
    for i, (edge, gv) in enumerate(zip(edges, drawn.get('edges', []),
                                       strict=False)):
        if (names.get(gv.get('tail')), names.get(gv.get('head'))) == \
                edge[:2] and 'pos' in gv:
            routes[i] = _route(gv['pos'])
    return places, routes


def positions(view) -> dict:
    """vitrage_id -> (x, y) from ``dot``, y downwards (as in a page)."""
    return layout(view)[0]
