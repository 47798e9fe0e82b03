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

"""The pictures: Graphviz's SVG and DOT, and the cytoscape.js page.

These parse what Graphviz really drew (``dot`` must be installed, as
tools/test-setup.sh does) and check what issue 11 found wrong with the
hand-made layout: arrows and relationship labels on every edge, no
literal backslash-n, every vertex told apart, alarms beside their
resource and a legend for every colour and shape.
"""

import json
import math
import re
import xml.etree.ElementTree as ET
from unittest import mock

import fixtures

from vitrage_persistor.replay import drawing, page, processor, render
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import replay_base
from vitrage_persistor.tests.unit.replay import test_processor

SVG = '{http://www.w3.org/2000/svg}'


def svg_groups(svg_text: str, cls: str) -> dict:
    """title -> <g class=cls> element of a Graphviz SVG."""
    root = ET.fromstring(svg_text)
    return {g.find(SVG + 'title').text: g
            for g in root.iter(SVG + 'g') if g.get('class') == cls}


def texts(element) -> list:
    return [t.text or '' for t in element.iter(SVG + 'text')]


def small_view() -> render.View:
    """A small graph with the cases the hand-made layout got wrong.

    Two "vm-3" instances (one deleted), a host, an alarm on the host,
    and names that DOT or HTML would misread.
    """
    vertices = {
        'aaaaaaaa-1': {'vitrage_category': 'RESOURCE',
                       'vitrage_type': 'nova.instance', 'name': 'vm-3',
                       'id': 'i-1', 'vitrage_operational_state': 'OK'},
        'bbbbbbbb-2': {'vitrage_category': 'RESOURCE',
                       'vitrage_type': 'nova.instance', 'name': 'vm-3',
                       'id': 'i-2', 'vitrage_is_deleted': True},
        'cccccccc-3': {'vitrage_category': 'RESOURCE',
                       'vitrage_type': 'nova.host',
                       'name': 'host "a"\\n<b>x</b>',
                       'vitrage_operational_state': 'ERROR'},
        'dddddddd-4': {'vitrage_category': 'ALARM',
                       'vitrage_type': 'nagios', 'name': 'CPU load',
                       'vitrage_operational_severity': 'CRITICAL'},
    }
    edges = [('cccccccc-3', 'aaaaaaaa-1', 'contains',
              {'relationship_type': 'contains'}),
             ('cccccccc-3', 'bbbbbbbb-2', 'contains',
              {'relationship_type': 'contains', 'vitrage_is_deleted': True}),
             ('dddddddd-4', 'cccccccc-3', 'on',
              {'relationship_type': 'on'})]
    return render.View(vertices, edges)


