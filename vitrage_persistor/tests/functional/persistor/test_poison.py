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

"""Poison messages, sent raw to the agent's queue on the real broker.

Each kind of bad message is published as bytes, straight to the queue, as
any service on the shared broker could, and is followed by two good
events. For every kind, on every backend, the test checks that the queue
and the dead-letter queue drain without a restart, that every good event
is stored exactly once, and that the bad message is one quarantine row
(per bad item) with the expected reason and its raw body.
"""

import base64
import collections
import datetime
import json
import time
import uuid

import kombu

from vitrage_persistor import wire
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as vp_fixtures
from vitrage_persistor.tests.functional.persistor import events, helpers

QUEUE = 'vitrage_persistor.sample'
DEAD = 'vitrage_persistor.dead'
JSON = 'application/json'


def _stamp():
    return datetime.datetime.now(datetime.UTC)


def notification(index, marker='', **over):
    """An oslo notification dict for good event ``index``."""
    event = events.make_event(index)
    if marker:
        event['name'] = marker
    message = {
        'message_id': str(uuid.uuid4()),
        'publisher_id': 'vp.poison',
        'event_type': wire.event_type('driver'),
        'priority': 'SAMPLE',
        'payload': wire.wrap(event, _stamp(), index),
        'timestamp': str(datetime.datetime.utcnow()),
        '_unique_id': uuid.uuid4().hex,
    }
    message.update(over)
    return message


def body(message) -> bytes:
    """The bytes oslo.messaging's driver sends for ``message``."""
    return json.dumps({'oslo.version': '2.0',
                       'oslo.message': json.dumps(message)}).encode()


class Kind:
    """A bad message: bodies to send and what must become of them."""

    def __init__(self, name, bodies, reasons, content_type=JSON,
                 good_events=0, headers=None, note=False):
        self.name = name
        self.bodies = bodies
        self.reasons = reasons
        self.content_type = content_type
        self.good_events = good_events
        self.headers = headers
        # no room for the marker in the body: checked by reason instead
        self.unmarked = note

    @property
    def marker(self):
        return 'poison-%s' % self.name


def kinds(next_index):
    """Every kind, each tagged with its marker.

    ``next_index()`` numbers the good events some kinds carry.
    """
    out = []

    def kind(name, make, reasons, **kw):
        marker = 'poison-%s' % name
        out.append(Kind(name, make(marker), reasons, **kw))

    def bad_priority(value):
        def make(marker):
            message = notification(next_index(), marker)
            if value is KeyError:
                del message['priority']
            else:
                message['priority'] = value
            return [body(message)]
        return make

    # -- before our endpoint: oslo.messaging's dispatcher ---------------
    kind('priority_null', bad_priority(None), {'bad_priority': 1})
    kind('priority_int', bad_priority(5), {'bad_priority': 1})
    kind('priority_info', bad_priority('INFO'), {'bad_priority': 1})
    kind('priority_missing', bad_priority(KeyError), {'bad_priority': 1})
    kind('not_oslo_envelope_dict',
         lambda m: [json.dumps({'hello': m}).encode()], {'bad_priority': 1})

    # -- before the dispatcher: the driver rejects, RabbitMQ dead-letters
    kind('not_json', lambda m: [b'this is not json ' + m.encode()],
         {'not_json': 1})
    kind('json_list', lambda m: [json.dumps(['a', m]).encode()],
         {'not_oslo_envelope': 1})
    kind('oslo_message_not_json',
         lambda m: [json.dumps({'oslo.version': '2.0',
                                'oslo.message': '{broken ' + m}).encode()],
         {'bad_oslo_message': 1})
    kind('oslo_message_number',
         lambda m: [json.dumps({'oslo.version': '2.0', 'oslo.message': 7,
                                'note': m}).encode()],
         {'bad_oslo_message': 1})
    kind('invalid_utf8', lambda m: [b'\xff\xfe\xfa ' + m.encode()],
         {'invalid_utf8': 1})
    kind('pickle', lambda m: [b'\x80\x04' + m.encode()],
         {'content_type_refused': 1},
         content_type='application/x-python-serialize')
    kind('empty_body', lambda m: [b''], {}, note=True)
    kind('oslo_version_9',
         lambda m: [json.dumps({'oslo.version': '9.0', 'oslo.message': json.
                                dumps({'note': m})}).encode()],
         {'bad_oslo_message': 1})
    kind('nested_too_deep',
         lambda m: [('{"m": "%s", "x": ' % m + '[' * 5000 + ']' * 5000 +
                     '}').encode()],
         {'not_json': 1})
    kind('bad_compression', lambda m: [b'not gzip ' + m.encode()],
         {'content_type_refused': 1}, headers={'compression':
                                               'application/x-gzip'})

    # -- text no database stores ----------------------------------------
    def surrogate(field):
        def make(marker):
            message = notification(next_index(), marker)
            message[field] = message[field] + '\ud800'
            return [body(message)]
        return make

    kind('surrogate_message_id', surrogate('message_id'),
         {'no_message_id': 1})
    kind('surrogate_publisher_id', surrogate('publisher_id'),
         {'bad_envelope': 1})
    kind('surrogate_event_type', surrogate('event_type'),
         {'wrong_event_type': 1})

    def surrogate_item(marker):
        items = [wire.wrap_item(dict(events.make_event(next_index()),
                                     name=marker), _stamp(), 1,
                                'item-\ud800-%d' % i) for i in range(2)]
        return [body(notification(0, payload=wire.wrap_bundle(items)))]
    kind('surrogate_item_ids', surrogate_item, {'no_message_id': 2})

    # -- bundles with a long id: one row per bad item ---------------------
    def long_bundle(marker):
        items = ['%s-%d' % (marker, i) for i in range(3)]
        return [body(notification(0, payload=wire.wrap_bundle(items),
                                  message_id='b' * 64))]
    kind('long_bundle_id', long_bundle, {'bad_envelope': 3})

    # -- the same message again ------------------------------------------
    def conflicting(marker):
        index = next_index()
        first = notification(index)
        second = notification(index, marker,
                              message_id=first['message_id'])
        return [body(first), body(second)]
    kind('conflicting_duplicate', conflicting,
         {'conflicting_duplicate': 1}, good_events=1)

    def same_unique_id(marker):
        return [body(notification(next_index(), marker))] * 100
    kind('same_unique_id_x100', same_unique_id, {}, good_events=1)
    return out


