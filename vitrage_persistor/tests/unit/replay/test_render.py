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

"""Renderers, filters and diffs on a replayed graph."""

import xml.etree.ElementTree as ET

from vitrage_persistor.replay import canonical, diff, processor, render
from vitrage_persistor.tests.common import replay_base as base
from vitrage_persistor.tests.unit.replay import test_processor


class TestRender(base.ReplayTestCase):

    def setUp(self):
        super().setUp()
        self.proc = processor.VitrageProcessor(self.conf)
        self.proc.apply(test_processor.stored_trace())
        self.view = render.View.from_graph(self.proc.graph)

    def test_every_format(self):
        for fmt in render.FORMATS:
            text = render.render(fmt, self.view, 'title',
                                 self.proc.to_document())
            self.assertTrue(text)
        ET.fromstring(render.to_graphml(self.view))
        self.assertRaises(ValueError, render.render, 'png', self.view)

    def test_colours(self):
        self.assertEqual('#d32f2f', render.colour(
            {'vitrage_category': 'ALARM',
             'vitrage_operational_severity': 'CRITICAL'}))
        self.assertEqual('#4caf50', render.colour(
            {'vitrage_category': 'RESOURCE',
             'vitrage_operational_state': 'OK'}))

    def test_filters(self):
        hosts = render.apply_filters(self.view,
                                     [render.parse_filter('type=nova.host')])
        self.assertEqual({'nova.host'}, {p['vitrage_type'] for p in
                                         hosts.vertices.values()})
        around = render.apply_filters(
            self.view, [render.parse_filter('around=zone-0:1')])
        self.assertIn('openstack.cluster', {p['vitrage_type'] for p in
                                            around.vertices.values()})
        self.assertLess(len(around.vertices), len(self.view.vertices))
        for bad in ('x', 'type=', 'around=a:b', 'colour=red'):
            self.assertRaises(ValueError, render.parse_filter, bad)
        self.assertRaises(ValueError, render.apply_filters, self.view,
                          [('around', ('no-such-vertex', 1))])

    def test_diff(self):
        events = test_processor.stored_trace()
        old = processor.VitrageProcessor(self.conf)
        old.apply(events[:len(events) // 2])
        result = diff.graph_diff(old.graph, old.id_cache, self.proc.graph,
                                 self.proc.id_cache)
        self.assertFalse(diff.is_empty(result))
        new_form = canonical.canonical(self.proc.graph, self.proc.id_cache)
        old_form = canonical.canonical(old.graph, old.id_cache)
        added = {a['key'] for a in result['vertices']['added']}
        self.assertEqual(set(new_form['vertices']) - set(old_form['vertices']),
                         added)
        text = diff.format_text(result)
        self.assertIn('vitrage_is_deleted: False -> True', text)
        same = diff.graph_diff(old.graph, old.id_cache, old.graph,
                               old.id_cache)
        self.assertTrue(diff.is_empty(same))