class TestSmallDrawing(base.TestCase):

    def setUp(self):
        super().setUp()
        self.view = small_view()

    def test_dot_labels_escaped_once(self):
        source = render.to_dot(self.view, 'title')
        # Lines are joined by DOT's own \n escape, not a doubled one.
        for vtype in ('nova.instance', 'nova.host', 'nagios'):
            self.assertIn('\\n' + vtype, source)
            self.assertNotIn('\\\\n' + vtype, source)
        self.assertIn('label="vm-3\\nnova.instance\\nid i-1"', source)
        self.assertIn('label="host \\"a\\"\\\\n<b>x</b>\\nnova.host"',
                      source)
        self.assertIn('-> aaaaaaaa-1 [label=contains', source.replace(
            '"', ''))

    def test_svg_draws_what_the_graph_says(self):
        svg = render.to_svg(self.view, 'title')
        nodes = svg_groups(svg, 'node')
        for vid in self.view.vertices:
            self.assertIn(vid, nodes)
        self.assertEqual(['vm-3', 'nova.instance', 'id i-1'],
                         texts(nodes['aaaaaaaa-1']))
        self.assertEqual(['vm-3', 'nova.instance', 'id i-2', '(deleted)'],
                         texts(nodes['bbbbbbbb-2']))
        # The name is shown literally: its backslash-n and markup too.
        self.assertEqual(['host "a"\\n<b>x</b>', 'nova.host'],
                         texts(nodes['cccccccc-3']))
        self.assertEqual('#f44336', nodes['cccccccc-3'].find(
            './/' + SVG + 'ellipse').get('fill'))
        alarm = nodes['dddddddd-4']
        self.assertIsNotNone(alarm.find('.//' + SVG + 'polygon'))
        edges = svg_groups(svg, 'edge')
        self.assertEqual({'cccccccc-3->aaaaaaaa-1', 'cccccccc-3->bbbbbbbb-2',
                          'dddddddd-4->cccccccc-3',
                          'legend_resource->legend_alarm',
                          'legend_alarm->legend_placeholder',
                          'legend_placeholder->legend_deleted'},
                         set(edges))
        for title, g in edges.items():
            self.assertIsNotNone(g.find('.//' + SVG + 'path'), title)
            self.assertIsNotNone(g.find('.//' + SVG + 'polygon'),
                                 '%s has no arrowhead' % title)
        self.assertEqual(['on'], texts(edges['dddddddd-4->cccccccc-3']))
        self.assertEqual('5,2', edges['cccccccc-3->bbbbbbbb-2'].find(
            './/' + SVG + 'path').get('stroke-dasharray'))

    def test_svg_fits_its_viewbox(self):
        root = ET.fromstring(render.to_svg(self.view))
        width = float(root.get('width').rstrip('pt'))
        box = [float(x) for x in root.get('viewBox').split()]
        self.assertAlmostEqual(width, box[2], delta=1)
        for text in root.iter(SVG + 'text'):
            self.assertLessEqual(float(text.get('x')), box[2])

    def test_alarm_beside_its_resource(self):
        places = drawing.positions(self.view)
        # rankdir=LR: x is the rank.
        self.assertAlmostEqual(places['dddddddd-4'][0],
                               places['cccccccc-3'][0], delta=1)
        self.assertLess(places['cccccccc-3'][0], places['aaaaaaaa-1'][0])

    def test_legend_explains_every_colour_and_shape(self):
        svg = render.to_svg(self.view)
        root = ET.fromstring(svg)
        legend = [g for g in root.iter(SVG + 'g')
                  if g.get('class') in ('node', 'edge', 'cluster')
                  and 'legend' in g.find(SVG + 'title').text]
        words = ' '.join(t for g in legend for t in texts(g))
        for word in ('resource', 'alarm', 'placeholder', 'deleted',
                     'causes (RCA)', 'relationship', 'deleted edge'):
            self.assertIn(word, words)
        shapes = {e.tag for g in legend for e in g.iter()}
        self.assertEqual(set(), {SVG + 'ellipse', SVG + 'polygon'} - shapes)
        fills = {e.get('fill') for g in legend for e in g.iter()}
        for colour, states in drawing.legend_colours():
            self.assertIn(colour, fills)
            self.assertIn(states.split(',')[0], words)
        used = {drawing.colour(p) for p in self.view.vertices.values()}
        self.assertEqual(set(), used - {c for c, _ in
                                        drawing.legend_colours()})

    def test_no_graphviz(self):
        empty = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable('PATH', empty))
        exc = self.assertRaises(drawing.GraphvizMissing, render.to_svg,
                                self.view)
        self.assertIn('apt-get install graphviz', str(exc))
        # DOT source needs no Graphviz, and the page falls back to
        # cytoscape's own layout.
        self.assertIn('digraph', render.to_dot(self.view))
        data = page_data(render.to_html(self.view))
        self.assertFalse(any('position' in e for e in data['elements']))
        self.assertIn('breadthfirst', render.to_html(self.view))

    def test_html_page(self):
        text = render.to_html(self.view, 'graph <at> t')
        self.assertIn('<title>graph &lt;at&gt; t</title>', text)
        self.assertIn(page.cytoscape_js()[:200], text)
        data = page_data(text)
        nodes = {e['data']['id']: e for e in data['elements']
                 if e['group'] == 'nodes'}
        edges = [e['data'] for e in data['elements'] if e['group'] == 'edges']
        self.assertEqual(set(self.view.vertices), set(nodes))
        self.assertEqual({('dddddddd-4', 'cccccccc-3', 'on'),
                          ('cccccccc-3', 'aaaaaaaa-1', 'contains'),
                          ('cccccccc-3', 'bbbbbbbb-2', 'contains')},
                         {(e['source'], e['target'], e['label'])
                          for e in edges})
        self.assertEqual('vm-3\nnova.instance\nid i-2\n(deleted)',
                         nodes['bbbbbbbb-2']['data']['label'])
        self.assertEqual('diamond', nodes['dddddddd-4']['data']['shape'])
        places = drawing.positions(self.view)
        for vid, node in nodes.items():
            self.assertEqual({'x': places[vid][0], 'y': places[vid][1]},
                             node['position'])
        # The page's own script can't be closed by the data it embeds.
        self.assertEqual(3, text.count('</script>'))
        for colour, _ in drawing.legend_colours():
            self.assertIn('background:%s' % colour, text)

    def test_duplicates_without_entity_id(self):
        vertices = {'1234567890': {'name': 'x', 'vitrage_type': 't'},
                    'abcdefghij': {'name': 'x', 'vitrage_type': 't'}}
        lines = drawing.display_lines(vertices)
        self.assertEqual(['x', 't', '#12345678'], lines['1234567890'])
        self.assertEqual(['x', 't', '#abcdefgh'], lines['abcdefghij'])


