"""The sender side's pure parts: encoding, message ids, stamps."""

import datetime

from vitrage_persistor import envelope, sender
from vitrage_persistor.tests import base


class TestSenderParts(base.TestCase):

    def test_encode_round_trips_json_able_events(self):
        event = {'id': 'vm-1', 'n': 3, 'ok': True, 'none': None,
                 'nested': {'list': [1, 'a', {'x': 1.5}]}}
        data = sender.encode(event)
        self.assertIsInstance(data, bytes)   # the marshal fast path
        self.assertEqual(event, sender.decode(data))

    def test_encode_falls_back_to_json(self):
        class Mapping(dict):   # marshal refuses subclasses
            pass

        stamp = datetime.datetime(2026, 1, 2, 3, 4, 5)
        data = sender.encode(Mapping(at=stamp))
        self.assertIsInstance(data, str)
        self.assertEqual({'at': '2026-01-02T03:04:05.000000'},
                         sender.decode(data))

    def test_encode_refuses_what_json_refuses(self):
        self.assertRaises(ValueError, sender.encode, {'x': object()})
        # marshal takes a tuple key; decode (in the sender) refuses it
        data = sender.encode({(1, 2): 'x'})
        self.assertRaises(TypeError, sender.decode, data)

    def test_message_id_stable_per_event(self):
        first = sender.message_id('pub-a', 7)
        self.assertEqual(first, sender.message_id('pub-a', 7))
        self.assertNotEqual(first, sender.message_id('pub-a', 8))
        self.assertNotEqual(first, sender.message_id('pub-b', 7))

    def test_build_message_is_the_notifier_format(self):
        ns = 1_700_000_000_123_456_789
        msg = sender.build_message('pub-a', 'vitrage.persistor.event.x',
                                   ns, 3, sender.encode({'a': 1}))
        self.assertEqual(sender.message_id('pub-a', 3), msg['message_id'])
        self.assertEqual('SAMPLE', msg['priority'])
        event, stamp, sequence = envelope.unwrap(msg['payload'])
        self.assertEqual(({'a': 1}, 3), (event, sequence))
        self.assertEqual('2023-11-14T22:13:20.123456Z', stamp)
