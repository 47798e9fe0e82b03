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

"""Every kind of bad input gets its own quarantine reason."""

import datetime

from vitrage_persistor import wire
from vitrage_persistor.persistor import quarantine, validation
from vitrage_persistor.storage import records
from vitrage_persistor.tests import base

STAMP = datetime.datetime(2026, 11, 21, 3, 12, 0, 123456)


def _event(**extra):
    event = {'vitrage_entity_type': 'nova.host', 'id': 'host-1',
             'vitrage_datasource_action': 'snapshot',
             'vitrage_sample_date': '2026-11-21T03:00:00Z'}
    event.update(extra)
    return event


def _message(payload=None, event_type=None, message_id='m-1',
             timestamp='2026-11-21 04:00:00.000001'):
    return {'ctxt': {}, 'publisher_id': 'vitrage.persistor.driver.h.t',
            'event_type': (wire.event_type('driver') if event_type is None
                           else event_type),
            'payload': (wire.wrap(_event(), STAMP, 7)
                        if payload is None else payload),
            'metadata': {'message_id': message_id, 'timestamp': timestamp}}


class TestClassify(base.TestCase):

    def classify(self, message, limit=4096):
        return validation.classify(message, limit)

    def assertReason(self, reason, message, limit=4096):
        item = self.classify(message, limit)
        self.assertIsInstance(item, records.QuarantineRecord)
        self.assertEqual(reason, item.reason)
        self.assertTrue(item.detail)
        self.assertIsNotNone(item.raw)
        item.raw.encode('utf-8')  # always storable
        return item

    def test_good_enveloped_event(self):
        item = self.classify(_message())
        self.assertIsInstance(item, records.EventRecord)
        self.assertEqual('m-1', item.message_id)
        self.assertEqual(STAMP, item.collector_timestamp)
        self.assertEqual(7, item.sequence)
        self.assertEqual('nova.host', item.entity_type)
        self.assertEqual('snapshot', item.datasource_action)
        self.assertEqual(_event(), records.decode_payload(item.payload_json))

    def test_project_is_taken_as_vitrage_would(self):
        self.assertIsNone(self.classify(_message()).project_id)
        instance = _event(vitrage_entity_type='nova.instance',
                          tenant_id='p-1')
        item = self.classify(_message(payload=wire.wrap(instance, STAMP, 1)))
        self.assertEqual('p-1', item.project_id)

    def test_good_bare_event(self):
        item = self.classify(_message(payload=_event()))
        self.assertIsInstance(item, records.EventRecord)
        self.assertEqual(datetime.datetime(2026, 11, 21, 3, 0, 0),
                         item.collector_timestamp)
        self.assertEqual(0, item.sequence)

    def test_message_not_a_dict(self):
        self.assertReason('not_a_dict', ['not', 'a', 'message'])

    def test_payload_not_a_dict(self):
        self.assertReason('not_a_dict', _message(payload='text'))
        self.assertReason('not_a_dict', _message(payload=[1, 2]))
        self.assertReason('not_a_dict', _message(
            payload=wire.wrap(None, STAMP, 1)))

    def test_missing_timestamp(self):
        payload = wire.wrap(_event(), STAMP, 1)
        del payload['collector_timestamp']
        self.assertReason('missing_timestamp', _message(payload=payload))
        event = _event()
        del event['vitrage_sample_date']
        self.assertReason('missing_timestamp',
                          _message(payload=event, timestamp=None))

    def test_bad_timestamp(self):
        payload = wire.wrap(_event(), STAMP, 1)
        payload['collector_timestamp'] = 'not a time'
        self.assertReason('bad_timestamp', _message(payload=payload))
        self.assertReason('bad_timestamp', _message(
            payload=_event(vitrage_sample_date='2026-13-45T00:00:00Z')))
        self.assertReason('bad_timestamp', _message(
            payload=_event(vitrage_sample_date='1970-01-01T00:00:00Z')))

    def test_oversized(self):
        item = self.assertReason('oversized', _message(
            payload=wire.wrap(_event(blob='x' * 5000), STAMP, 1)))
        self.assertIn('limit 4096', item.detail)
        self.assertIsInstance(self.classify(_message(
            payload=wire.wrap(_event(blob='x' * 5000), STAMP, 1)),
            limit=8192), records.EventRecord)

    def test_nan_and_infinity(self):
        for value in (float('nan'), float('inf'), float('-inf')):
            self.assertReason('nan_or_infinity', _message(
                payload=wire.wrap(_event(metric={'v': [value]}), STAMP,
                                  1)))

    def test_unencodable(self):
        self.assertReason('unencodable', _message(
            payload=wire.wrap(_event(name='a \ud800 b'), STAMP, 1)))
        self.assertReason('unencodable', _message(
            payload=wire.wrap(_event(obj=object()), STAMP, 1)))

    def test_bad_entity_type(self):
        event = _event()
        del event['vitrage_entity_type']
        self.assertReason('bad_entity_type', _message(payload=event))
        for value in (None, 5, '', '   ', 'x' * 300, ['nova.host']):
            self.assertReason('bad_entity_type', _message(
                payload=_event(vitrage_entity_type=value)))

    def test_wrong_event_type(self):
        for event_type in ('compute.instance.create.end',
                           'vitrage.alarm.activate', ''):
            item = self.assertReason('wrong_event_type',
                                     _message(event_type=event_type))
            self.assertEqual('m-1', item.message_id)

    def test_bad_envelope_sequence(self):
        payload = wire.wrap(_event(), STAMP, 1)
        payload['sequence'] = 'one'
        self.assertReason('bad_envelope', _message(payload=payload))

    def test_no_message_id(self):
        self.assertReason('no_message_id', _message(message_id=None))

    def test_nul_in_a_short_column_is_quarantined(self):
        # PostgreSQL refuses NUL in text columns with an error that is not
        # a data error, which would requeue the batch forever.
        self.assertReason('bad_entity_type', _message(
            payload=_event(vitrage_entity_type='nova\x00host')))
        item = self.assertReason('wrong_event_type', _message(
            event_type=wire.event_type('driver\x00')))
        self.assertNotIn('\x00', item.event_type)
        item = self.assertReason('no_message_id',
                                 _message(message_id='m\x00-1'))
        # a derived id: plain text, and distinct from any other bad id
        self.assertNotIn('\x00', item.message_id)
        self.assertTrue(item.message_id.startswith('m\\x00-1~'),
                        item.message_id)
        self.assertTrue(item.text_escaped)
        message = _message()
        message['publisher_id'] = 'vitrage.persistor\x00'
        self.assertReason('bad_envelope', message)
        item = self.classify(_message(payload=wire.wrap(
            _event(vitrage_datasource_action='snap\x00shot',
                   name='in the payload \x00 is fine'), STAMP, 1)))
        self.assertIsNone(item.datasource_action)
        self.assertEqual('in the payload \x00 is fine', records.decode_payload(
            item.payload_json)['name'])

    def test_non_ascii_size_is_counted_in_utf8_bytes(self):
        event = _event(name='\u00e9' * 1500)  # 3000 bytes, 1500 chars
        size = len(records.encode_payload(event).encode('utf-8'))
        self.assertIsInstance(self.classify(
            _message(payload=wire.wrap(event, STAMP, 1)), size),
            records.EventRecord)
        self.assertReason('oversized', _message(
            payload=wire.wrap(event, STAMP, 1)), size - 1)

    def test_every_reason_is_declared(self):
        for reason in ('not_a_dict', 'missing_timestamp', 'bad_timestamp',
                       'oversized', 'unencodable', 'nan_or_infinity',
                       'bad_entity_type', 'wrong_event_type'):
            self.assertIn(reason, validation.REASONS)

    def test_raw_is_truncated(self):
        raw = quarantine.json_raw({'x': 'y' * 200000})
        self.assertLess(len(raw), quarantine.RAW_LIMIT + 100)
        self.assertIn('[truncated', raw)


