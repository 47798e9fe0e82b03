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

"""collector_timestamp: hook stamp, then vitrage_sample_date, then the
notification timestamp; naive UTC with microseconds."""

import datetime

from vitrage_persistor.persistor import collector_time as ct
from vitrage_persistor.tests import base

HOOK = '2026-11-21T03:12:00.123456Z'
SAMPLE = '2026-11-21T03:00:00Z'
NOTIFY = '2026-11-21 04:00:00.000001'


class TestResolve(base.TestCase):

    def test_hook_stamp_wins(self):
        value, source = ct.resolve(HOOK, {'vitrage_sample_date': SAMPLE},
                                   {'timestamp': NOTIFY}, enveloped=True)
        self.assertEqual(datetime.datetime(2026, 11, 21, 3, 12, 0, 123456),
                         value)
        self.assertEqual(ct.SOURCE_HOOK, source)

    def test_sample_date_next(self):
        value, source = ct.resolve(None, {'vitrage_sample_date': SAMPLE},
                                   {'timestamp': NOTIFY}, enveloped=False)
        self.assertEqual(datetime.datetime(2026, 11, 21, 3, 0, 0), value)
        self.assertEqual(ct.SOURCE_SAMPLE_DATE, source)

    def test_notification_timestamp_last(self):
        value, source = ct.resolve(None, {}, {'timestamp': NOTIFY},
                                   enveloped=False)
        self.assertEqual(datetime.datetime(2026, 11, 21, 4, 0, 0, 1), value)
        self.assertEqual(ct.SOURCE_NOTIFICATION, source)

    def test_converted_to_utc(self):
        value, _ = ct.resolve('2026-11-21T05:12:00.5+02:00', {}, {},
                              enveloped=True)
        self.assertEqual(datetime.datetime(2026, 11, 21, 3, 12, 0, 500000),
                         value)
        self.assertIsNone(value.tzinfo)

    def test_unparsable_does_not_fall_through(self):
        exc = self.assertRaises(
            ct.TimestampError, ct.resolve, None,
            {'vitrage_sample_date': 'soon'}, {'timestamp': NOTIFY},
            enveloped=False)
        self.assertEqual('bad_timestamp', exc.reason)

    def test_envelope_without_stamp(self):
        exc = self.assertRaises(
            ct.TimestampError, ct.resolve, None,
            {'vitrage_sample_date': SAMPLE}, {'timestamp': NOTIFY},
            enveloped=True)
        self.assertEqual('missing_timestamp', exc.reason)

    def test_nothing_at_all(self):
        exc = self.assertRaises(ct.TimestampError, ct.resolve, None, {}, {},
                                enveloped=False)
        self.assertEqual('missing_timestamp', exc.reason)
