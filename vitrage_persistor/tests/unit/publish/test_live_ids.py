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

"""The collector hook records the vertex ids the live processor made."""

from vitrage.common import utils as vitrage_utils
from vitrage.datasources import transformer_base
from vitrage.entity_graph import graph_init

from vitrage_persistor import wire
from vitrage_persistor.publish import queue
from vitrage_persistor.publish.hooks import collector
from vitrage_persistor.tests import base

_TB = transformer_base.TransformerBase


class FakePublisher:
    def __init__(self):
        self.published = []

    def publish(self, event):
        self.published.append(event)
        return True

    def publish_encoded(self, data, extra=None):
        # what the sender makes of it
        self.published.append(queue.decode(data, extra)[0])
        return True


class TestLiveIds(base.TestCase):

    def setUp(self):
        super().setUp()
        saved = _TB.key_to_uuid_cache
        _TB.key_to_uuid_cache = {}
        self.addCleanup(setattr, _TB, 'key_to_uuid_cache', saved)
        self.publisher = FakePublisher()
        self.hook = collector.CollectorHook(self.publisher)
        self.hook.install()
        self.addCleanup(self.hook.uninstall)

    def coordination(self, work):
        return graph_init.EventsCoordination(work)

    def test_new_ids_published_with_the_event_as_received(self):
        def work(event):
            event['graph_query_result'] = ['mutated by the processor']
            _TB.uuid_from_deprecated_vitrage_id('RESOURCE:nova.host:h1')
            _TB.uuid_from_deprecated_vitrage_id('RESOURCE:nova.host:h1')

        self.coordination(work).handle_multiple_high_priority(
            [{'name': 'h1'}, {'name': 'again'}])
        first, second = self.publisher.published
        vitrage_id = _TB.key_to_uuid_cache[
            vitrage_utils.md5('RESOURCE:nova.host:h1')]
        self.assertEqual(
            {'name': 'h1', wire.LIVE_IDS_KEY: {
                vitrage_utils.md5('RESOURCE:nova.host:h1'): vitrage_id}},
            first)
        # the second lookup found the id: nothing new to record
        self.assertEqual({'name': 'again'}, second)

    def test_published_even_when_the_processor_raises(self):
        def work(event):
            _TB.uuid_from_deprecated_vitrage_id('RESOURCE:nova.host:h2')
            raise ValueError('bad event')

        self.coordination(work).handle_multiple_low_priority([{'n': 1}])
        [event] = self.publisher.published
        self.assertEqual({'n'}, set(event) - {wire.LIVE_IDS_KEY})
        self.assertEqual(1, len(event[wire.LIVE_IDS_KEY]))

    def test_not_recorded_outside_the_collector_path(self):
        coord = self.coordination(
            lambda event: _TB.uuid_from_deprecated_vitrage_id('K:x'))
        coord._do_work_func({'evaluator': True})   # not an entry point
        self.assertEqual([], self.publisher.published)
        self.assertEqual(1, len(_TB.key_to_uuid_cache))

    def evaluator_endpoint(self, work):
        # as EventsCoordination.start() builds it for EVALUATOR_TOPIC
        coord = self.coordination(work)
        return graph_init.PushNotificationsEndpoint(
            coord._do_high_priority_work)

    def test_evaluator_batch_published_item_by_item_with_own_ids(self):
        def work(event):
            # the list never reaches the work function whole
            self.assertIsInstance(event, dict)
            _TB.uuid_from_deprecated_vitrage_id(
                'ALARM:vitrage:instance_down:%s' % event['target'])

        events = [{'type': 'add_vertex', 'target': 'vm-1'},
                  {'type': 'add_vertex', 'target': 'vm-2'}]
        self.evaluator_endpoint(work).info(
            {}, 'vitrage.evaluator', 'vitrage.evaluator.event', events, {})
        first, second = self.publisher.published
        for event, target in ((first, 'vm-1'), (second, 'vm-2')):
            key = vitrage_utils.md5('ALARM:vitrage:instance_down:%s' %
                                    target)
            self.assertEqual(
                {'type': 'add_vertex', 'target': target,
                 wire.LIVE_IDS_KEY: {key: _TB.key_to_uuid_cache[key]}},
                event)

    def test_evaluator_batch_stops_at_the_first_failure(self):
        # vitrage-graph's process_event(list) stops there too
        applied = []

        def work(event):
            applied.append(event['n'])
            if event['n'] == 2:
                raise ValueError('bad evaluator event')

        self.evaluator_endpoint(work).info(
            {}, 'vitrage.evaluator', 'vitrage.evaluator.event',
            [{'n': 1}, {'n': 2}, {'n': 3}], {})
        self.assertEqual([1, 2], applied)
        # the failed one is published too: replay fails on it the same way
        self.assertEqual([{'n': 1}, {'n': 2}], self.publisher.published)

    def test_template_action_applied_not_published(self):
        applied = []
        self.evaluator_endpoint(applied.append).info(
            {}, 'vitrage.evaluator', 'template_event',
            {'template_action': 'add', 'template_names': ['t']}, {})
        self.assertEqual(1, len(applied))
        self.assertEqual([], self.publisher.published)

    def test_uninstall_puts_the_evaluator_endpoint_back(self):
        info = graph_init.PushNotificationsEndpoint.__dict__['info']
        self.hook.uninstall()
        restored = graph_init.PushNotificationsEndpoint.__dict__['info']
        self.assertIsNot(info, restored)
        self.hook.install()
        self.assertIsNot(
            restored, graph_init.PushNotificationsEndpoint.__dict__['info'])

    def test_uninstall_keeps_the_cache_contents(self):
        self.coordination(
            lambda event: _TB.uuid_from_deprecated_vitrage_id('K:y')
        ).handle_multiple_high_priority([{}])
        self.assertIsInstance(_TB.key_to_uuid_cache,
                              collector.RecordingIdCache)
        entries = dict(_TB.key_to_uuid_cache)
        self.hook.uninstall()
        self.assertIs(dict, type(_TB.key_to_uuid_cache))
        self.assertEqual(entries, _TB.key_to_uuid_cache)


class TestSplitLiveIds(base.TestCase):

    def test_split(self):
        event = {'a': 1, wire.LIVE_IDS_KEY: {'k': 'v'}}
        self.assertEqual(({'a': 1}, {'k': 'v'}),
                         wire.split_live_ids(event))
        self.assertEqual(({'a': 1}, None), wire.split_live_ids({'a': 1}))
        self.assertEqual(([1], None), wire.split_live_ids([1]))
