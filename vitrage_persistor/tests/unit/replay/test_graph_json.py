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

"""Incremental snapshots: a base plus deltas loads as the live graph."""

import json
import random
import zlib

from oslotest import base as test_base

from vitrage_persistor.replay import graph_json
from vitrage_persistor.storage import records, snapshot_codec


def _vertex(vid, **props):
    from vitrage.graph.driver.elements import Vertex
    return Vertex(vid, dict(props, vitrage_id=vid))


def _edge(u, v, label, **props):
    from vitrage.graph.driver.elements import Edge
    return Edge(u, v, label, dict(props, relationship_type=label))


def _json(document):
    """What a snapshot write and read turn a document into."""
    return json.loads(json.dumps(document))


class TestChangeTracker(test_base.BaseTestCase):
    """With a plain dict as the id cache: compared with a copy."""

    cache_type = dict

    def setUp(self):
        super().setUp()
        from vitrage.graph.driver.networkx_graph import NXGraph
        self.graph = NXGraph('Entity Graph')
        self.cache = self.cache_type()
        for i in range(6):
            self.graph.add_vertex(_vertex('v%d' % i, state='OK', n=i))
            self.cache['key%d' % i] = 'v%d' % i
        for i in range(5):
            self.graph.add_edge(_edge('v%d' % i, 'v%d' % (i + 1),
                                      'contains'))
        self.base = _json(graph_json.dump(self.graph, self.cache))

    def assertLoadsAsLive(self, deltas):
        document = dict(self.base, deltas=[_json(d) for d in deltas])
        graph, cache = graph_json.load(document)
        # vertex order too: a restored graph iterates like the live one
        self.assertEqual(_json(graph_json.dump(self.graph, self.cache)),
                         _json(graph_json.dump(graph, cache)))

    def test_no_change_is_an_empty_delta(self):
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        delta = tracker.delta('p')
        self.assertEqual(0, tracker.changed)
        self.assertEqual(([], [], [], [], {}, []), (
            delta['vertices'], delta['removed_vertices'], delta['edges'],
            delta['removed_edges'], delta['key_to_uuid_cache'],
            delta['removed_cache_keys']))
        self.assertLoadsAsLive([delta])

    def test_update_add_remove_and_readd(self):
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        g = self.graph
        g.update_vertex(_vertex('v1', state='ERROR'))
        g.update_vertex(_vertex('v2', n=None))  # a property removed
        g.add_vertex(_vertex('v9', state='NEW'))
        g.add_edge(_edge('v9', 'v0', 'attached'))
        g.remove_vertex(g.get_vertex('v3'))  # and its two edges
        g.remove_vertex(g.get_vertex('v0'))
        g.add_vertex(_vertex('v0', state='BACK'))  # now last
        g.add_edge(_edge('v0', 'v4', 'contains'))
        g.update_edge(_edge('v4', 'v5', 'contains', weight=3))
        g.remove_edge(g.get_edge('v1', 'v2', 'contains'))
        g.add_vertex(_vertex('tmp'))
        g.remove_vertex(g.get_vertex('tmp'))  # never seen by a snapshot
        del self.cache['key3']
        self.cache['key9'] = 'v9'
        self.cache['key0'] = 'v0-new'
        delta = tracker.delta('p')
        self.assertEqual(['tmp', 'v0', 'v3'],
                         sorted(delta['removed_vertices']))
        # updated vertices: only what changed
        self.assertEqual([{'vitrage_id': 'v1', 'set': {'state': 'ERROR'},
                           'unset': []},
                          {'vitrage_id': 'v2', 'set': {}, 'unset': ['n']}],
                         delta['changed_vertices'])
        self.assertEqual(['v9', 'v0'],
                         [v['vitrage_id'] for v in delta['vertices']])
        self.assertEqual({'key9': 'v9', 'key0': 'v0-new'},
                         delta['key_to_uuid_cache'])
        self.assertEqual(['key3'], delta['removed_cache_keys'])
        self.assertLoadsAsLive([delta])

    def test_a_chain_of_random_changes(self):
        rng = random.Random(7)
        deltas = []
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        g, nxg = self.graph, graph_json.nx_graph(self.graph)
        for step in range(30):
            for _ in range(rng.randrange(1, 8)):
                vids = list(nxg.nodes)
                op = rng.random()
                if op < 0.3 or len(vids) < 3:
                    vid = 'n%d' % rng.randrange(40)
                    g.add_vertex(_vertex(vid, step=step))
                    self.cache['k' + vid] = vid
                elif op < 0.5:
                    # a value, a key removed or added, a type that
                    # compares equal in Python (1 == True)
                    change = rng.choice([
                        {'step': step}, {'n': None}, {'state': None},
                        {'extra%d' % rng.randrange(3): step},
                        {'flag': rng.choice([1, True, 1.0])}])
                    g.update_vertex(_vertex(rng.choice(vids), **change))
                elif op < 0.65:
                    vid = rng.choice(vids)
                    g.remove_vertex(g.get_vertex(vid))
                    self.cache.pop('k' + vid, None)
                elif op < 0.9:
                    u, v = rng.sample(vids, 2)
                    g.update_edge(_edge(u, v, rng.choice(['a', 'b']),
                                        step=step))
                else:
                    edges = list(nxg.edges(keys=True))
                    if edges:
                        g.remove_edge(g.get_edge(*rng.choice(edges)))
            deltas.append(tracker.delta('p'))
            deltas[-1] = _json(deltas[-1])
            tracker.reset(step + 2)
            self.assertLoadsAsLive(deltas)
            self.assertEqual(self.graph.num_edges(), tracker.edge_count())
            self.assertEqual(self.graph.num_edges(),
                             graph_json.edge_count(self.graph))

    def test_key_removed_and_added_again_keeps_the_live_order(self):
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        self.graph.update_vertex(_vertex('v3', state=None))
        self.graph.update_vertex(_vertex('v3', state='OK'))  # now last
        self.graph.update_vertex(_vertex('v1', n=True))  # 1 == True
        self.graph.update_vertex(_vertex('v4', n=4))  # was 4: no change
        delta = tracker.delta('p')
        self.assertEqual(['v3'], [v['vitrage_id']
                                  for v in delta['vertices']])
        self.assertEqual([{'vitrage_id': 'v1', 'set': {'n': True},
                           'unset': []}], delta['changed_vertices'])
        self.assertLoadsAsLive([delta])

    def test_delta_of_version_1_is_read(self):
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        self.graph.update_vertex(_vertex('v1', state='ERROR'))
        delta = _json(tracker.delta('p'))
        props = dict(graph_json.nx_graph(self.graph).nodes['v1'])
        delta.update(version=1, changed_vertices=[])
        del delta['changed_vertices']
        delta['vertices'] = [{'vitrage_id': 'v1', 'properties': props}]
        self.assertLoadsAsLive([delta])

    def test_delta_changing_a_vertex_its_parent_lacks_is_refused(self):
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        self.graph.update_vertex(_vertex('v1', state='ERROR'))
        delta = _json(tracker.delta('p'))
        delta['changed_vertices'][0]['vitrage_id'] = 'nowhere'
        self.assertRaisesRegex(ValueError, 'vertex nowhere',
                               graph_json.load,
                               dict(self.base, deltas=[delta]))

    def test_stopped_tracker_sees_nothing(self):
        tracker = graph_json.ChangeTracker(self.graph, self.cache, 1)
        tracker.stop()
        self.graph.update_vertex(_vertex('v1', state='ERROR'))
        self.assertEqual(0, tracker.changed)

    def test_bad_delta_is_refused(self):
        document = dict(self.base, deltas=[{'format': 'other'}])
        self.assertRaises(ValueError, graph_json.load, document)
        document = dict(self.base, deltas=[{
            'format': graph_json.DELTA_FORMAT, 'version': 99}])
        self.assertRaises(ValueError, graph_json.load, document)


