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

"""The processor adapter: isolation, restore and determinism, in memory."""

import datetime
import io
import json
import os
import random
from unittest import mock

from vitrage_persistor.cmd import replay as cmd
from vitrage_persistor.replay import (
    canonical,
    errors,
    follow,
    graph_json,
    processor,
)
from vitrage_persistor.storage import records
from vitrage_persistor.tests.common import replay_base as base
from vitrage_persistor.tests.common import trace

_TRACE = []


def stored_trace():
    if not _TRACE:
        events = trace.build_trace(rounds=40, scale=1)
        for i, r in enumerate(trace.to_records(events)):
            _TRACE.append(records.StoredEvent(
                id=i + 1, message_id=r.message_id,
                collector_timestamp=r.collector_timestamp,
                publisher_id=r.publisher_id, sequence=r.sequence,
                event_type=r.event_type, entity_type=r.entity_type,
                datasource_action=r.datasource_action,
                payload=json.loads(r.payload_json)))
    return _TRACE


class TestVitrageProcessor(base.ReplayTestCase):

    def test_matches_live_processor_and_restores(self):
        events = stored_trace()
        n = len(events) & ~1
        live = trace.live_graphs(self.conf, [e.payload for e in events],
                                 [n // 2, n])
        full = processor.VitrageProcessor(self.conf)
        full.apply(events[:n // 2])
        self.assertEqual(live[n // 2], canonical.canonical(full.graph,
                                                           full.id_cache))
        document = json.loads(json.dumps(full.to_document()))
        restored = processor.VitrageProcessor(self.conf, document)
        full.apply(events[n // 2:n])
        restored.apply(events[n // 2:n])
        self.assertEqual(live[n], canonical.canonical(full.graph,
                                                      full.id_cache))
        self.assertEqual(json.dumps(full.to_document(), sort_keys=True),
                         json.dumps(restored.to_document(), sort_keys=True))

    def test_process_globals_put_back_after_apply(self):
        from vitrage.datasources import transformer_base
        from vitrage.utils import datetime as vitrage_datetime

        base_class = transformer_base.TransformerBase
        uuids = transformer_base.uuidutils
        format_timestamp = vitrage_datetime.format_timestamp
        cache = base_class.key_to_uuid_cache
        proc = processor.VitrageProcessor(self.conf)
        proc.apply(stored_trace()[:50])
        self.assertIs(uuids, transformer_base.uuidutils)
        self.assertIs(format_timestamp, vitrage_datetime.format_timestamp)
        self.assertIs(cache, base_class.key_to_uuid_cache)
        self.assertTrue(proc.id_cache)

    def test_payloads_are_not_mutated(self):
        events = stored_trace()[:200]
        before = json.dumps([e.payload for e in events], sort_keys=True)
        processor.VitrageProcessor(self.conf).apply(events)
        self.assertEqual(before, json.dumps([e.payload for e in events],
                                            sort_keys=True))

    def test_two_graphs_do_not_share_the_id_cache(self):
        events = stored_trace()[:150]
        a = processor.VitrageProcessor(self.conf)
        b = processor.VitrageProcessor(self.conf)
        a.apply(events)
        self.assertEqual({}, b.id_cache)
        b.apply(events)
        # same events -> same ids, because ids derive from event ids
        self.assertEqual(a.id_cache, b.id_cache)
        self.assertEqual(a.graph.num_vertices(), b.graph.num_vertices())

    def test_cache_rebuilt_from_vertices_when_absent(self):
        p = processor.VitrageProcessor(self.conf)
        p.apply(stored_trace()[:100])
        document = p.to_document()
        del document['key_to_uuid_cache']
        graph, cache = graph_json.load(document)
        # Rebuilt like Vitrage's graph_init does it: right for every live
        # vertex, but it also maps the keys of deleted vertices, which the
        # stored cache no longer has (a re-created entity must get a new
        # id) -- the reason snapshots store the cache.
        live = {v['vitrage_cached_id']: v.vertex_id
                for v in graph.get_vertices()
                if not v.get('vitrage_is_deleted')}
        for key, vid in live.items():
            self.assertEqual(p.id_cache.get(key), vid)
        self.assertGreater(len(cache), len(p.id_cache))

    def test_missing_values_dir_is_a_clear_error(self):
        # not '/nonexistent': some services create it as their home
        self.config(datasources_values_dir=os.path.join(
            self.state_dir, 'missing'), group='replay')
        exc = self.assertRaises(errors.ProcessorUnavailable,
                                processor.VitrageProcessor, self.conf)
        self.assertIn('fetch-datasources-values.sh', str(exc))

    def test_name_depends_on_values_and_types(self):
        a = processor.VitrageProcessor(self.conf).name
        self.config(datasource_types=['nova.host'], group='replay')
        self.assertNotEqual(a, processor.VitrageProcessor(self.conf).name)
        self.assertTrue(a.startswith('vitrage-15.0.1+'))


class TestGraphJson(base.ReplayTestCase):

    def test_version_is_checked(self):
        document = processor.VitrageProcessor(self.conf).to_document()
        document['version'] = 99
        self.assertRaises(ValueError, graph_json.load, document)
        self.assertRaises(ValueError, graph_json.load, {'format': 'x'})


class TestSmallParsers(base.ReplayTestCase):

    def test_snapshot_interval(self):
        self.assertEqual((10000, None), follow.parse_interval('10000'))
        self.assertEqual((None, 300.0), follow.parse_interval('300s'))
        for bad in ('', '0', '-5s', 'often'):
            self.assertRaises(ValueError, follow.parse_interval, bad)

    def test_parse_time(self):
        self.assertEqual('2026-03-01 11:00:05',
                         str(cmd.parse_time('2026-03-01T12:00:05+01:00')))
        self.assertEqual('2026-03-01 12:00:05.250000',
                         str(cmd.parse_time('2026-03-01 12:00:05.25Z')))
        self.assertRaises(cmd.UsageError, cmd.parse_time, 'noon')

    def test_progress_bar_waits_a_second(self):
        stream = io.StringIO()
        bar = cmd.ProgressBar(stream, delay=3600)
        bar(10, 100)
        self.assertEqual('', stream.getvalue())
        bar = cmd.ProgressBar(stream, delay=0)
        bar(100, 100)
        self.assertIn('100/100 events', stream.getvalue())


class TestReplayTimestamps(base.ReplayTestCase):
    """The stand-in answers as Vitrage's format_timestamp, faster."""

    def _both(self, value, *args):
        from vitrage.utils import datetime as vitrage_datetime

        real = vitrage_datetime.format_timestamp
        return (real(value, *args),
                processor._ReplayTimestamps(real)(value, *args))

    def test_same_answers_as_vitrage(self):
        rng = random.Random(3)
        values = ['2026-03-01T12:00:00Z', '2026-03-01 12:00:00',
                  '2026-03-01T12:00:00.5', '2026-03-01T12:00:00.123456',
                  '2026-03-01T23:59:59+05:30', '2026-03-01 00:00:00-08:00',
                  '2026-12-31T10:20:30.000001Z']
        for _ in range(300):
            when = datetime.datetime(2020, 1, 1) + datetime.timedelta(
                seconds=rng.uniform(0, 3e8))
            text = when.isoformat(sep=rng.choice('T '),
                                  timespec=rng.choice(
                                      ['seconds', 'milliseconds',
                                       'microseconds']))
            values.append(text + rng.choice(['', 'Z', '+00:00', '-03:00']))
        formats = [(), ('%Y-%m-%d %H:%M:%S.%f',), ('%Y-%m-%dT%H:%M:%S%z',)]
        for value in values:
            for args in formats:
                real, ours = self._both(value, *args)
                self.assertEqual(real, ours, (value, args))

    def test_other_forms_go_to_vitrage(self):
        for value in ['Tue, 03 Mar 2026 10:00:00 GMT', '2026-03-01',
                      '20260301T120000', '2026-03-01T12:00']:
            real, ours = self._both(value)
            self.assertEqual(real, ours, value)
        # a zone name is Vitrage's: it names fixed offsets differently
        real, ours = self._both('2026-03-01T12:00:00+05:00', '%H %Z')
        self.assertEqual(real, ours)
        self.assertEqual((None, None), self._both(None))
        self.assertEqual((None, None), self._both(''))

    def test_vitrage_calls_it_for_every_event(self):
        calls = []

        class Counting(processor._ReplayTimestamps):
            def __call__(self, *args, **kwargs):
                calls.append(args[0])
                return super().__call__(*args, **kwargs)

        events = stored_trace()[:40]
        with mock.patch.object(processor, '_ReplayTimestamps', Counting):
            processor.VitrageProcessor(self.conf).apply(events)
        # Vitrage formats the events' update times through the module
        # global, in forms the fast path reads: if either stops, replay
        # stays correct but loses its speed-up
        self.assertGreaterEqual(len(calls), len(events) // 2)
        self.assertEqual([], [value for value in calls
                              if not processor._ISO_TIMESTAMP.match(value)])