def _item(sequence, message_id='auto', **extra):
    item = wire.wrap_item(_event(id='host-%d' % sequence, **extra),
                          STAMP, sequence, 'e-%d' % sequence)
    if message_id != 'auto':
        item['message_id'] = message_id
    return item


class TestBundles(base.TestCase):

    def rows(self, items, limit=4096):
        return validation.classify_message(
            _message(payload=wire.wrap_bundle(items), message_id='b-1'),
            limit)

    def test_one_row_per_item_with_its_own_id(self):
        rows = self.rows([_item(1), _item(2), _item(3)])
        self.assertEqual(['e-1', 'e-2', 'e-3'],
                         [row.message_id for row in rows])
        self.assertTrue(all(isinstance(row, records.EventRecord)
                            for row in rows))
        self.assertEqual([1, 2, 3], [row.sequence for row in rows])
        self.assertEqual({'vitrage.persistor.driver.h.t'},
                         {row.publisher_id for row in rows})
        self.assertEqual(_event(id='host-2'),
                         records.decode_payload(rows[1].payload_json))
        self.assertEqual(STAMP, rows[0].collector_timestamp)

    def test_a_plain_notification_is_one_row(self):
        [row] = validation.classify_message(_message(), 4096)
        self.assertEqual('m-1', row.message_id)

    def test_bad_items_quarantined_alone(self):
        rows = self.rows([_item(1), 'junk', _item(3, vitrage_entity_type=7),
                          _item(4, message_id=None), ['more junk'],
                          _item(6, big='x' * 5000), _item(7)])
        kinds = [(row.reason if isinstance(row, records.QuarantineRecord)
                  else 'stored', row.message_id) for row in rows]
        self.assertEqual([('stored', 'e-1'),
                          ('bad_envelope', 'b-1#1'),
                          ('bad_entity_type', 'e-3'),
                          ('no_message_id', 'b-1#3'),
                          ('bad_envelope', 'b-1#4'),
                          ('oversized', 'e-6'),
                          ('stored', 'e-7')], kinds)
        # the quarantine row holds the item, not the whole bundle
        self.assertIn('junk', rows[1].raw)
        self.assertNotIn('host-7', rows[1].raw)

    def test_not_a_list_quarantines_the_bundle(self):
        for bundle in ({'a': 1}, [], 'x'):
            [row] = validation.classify_message(
                _message(payload={wire.ENVELOPE_KEY: 1,
                                  wire.BUNDLE_KEY: bundle}), 4096)
            self.assertEqual(('bad_envelope', 'm-1'),
                             (row.reason, row.message_id))