class TestChangeTrackerIdCache(TestChangeTracker):
    """With the replay's own id cache: it notes what changed."""

    cache_type = graph_json.IdCache

    def test_every_mutation_is_noted(self):
        cache = graph_json.IdCache({'a': 1, 'b': 2, 'c': 3, 'd': 4})
        cache.mark()
        cache['a'] = 10
        cache['e'] = 5
        del cache['b']
        cache.pop('c')
        cache.pop('missing', None)
        cache.setdefault('f', 6)
        cache.update({'g': 7}, h=8)
        cache |= {'i': 9}
        cache['d'] = 4  # set to what it was: no change
        self.assertEqual(({'a': 10, 'e': 5, 'f': 6, 'g': 7, 'h': 8, 'i': 9},
                          ['b', 'c']), cache.changes())
        key, value = cache.popitem()
        self.assertEqual(('i', 9), (key, value))
        cache.clear()
        self.assertEqual(({}, ['a', 'b', 'c', 'd']), cache.changes())
        cache.mark()
        self.assertEqual(({}, []), cache.changes())


class TestFill(test_base.BaseTestCase):
    """The bulk fill builds what networkx's public calls build."""

    def _document(self):
        rng = random.Random(11)
        vertices = [{'vitrage_id': 'v%d' % i, 'properties': {'n': i}}
                    for i in range(60)]
        edges = []
        for i in range(150):
            u, v = rng.randrange(70), rng.randrange(70)  # 60-69: unknown
            edges.append({'source': 'v%d' % u, 'target': 'v%d' % v,
                          'relationship_type': rng.choice('ab'),
                          'properties': {'i': i}})
        return vertices, edges

    def _public(self, vertices, edges, *before):
        """What networkx's calls build, after the vertices ``before``."""
        import networkx as nx
        g = nx.MultiDiGraph()
        g.add_nodes_from(before)
        g.add_nodes_from((x['vitrage_id'], x['properties']) for x in vertices)
        g.add_edges_from((e['source'], e['target'], e['relationship_type'],
                          e['properties']) for e in edges)
        return g

    def assertSameGraph(self, expected, got):
        # same elements, data and iteration order, both directions
        self.assertEqual(list(expected.nodes(data=True)),
                         list(got.nodes(data=True)))
        self.assertEqual(list(expected.edges(keys=True, data=True)),
                         list(got.edges(keys=True, data=True)))
        self.assertEqual(list(expected.in_edges(keys=True, data=True)),
                         list(got.in_edges(keys=True, data=True)))
        self.assertEqual(expected.number_of_edges(), len(got.edges))

    def test_same_graph_as_the_public_calls(self):
        import networkx as nx
        vertices, edges = self._document()
        expected = self._public(vertices, edges)
        got = nx.MultiDiGraph()
        graph_json.fill(got, *self._document())
        self.assertSameGraph(expected, got)
        # and it stays a working graph: networkx's own calls on it agree
        got.add_edge('v1', 'v2', 'c')
        expected.add_edge('v1', 'v2', 'c')
        got.remove_node('v3')
        expected.remove_node('v3')
        self.assertSameGraph(expected, got)

    def _adjacency(self, vertices, edges):
        """The version 2 layout of the same vertices and edges."""
        succ = {}
        for e in edges:
            succ.setdefault(e['source'], {}).setdefault(e['target'], {})[
                e['relationship_type']] = e['properties']
        return {x['vitrage_id']: x['properties'] for x in vertices}, succ

    def test_adjacency_same_graph_as_the_public_calls(self):
        import networkx as nx
        vertices, edges = self._document()
        # the order add_edge sees them in: grouped by source, as stored
        by_source = sorted(edges, key=lambda e: list(
            self._adjacency(vertices, edges)[1]).index(e['source']))
        expected = self._public(vertices, by_source)
        got = nx.MultiDiGraph()
        graph_json.fill_adjacency(got, *self._adjacency(vertices, edges))
        self.assertSameGraph(expected, got)
        got.remove_node('v3')
        expected.remove_node('v3')
        got.add_edge('v1', 'v2', 'c')
        expected.add_edge('v1', 'v2', 'c')
        self.assertSameGraph(expected, got)
        slow = nx.MultiDiGraph()
        slow.add_node('first')
        graph_json.fill_adjacency(slow, *self._adjacency(vertices, edges))
        self.assertSameGraph(self._public(vertices, by_source, 'first'),
                             slow)

    def test_a_graph_with_elements_is_filled_by_the_public_calls(self):
        import networkx as nx
        vertices, edges = self._document()
        got = nx.MultiDiGraph()
        got.add_node('first')
        graph_json.fill(got, vertices, edges)
        self.assertSameGraph(self._public(vertices, edges, 'first'), got)