def page_data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="graph-data">'
                      r'(.*?)</script>', text, re.S)
    return json.loads(match.group(1))


class TestTraceDrawing(replay_base.ReplayTestCase):
    """A graph that Vitrage's own processor built from its mocks."""

    def setUp(self):
        super().setUp()
        proc = processor.VitrageProcessor(self.conf)
        proc.apply(test_processor.stored_trace())
        self.view = render.View.from_graph(proc.graph)

    def test_every_vertex_and_edge_drawn(self):
        svg = render.to_svg(self.view, 'trace')
        nodes = svg_groups(svg, 'node')
        self.assertEqual(set(self.view.vertices),
                         set(nodes) - {n for n in nodes
                                       if n.startswith('legend_')})
        labels = [tuple(texts(g)) for vid, g in nodes.items()]
        self.assertEqual(len(labels), len(set(labels)),
                         'two vertices read the same')
        for g in svg_groups(svg, 'node').values():
            for text in texts(g):
                self.assertNotIn('\\n', text)
        root = ET.fromstring(svg)
        drawn = [g for g in root.iter(SVG + 'g') if g.get('class') == 'edge'
                 and not g.find(SVG + 'title').text.startswith('legend_')]
        self.assertEqual(len(self.view.edges), len(drawn))
        for g in drawn:
            self.assertIsNotNone(g.find('.//' + SVG + 'polygon'))
            self.assertTrue(texts(g) and all(texts(g)))

    def test_alarms_beside_their_resources(self):
        places = drawing.positions(self.view)
        pairs = [(u, v) for u, v, k, p in self.view.edges
                 if drawing.relationship(k, p) == 'on'
                 and drawing.is_alarm(self.view.vertices[u])]
        self.assertTrue(pairs)
        beside = sum(1 for u, v in pairs
                     if abs(places[u][0] - places[v][0]) < 1)
        # An alarm on two resources sits beside one of them.
        self.assertGreaterEqual(beside, len({u for u, _ in pairs}))

    def test_page_edges_follow_dots_routes(self):
        places, routes = drawing.layout(self.view)
        data = page_data(render.to_html(self.view, 'trace'))
        edges = [e['data'] for e in data['elements'] if e['group'] == 'edges']
        routed = [(n, e) for n, e in enumerate(edges) if 'route' in e]
        # alarms beside their resource: dot routes those edges around
        self.assertTrue(routed)
        for n, edge in routed:
            (sx, sy), (tx, ty) = places[edge['source']], places[edge['target']]
            length = math.hypot(tx - sx, ty - sy)
            weights = [float(w) for w in
                       edge['route']['segment-weights'].split()]
            dists = [float(d) for d in
                     edge['route']['segment-distances'].split()]
            # where cytoscape puts each segment point (see page.segments)
            drawn = [(sx + w * (tx - sx) - d * (ty - sy) / length,
                      sy + w * (ty - sy) + d * (tx - sx) / length)
                     for w, d in zip(weights, dists, strict=True)]
            for (x, y), (rx, ry) in zip(drawn, routes[n], strict=True):
                self.assertAlmostEqual(rx, x, delta=0.5)
                self.assertAlmostEqual(ry, y, delta=0.5)

    def test_page_has_every_vertex_with_dot_positions(self):
        with mock.patch.object(drawing, 'pipe', wraps=drawing.pipe) as p:
            data = page_data(render.to_html(self.view, 'trace'))
        self.assertEqual('json', p.call_args[0][1])
        nodes = [e for e in data['elements'] if e['group'] == 'nodes']
        self.assertEqual(len(self.view.vertices), len(nodes))
        self.assertTrue(all('position' in n for n in nodes))
