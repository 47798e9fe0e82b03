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

"""The publishing side's pure parts: encoding, message ids, stamps."""

import datetime
import marshal
import uuid
from unittest import mock

from oslo_serialization import jsonutils

from vitrage_persistor import wire
from vitrage_persistor.publish import queue, senders
from vitrage_persistor.tests import base


class TestSenderParts(base.TestCase):

    def test_encode_round_trips_json_able_events(self):
        event = {'id': 'vm-1', 'n': 3, 'ok': True, 'none': None,
                 'nested': {'list': [1, 'a', {'x': 1.5}]}}
        data = queue.encode(event)
        self.assertIsInstance(data, bytes)   # the marshal fast path
        self.assertEqual((event, len(data)), queue.decode(data))

    def test_decode_adds_extra_keys(self):
        extra = {'k': {'md5': 'uuid'}}
        for data in (queue.encode({'a': 1}), '{"a": 1}'):
            event, _size = queue.decode(data, extra)
            self.assertEqual({'a': 1, 'k': {'md5': 'uuid'}}, event)

    def test_encode_falls_back_to_json(self):
        class Mapping(dict):   # marshal refuses subclasses
            pass

        stamp = datetime.datetime(2026, 1, 2, 3, 4, 5)
        data = queue.encode(Mapping(at=stamp))
        self.assertIsInstance(data, str)
        self.assertEqual({'at': '2026-01-02T03:04:05.000000'},
                         queue.decode(data)[0])

    def test_encode_refuses_what_json_refuses(self):
        self.assertRaises(ValueError, queue.encode, {'x': object()})
        # marshal takes a tuple key; the sender finds out JSON does not
        data = queue.encode({(1, 2): 'x'})
        self.assertIn('keys must be', senders.unencodable(
            queue.decode(data)[0]))
        message, sequences, _refused, _rest = senders.build_bundle(
            'p', 'x', [(0, 1, data, None)], 1 << 20)
        self.assertRaises(TypeError, jsonutils.dumps, message)

    def test_message_id_stable_per_event(self):
        first = wire.message_id('pub-a', 7)
        self.assertEqual(first, wire.message_id('pub-a', 7))
        self.assertNotEqual(first, wire.message_id('pub-a', 8))
        self.assertNotEqual(first, wire.message_id('pub-b', 7))

    def test_message_id_is_uuid5(self):
        for publisher, sequence in (('pub-a', 7), ('vitrage.persistor.'
                                    'collector.h\u00e9.0a1b', 2 ** 40)):
            self.assertEqual(
                str(uuid.uuid5(wire._ID_NAMESPACE,
                               '%s/%d' % (publisher, sequence))),
                wire.message_id(publisher, sequence))

    def test_format_stamp_is_the_envelope_format(self):
        for ns in (1_700_000_000_123_456_789, 1_700_000_000_999_999_999,
                   1_700_000_001_000_000_000, 0, 1_700_000_000_000_001_000):
            at = datetime.datetime(1970, 1, 1) + datetime.timedelta(
                microseconds=ns // 1000)
            self.assertEqual(wire.format_timestamp(at),
                             wire.format_stamp(ns))

    def test_one_event_is_the_notifier_format(self):
        ns = 1_700_000_000_123_456_789
        msg, _seqs, _refused, _rest = senders.build_bundle(
            'pub-a', 'vitrage.persistor.event.x',
            [(ns, 3, queue.encode({'a': 1}), None)], 1 << 20)
        self.assertEqual(wire.message_id('pub-a', 3), msg['message_id'])
        self.assertEqual('SAMPLE', msg['priority'])
        event, stamp, sequence, _enveloped = wire.unwrap(msg['payload'])
        self.assertEqual(({'a': 1}, 3), (event, sequence))
        self.assertEqual('2023-11-14T22:13:20.123456Z', stamp)


def _items(first, count, size=10):
    return [(1_700_000_000_000_000_000 + n * 1000, n,
             queue.encode({'n': n, 'pad': 'x' * size}), None)
            for n in range(first, first + count)]


class TestBundles(base.TestCase):

    def build(self, items, max_bytes=1 << 20):
        return senders.build_bundle('pub-a', 'vitrage.persistor.event.x',
                                    items, max_bytes)

    def test_bundle_items_carry_their_own_ids(self):
        message, sequences, refused, rest = self.build(_items(1, 3))
        self.assertEqual(([1, 2, 3], [], []), (sequences, refused, rest))
        items = wire.bundle_items(message['payload'])
        self.assertEqual([wire.message_id('pub-a', n) for n in (1, 2, 3)],
                         [item['message_id'] for item in items])
        self.assertEqual([1, 2, 3], [item['sequence'] for item in items])
        self.assertEqual([{'n': n, 'pad': 'x' * 10} for n in (1, 2, 3)],
                         [item['event'] for item in items])
        self.assertEqual('2023-11-14T22:13:20.000001Z',
                         items[0]['collector_timestamp'])
        # the bundle's own id is fixed by what it carries
        self.assertEqual(message['message_id'],
                         self.build(_items(1, 3))[0]['message_id'])
        self.assertNotEqual(message['message_id'],
                            self.build(_items(1, 2))[0]['message_id'])
        self.assertNotIn(message['message_id'],
                         [item['message_id'] for item in items])

    def test_one_event_is_a_plain_notification(self):
        message, sequences, _refused, _rest = self.build(_items(5, 1))
        self.assertIsNone(wire.bundle_items(message['payload']))
        self.assertEqual(wire.message_id('pub-a', 5),
                         message['message_id'])
        self.assertEqual({'vitrage_persistor_envelope': 1, 'sequence': 5,
                          'collector_timestamp':
                              '2023-11-14T22:13:20.000005Z',
                          'event': {'n': 5, 'pad': 'x' * 10}},
                         message['payload'])
        self.assertEqual(('pub-a', 'vitrage.persistor.event.x', 'SAMPLE'),
                         (message['publisher_id'], message['event_type'],
                          message['priority']))
        self.assertEqual([5], sequences)

    def test_byte_limit_leaves_the_rest_for_the_next_bundle(self):
        items = _items(1, 5, size=100)    # ~120 bytes of JSON each
        message, sequences, _refused, rest = self.build(items, 300)
        self.assertEqual([1, 2], sequences)
        self.assertEqual(items[2:], rest)
        # an event above the limit still goes, alone
        message, sequences, _refused, rest = self.build(items, 50)
        self.assertEqual(([1], items[1:]), (sequences, rest))

    def test_undecodable_event_is_refused_and_the_others_bundled(self):
        items = _items(1, 3)
        items[1] = (items[1][0], 2, b'not marshal data', None)
        message, sequences, refused, rest = self.build(items)
        self.assertEqual([1, 3], sequences)
        self.assertEqual([2], [sequence for sequence, _ in refused])
        self.assertEqual(2, len(wire.bundle_items(message['payload'])))
        message, sequences, refused, rest = self.build(items[1:2])
        self.assertIsNone(message)
        self.assertEqual(([], 1), (sequences, len(refused)))


class EncodingTransport:
    """Encodes like oslo.messaging's driver, before any I/O."""

    def __init__(self, fail=None):
        self.sent = []
        self.fail = fail

    def _send_notification(self, target, ctxt, message, version, retry):
        text = jsonutils.dumps(message)
        if self.fail:
            raise self.fail
        self.sent.append(jsonutils.loads(text))


class TestSendChecked(base.TestCase):

    def send(self, items, transport):
        message, sequences, refused, _rest = senders.build_bundle(
            'pub-a', 'vitrage.persistor.event.x', items, 1 << 20)
        self.assertEqual([], refused)
        return senders.send_checked(transport, None, message, sequences)

    def test_events_json_refuses_are_left_out(self):
        items = _items(1, 4)
        for n in (2, 4):
            items[n - 1] = (items[n - 1][0], n,
                            queue.encode({'n': n, 'bad': {(1, 2): 3}}),
                            None)
        transport = EncodingTransport()
        sent, refused = self.send(items, transport)
        self.assertEqual([1, 3], sent)
        self.assertEqual([2, 4], [sequence for sequence, _ in refused])
        self.assertIn('keys must be', refused[0][1])
        [message] = transport.sent
        self.assertEqual([1, 3], [item['sequence'] for item in
                                  wire.bundle_items(message['payload'])])

    def test_all_refused_sends_nothing(self):
        transport = EncodingTransport()
        items = [(0, 5, queue.encode({'bad': {(1, 2): 3}}), None)]
        self.assertEqual(([], [(5, mock.ANY)]), self.send(items, transport))
        self.assertEqual([], transport.sent)

    def test_a_value_error_not_about_the_data_is_a_send_failure(self):
        transport = EncodingTransport(fail=ValueError('frame too large'))
        self.assertRaises(ValueError, self.send, _items(1, 3), transport)
        transport = EncodingTransport(fail=ConnectionError('down'))
        self.assertRaises(ConnectionError, self.send, _items(1, 3),
                          transport)
        transport.fail = None
        self.assertEqual(([1, 2, 3], []), self.send(_items(1, 3), transport))


class _Pipe:
    def __init__(self, *messages):
        self.messages = [marshal.dumps(m) for m in messages]

    def recv_bytes(self):
        return self.messages.pop(0)


class TestChildProtocol(base.TestCase):

    def test_a_first_message_other_than_init_is_refused(self):
        from vitrage_persistor.publish import child

        sender = child.Child(_Pipe(('events', [])), None)
        self.assertRaises(child.ProtocolError, sender.run)