class TestClone(test_base.BaseTestCase):

    def test_same_graph_order_and_cache_own_properties(self):
        from vitrage.graph.driver.networkx_graph import NXGraph
        graph = NXGraph('Entity Graph')
        for i in range(8):
            graph.add_vertex(_vertex('v%d' % i, n=i))
        # in-edges of v0 added in an order unlike the vertices'
        for u in ('v5', 'v2', 'v7'):
            graph.add_edge(_edge(u, 'v0', 'attached'))
        graph.add_edge(_edge('v1', 'v3', 'contains'))
        graph.add_edge(_edge('v1', 'v3', 'other'))
        cache = graph_json.IdCache({'k1': 'v1'})
        copy, copy_cache = graph_json.clone(graph, cache)
        src, dst = graph_json.nx_graph(graph), graph_json.nx_graph(copy)
        for view in ('nodes', 'edges', 'in_edges'):
            kwargs = {} if view == 'nodes' else {'keys': True}
            self.assertEqual(list(getattr(src, view)(data=True, **kwargs)),
                             list(getattr(dst, view)(data=True, **kwargs)))
        self.assertEqual(['v5', 'v2', 'v7'], list(dst.predecessors('v0')))
        self.assertEqual(cache, copy_cache)
        self.assertIsInstance(copy_cache, graph_json.IdCache)
        # the copy's changes stay in the copy
        copy.update_vertex(_vertex('v1', n=99))
        copy.update_edge(_edge('v1', 'v3', 'contains', w=1))
        copy.remove_vertex(copy.get_vertex('v0'))
        copy_cache['k2'] = 'v2'
        self.assertEqual(1, src.nodes['v1']['n'])
        self.assertNotIn('w', src.adj['v1']['v3']['contains'])
        self.assertIn('v0', src)
        self.assertEqual({'k1': 'v1'}, dict(cache))

    def test_public_calls_when_networkx_changes(self):
        from unittest import mock

        from vitrage.graph.driver.networkx_graph import NXGraph
        graph = NXGraph('Entity Graph')
        for i in range(5):
            graph.add_vertex(_vertex('v%d' % i, n=i))
        graph.add_edge(_edge('v3', 'v1', 'contains'))
        graph.add_edge(_edge('v0', 'v1', 'contains'))
        fast, _ = graph_json.clone(graph, {})
        with mock.patch.object(graph_json, '_can_adopt', return_value=False):
            slow, cache = graph_json.clone(graph, {'k': 'v0'})
        a, b = graph_json.nx_graph(fast), graph_json.nx_graph(slow)
        self.assertEqual(list(a.nodes(data=True)), list(b.nodes(data=True)))
        self.assertEqual(list(a.edges(keys=True, data=True)),
                         list(b.edges(keys=True, data=True)))
        self.assertEqual({'k': 'v0'}, cache)
        b.nodes['v1']['n'] = 9
        self.assertEqual(1, graph_json.nx_graph(graph).nodes['v1']['n'])


