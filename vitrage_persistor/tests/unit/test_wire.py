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

import datetime

from vitrage_persistor import wire
from vitrage_persistor.tests import base


class TestWire(base.TestCase):

    def test_round_trip(self):
        ts = datetime.datetime(2026, 11, 21, 3, 12, 0, 5,
                               tzinfo=datetime.UTC)
        event = {'vitrage_entity_type': 'nova.host', 'name': 'h1'}
        payload = wire.wrap(event, ts, 42)
        self.assertEqual((event, '2026-11-21T03:12:00.000005Z', 42, True),
                         wire.unwrap(payload))

    def test_bare_event_has_no_stamp(self):
        event = {'vitrage_entity_type': 'nova.host'}
        self.assertEqual((event, None, 0, False), wire.unwrap(event))
        self.assertEqual(([1], None, 0, False), wire.unwrap([1]))

    def test_naive_times_are_utc(self):
        ts = datetime.datetime(2026, 1, 1, 0, 0, 0)
        self.assertEqual('2026-01-01T00:00:00.000000Z',
                         wire.format_timestamp(ts))
        aware = datetime.datetime(
            2026, 1, 1, 2, 0, 0,
            tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
        self.assertEqual('2026-01-01T00:00:00.000000Z',
                         wire.format_timestamp(aware))

    def test_event_type_prefix(self):
        self.assertTrue(wire.event_type('driver').startswith(
            wire.EVENT_TYPE_PREFIX))

    def test_bundle_read_without_rebuilding_an_envelope(self):
        ns = 1_700_000_000_123_456_789
        message = wire.build_message('pub-a', wire.event_type('collector'),
                                     [(ns, 1, {'n': 1}), (ns, 2, {'n': 2})])
        items = wire.bundle_items(message['payload'])
        self.assertEqual([wire.message_id('pub-a', n) for n in (1, 2)],
                         [item['message_id'] for item in items])
        self.assertEqual(
            [({'n': n}, '2023-11-14T22:13:20.123456Z', n, True)
             for n in (1, 2)],
            [wire.unwrap_item(item) for item in items])
        self.assertEqual(wire.bundle_message_id('pub-a', 1, 2),
                         message['message_id'])

    def test_one_entry_is_a_plain_notification(self):
        message = wire.build_message('pub-a', 'vitrage.persistor.event.x',
                                     [(0, 7, {'n': 7})])
        self.assertIsNone(wire.bundle_items(message['payload']))
        self.assertEqual(wire.message_id('pub-a', 7), message['message_id'])
        self.assertEqual(({'n': 7}, '1970-01-01T00:00:00.000000Z', 7, True),
                         wire.unwrap(message['payload']))
        self.assertIsNone(wire.build_message('pub-a', 'x', []))

    def test_stamp_and_timestamp_share_one_format(self):
        at = datetime.datetime(2026, 11, 21, 3, 12, 0, 5)
        ns = int(at.replace(tzinfo=datetime.UTC).timestamp()) * 10 ** 9 + 5000
        self.assertEqual(wire.format_timestamp(at), wire.format_stamp(ns))
        self.assertEqual(at, datetime.datetime.strptime(
            wire.format_stamp(ns), wire.TIMESTAMP_FORMAT))