def _raw_text(row):
    if row['raw_format'] == 'base64':
        return base64.b64decode(row['raw'].split('...')[0]).decode(
            'utf-8', 'replace')
    return row['raw'] or ''


class PoisonTestBase(vp_fixtures.OpportunisticDB, base.TestCase):

    def setUp(self):
        super().setUp()
        self.rabbit = self.useFixture(vp_fixtures.RabbitVhost())
        self.rabbit.set_dead_letter_policy('vitrage_persistor', DEAD)
        self.index = 0

    def next_index(self):
        self.index += 1
        return self.index

    def publish_raw(self, bodies, content_type=JSON, headers=None):
        with kombu.Connection(self.rabbit.url.replace('rabbit://',
                                                      'amqp://')) as conn:
            producer = conn.Producer(serializer=None)
            for data in bodies:
                producer.publish(
                    data, exchange='', routing_key=QUEUE,
                    content_type=content_type,
                    content_encoding='utf-8' if content_type == JSON
                    else 'binary', delivery_mode=2, headers=headers)

    def drained(self):
        queues = self.rabbit.queues()
        return queues.get(QUEUE, 1) == 0 and queues.get(DEAD, 1) == 0

    def test_every_kind_drains_and_is_quarantined(self):
        agent = helpers.make_agent(self, self.rabbit.url, self.db_url,
                                   batch_size=20).start()
        table = kinds(self.next_index)
        good = []
        started = time.monotonic()
        for kind in table:
            self.publish_raw(kind.bodies, kind.content_type, kind.headers)
            neighbours = [notification(self.next_index()) for _ in range(2)]
            good += [n['payload']['event']['vp_test_index']
                     for n in neighbours]
            self.publish_raw([body(n) for n in neighbours])
        expected_events = len(good) + sum(k.good_events for k in table)
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= expected_events
            and self.drained(), 90, what='both queues drained')
        elapsed = time.monotonic() - started

        stored = collections.Counter(
            e.payload['vp_test_index']
            for e in self.store.iter_events_by_id())
        self.assertEqual({}, {k: v for k, v in stored.items() if v > 1},
                         'duplicated events')
        self.assertEqual(set(), set(good) - set(stored), 'lost neighbours')
        self.assertEqual(expected_events, sum(stored.values()))

        rows = self.store.list_quarantine(limit=1000)
        for kind in table:
            got = collections.Counter(
                r['reason'] for r in rows if kind.marker in _raw_text(r))
            self.assertEqual(kind.reasons, dict(got), kind.name)
        # the empty body: kombu decodes it to {}, which oslo.messaging
        # dispatches as a message with no priority
        self.assertEqual(1, len([r for r in rows if r['raw'] == '{}' and
                                 r['reason'] == 'bad_priority']),
                         [(r['reason'], r['raw'][:40]) for r in rows
                          if r['source'] == 'dispatcher'])
        ids = [r['message_id'] for r in rows if r['message_id']]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertTrue(all(len(i) <= 64 for i in ids), ids)
        sources = collections.Counter(r['source'] for r in rows)
        self.assertEqual(9, sources['dead_letter'], sources)
        self.assertEqual(6, sources['dispatcher'], sources)
        escaped = [r for r in rows if r['text_escaped']]
        self.assertGreaterEqual(len(escaped), 4)
        self.assertLess(elapsed, 90)
        self.assertEqual(0, agent.terminate())
        self.assertIn('dead-lettered', agent.log())
        report = self.store.agent_reports()
        self.assertTrue(report)
        totals = collections.Counter()
        for r in report:
            totals.update(r['counters']['totals'])
        self.assertEqual(9, totals['dead_lettered'])
        self.assertEqual(1, totals['conflicting_duplicates'])
        self.assertGreaterEqual(totals['duplicates'], 99)

    def declare_queue(self):
        """The agent's queue as oslo.messaging declares it (durable)."""
        with kombu.Connection(self.rabbit.url.replace('rabbit://',
                                                      'amqp://')) as conn:
            kombu.Queue(QUEUE, durable=True)(conn.channel()).declare()

    def test_large_multibyte_events_fit_the_packet(self):
        # 4-byte UTF-8 characters: the byte size is four times the length.
        # The queue is filled before the agent starts, so that one batch
        # holds all of them: counted in characters they fit one statement,
        # in bytes they would overflow MariaDB's max_allowed_packet.
        self.declare_queue()
        n = 10
        bodies = []
        for _ in range(n):
            message = notification(self.next_index())
            message['payload']['event']['blob'] = '\U0001F600' * 950000
            bodies.append(json.dumps(
                {'oslo.version': '2.0', 'oslo.message': json.dumps(
                    message, ensure_ascii=False)},
                ensure_ascii=False).encode('utf-8'))
        neighbours = [notification(self.next_index()) for _ in range(2)]
        self.publish_raw(bodies + [body(x) for x in neighbours])
        agent = helpers.make_agent(self, self.rabbit.url, self.db_url,
                                   batch_size=50, batch_timeout=5).start()
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= n + 2
            and self.drained(), 120, what='large events stored')
        self.assertEqual(n + 2, self.store.event_counts()['count'])
        self.assertEqual({}, self.store.quarantine_summary())
        self.assertEqual(0, agent.terminate())
        self.assertNotIn('gone away', agent.log())

    def test_acks_survive_a_dropped_connection(self):
        """A batch committed after its connection died is still acked.

        oslo.messaging remembers the ids of the messages whose ack failed
        on the dead connection; RabbitMQ redelivers them on the new one,
        and without the agent's fix the driver skips them there, unacked,
        until the connection closes.
        """
        proxy = vp_fixtures.TcpProxy(target_port=self.rabbit.port).start()
        self.addCleanup(proxy.close)
        url = self.rabbit.url.replace(':%d/' % self.rabbit.port,
                                      ':%d/' % proxy.port)
        n = 500
        agent = helpers.make_agent(self, url, self.db_url, batch_size=2000,
                                   batch_timeout=4, prefetch_batches=1
                                   ).start()
        helpers.publish(self.rabbit.url, 0, n)
        time.sleep(1.5)  # the agent holds them all, waiting for the batch
        proxy.close()
        time.sleep(0.5)
        proxy.reopen()
        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= n
            and self.rabbit.queues().get(QUEUE, 1) == 0, 60,
            what='every message acked after the reconnect')
        self.assertEqual(n, self.store.event_counts()['count'])
        self.assertEqual(0, agent.terminate())


globals().update(vp_fixtures.backend_classes(
    'TestPoison', (PoisonTestBase,), {}))
del PoisonTestBase