class TestSnapshotLayout(test_base.BaseTestCase):
    """Version 2 (what snapshots store) loads as version 1 does."""

    def _graph(self, ids=str):
        from vitrage.graph.driver.networkx_graph import NXGraph
        graph = NXGraph('Entity Graph')
        rng = random.Random(5)
        for i in range(40):
            graph.add_vertex(_vertex(ids(i), n=i, name='h\u00e9%d' % i))
        for i in range(90):
            u, v = rng.randrange(40), rng.randrange(40)
            graph.add_edge(_edge(ids(u), ids(v), rng.choice('ab'), i=i))
        return graph

    def _views(self, graph):
        nx_graph_ = graph_json.nx_graph(graph)
        return (list(nx_graph_.nodes(data=True)),
                list(nx_graph_.edges(keys=True, data=True)),
                list(nx_graph_.in_edges(keys=True, data=True)))

    def test_round_trip_equals_version_1(self):
        graph = self._graph(lambda i: 'v%d' % i)
        cache = {'k%d' % i: 'v%d' % i for i in range(40)}
        document = graph_json.dump_snapshot(graph, cache, 'p')
        self.assertEqual(graph_json.ADJACENCY, document['version'])
        snapshot = records.Snapshot(covers=None, max_event_id=1,
                                    event_count=1, processor='p',
                                    graph=document)
        stored = snapshot_codec.decode(snapshot_codec.encode(snapshot))
        loaded, loaded_cache = graph_json.load(stored['graph'])
        old, old_cache = graph_json.load(
            _json(graph_json.dump(graph, cache, 'p')))
        self.assertEqual(self._views(old), self._views(loaded))
        self.assertEqual(self._views(graph)[:2], self._views(loaded)[:2])
        self.assertEqual(cache, loaded_cache)
        self.assertIsInstance(loaded_cache, graph_json.IdCache)
        # without a stored cache: rebuilt from the vertices, as Vitrage
        graph.update_vertex(_vertex('v3', vitrage_cached_id='c3'))
        document = _json(graph_json.dump_snapshot(graph, None))
        del document['key_to_uuid_cache']
        _, rebuilt = graph_json.load(document)
        self.assertEqual({'c3': 'v3'}, dict(rebuilt))

    def test_ids_a_json_object_cannot_key_are_stored_in_version_1(self):
        graph = self._graph(lambda i: i + 1)  # Vitrage refuses id 0
        document = graph_json.dump_snapshot(graph, {}, 'p')
        self.assertEqual(graph_json.VERSION, document['version'])
        loaded, _ = graph_json.load(document)
        self.assertEqual(self._views(graph)[:2], self._views(loaded)[:2])
        graph = self._graph(lambda i: 'v%d' % i)
        graph.add_edge(_edge('v1', 'v2', 7))
        self.assertEqual(graph_json.VERSION,
                         graph_json.dump_snapshot(graph)['version'])

    def test_version_1_when_networkx_changes(self):
        from unittest import mock
        graph = self._graph(lambda i: 'v%d' % i)
        with mock.patch.object(graph_json, '_has_dicts', return_value=False):
            document = graph_json.dump_snapshot(graph)
        self.assertEqual(graph_json.VERSION, document['version'])

    def test_unknown_version_is_refused(self):
        document = graph_json.dump_snapshot(self._graph(str))
        document['version'] = 3
        self.assertRaisesRegex(ValueError, r'version 3 \(this release reads '
                               r'1, 2\)', graph_json.load, document)


