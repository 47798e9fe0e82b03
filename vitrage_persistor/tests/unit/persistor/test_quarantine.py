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

"""Quarantine rows every database stores, and dead-letter classification."""

import base64
import json

from vitrage_persistor.persistor import dead_letter, quarantine
from vitrage_persistor.tests import base


class TestDerivedId(base.TestCase):

    def test_short_ids_are_kept(self):
        self.assertEqual('abc#3', quarantine.derived_id('abc', '#3'))

    def test_long_bundle_id_gives_one_id_per_item(self):
        bundle = 'b' * 64
        ids = [quarantine.derived_id(bundle, '#%d' % i) for i in range(12)]
        self.assertEqual(12, len(set(ids)))
        self.assertTrue(all(len(i) <= quarantine.ID_LEN for i in ids))
        self.assertTrue(all(i.endswith('#%d' % n) for n, i in enumerate(ids)))
        # stable: a redelivery gets the same id
        self.assertEqual(ids[3], quarantine.derived_id(bundle, '#3'))

    def test_two_long_ids_with_the_same_head_differ(self):
        a = quarantine.derived_id('x' * 100 + 'a')
        b = quarantine.derived_id('x' * 100 + 'b')
        self.assertNotEqual(a, b)

    def test_surrogates_and_nul_give_storable_distinct_ids(self):
        ids = {quarantine.derived_id(v) for v in ('m\ud800', 'm\ud801',
                                                  'm\x00', 'm')}
        self.assertEqual(4, len(ids))
        for value in ids:
            value.encode('utf-8')
            self.assertNotIn('\x00', value)


class TestRecord(base.TestCase):

    def test_every_text_field_is_storable_and_flagged(self):
        row = quarantine.record('r', 'detail \ud800', 'raw \x00',
                                message_id='id\udfff',
                                publisher_id='p\ud800' * 300,
                                event_type='e\x00')
        for value in (row.detail, row.raw, row.message_id, row.publisher_id,
                      row.event_type):
            value.encode('utf-8')
            self.assertNotIn('\x00', value)
        self.assertTrue(row.text_escaped)
        self.assertLessEqual(len(row.publisher_id), quarantine.NAME_LEN)

    def test_clean_row_is_not_flagged(self):
        row = quarantine.record('r', 'd', '{}', message_id='m1',
                                publisher_id='p', event_type='e')
        self.assertFalse(row.text_escaped)
        self.assertEqual('m1', row.message_id)

    def test_body_raw(self):
        self.assertEqual(('hé', 'text', False),
                         quarantine.body_raw('hé'.encode()))
        raw, fmt, _ = quarantine.body_raw(b'\xff\x00abc')
        self.assertEqual('base64', fmt)
        self.assertEqual(b'\xff\x00abc', base64.b64decode(raw))
        raw, fmt, escaped = quarantine.body_raw(b'a\x00b')
        self.assertEqual(('a\\x00b', 'text', True), (raw, fmt, escaped))


def _oslo(message) -> bytes:
    return json.dumps({'oslo.version': '2.0',
                       'oslo.message': json.dumps(message)}).encode()


class TestDeadLetter(base.TestCase):

    def test_classify(self):
        cases = [
            (b'\x80\x04pickled', 'application/x-python-serialize',
             dead_letter.CONTENT_TYPE_REFUSED),
            (b'\xff\xfe', 'application/json', dead_letter.INVALID_UTF8),
            (b'not json', 'application/json', dead_letter.NOT_JSON),
            (b'[1, 2]', None, dead_letter.NOT_OSLO_ENVELOPE),
            (b'{"oslo.version": "2.0", "oslo.message": 7}', '',
             dead_letter.BAD_OSLO_MESSAGE),
            (b'{"oslo.version": "2.0", "oslo.message": "{x"}', None,
             dead_letter.BAD_OSLO_MESSAGE),
            (b'{"oslo.version": "2.0", "oslo.message": "[1]"}', None,
             dead_letter.BAD_OSLO_MESSAGE),
            (_oslo({'message_id': 'm'}), None, dead_letter.DEAD_LETTERED),
            (b'{"a": 1}', None, dead_letter.DEAD_LETTERED),
        ]
        for data, content_type, reason in cases:
            self.assertEqual(reason,
                             dead_letter.classify(data, content_type)[0],
                             data)

    def test_record_keeps_body_and_death(self):
        headers = {'x-death': [{'queue': 'vitrage_persistor.sample',
                                'reason': 'rejected', 'count': 1}]}
        row = dead_letter.quarantine_record(b'\xff garbage', 'application/'
                                            'json', headers)
        self.assertEqual(dead_letter.INVALID_UTF8, row.reason)
        self.assertEqual('dead_letter', row.source)
        self.assertEqual('base64', row.raw_format)
        self.assertIn('vitrage_persistor.sample (rejected, 1 time(s))',
                      row.detail)
        self.assertIsNone(row.message_id)

    def test_rejected_oslo_message_keeps_its_id(self):
        row = dead_letter.quarantine_record(_oslo(
            {'message_id': 'm-1', 'publisher_id': 'p', 'event_type': 'e'}),
            None, {})
        self.assertEqual('m-1!dead', row.message_id)
        self.assertEqual(('p', 'e'), (row.publisher_id, row.event_type))