class TestSnapshotCodec(test_base.BaseTestCase):

    def test_reads_snapshots_written_before_orjson(self):
        """The stdlib-json, zlib-6 encoding of earlier releases."""
        graph = {'format': graph_json.FORMAT, 'version': 1,
                 'vertices': [{'vitrage_id': 'a',
                               'properties': {'name': 'h\u00e9'}}],
                 'edges': [], 'key_to_uuid_cache': {}}
        old = zlib.compress(json.dumps(
            {'format_version': 1, 'processor': 'p', 'graph': graph},
            ensure_ascii=False, separators=(',', ':'),
            sort_keys=True).encode(), 6)
        self.assertEqual(graph, snapshot_codec.decode(old)['graph'])

    def test_round_trip_and_versions(self):
        snapshot = records.Snapshot(
            covers=None, max_event_id=1, event_count=1, processor='p',
            graph={'x': [1, 'y\u00e9']}, format_version=snapshot_codec.DELTA)
        data = snapshot_codec.encode(snapshot)
        self.assertEqual(b'\x28\xb5\x2f\xfd', data[:4])  # zstd frame
        document = snapshot_codec.decode(data)
        self.assertEqual({'x': [1, 'y\u00e9']}, document['graph'])
        self.assertEqual(2, document['format_version'])
        bad = zlib.compress(json.dumps({'format_version': 3}).encode())
        self.assertRaisesRegex(ValueError, 'format_version 3',
                               snapshot_codec.decode, bad)

    def test_reads_zlib_rows_of_earlier_releases(self):
        document = {'format_version': 2, 'processor': 'p',
                    'graph': {'x': 'y\u00e9'}}
        old = zlib.compress(json.dumps(document).encode(), 1)
        self.assertEqual(document, snapshot_codec.decode(old))

    def test_data_neither_zstd_nor_zlib_is_a_clear_error(self):
        for bad in (b'', b'{"format_version": 1}', b'\x28\xb5\x2f\xfdxx'):
            self.assertRaisesRegex(ValueError, 'neither Zstandard nor zlib',
                                   snapshot_codec.decode, bad)
