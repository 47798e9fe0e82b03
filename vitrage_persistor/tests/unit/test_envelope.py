import datetime

from vitrage_persistor import envelope
from vitrage_persistor.tests import base


class TestEnvelope(base.TestCase):

    def test_round_trip(self):
        ts = datetime.datetime(2026, 11, 21, 3, 12, 0, 5,
                               tzinfo=datetime.UTC)
        event = {'vitrage_entity_type': 'nova.host', 'name': 'h1'}
        payload = envelope.wrap(event, ts, 42)
        self.assertEqual((event, '2026-11-21T03:12:00.000005Z', 42),
                         envelope.unwrap(payload))

    def test_bare_event_has_no_stamp(self):
        event = {'vitrage_entity_type': 'nova.host'}
        self.assertEqual((event, None, 0), envelope.unwrap(event))
        self.assertEqual(([1], None, 0), envelope.unwrap([1]))

    def test_naive_times_are_utc(self):
        ts = datetime.datetime(2026, 1, 1, 0, 0, 0)
        self.assertEqual('2026-01-01T00:00:00.000000Z',
                         envelope.format_timestamp(ts))
        aware = datetime.datetime(
            2026, 1, 1, 2, 0, 0,
            tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
        self.assertEqual('2026-01-01T00:00:00.000000Z',
                         envelope.format_timestamp(aware))

    def test_event_type_prefix(self):
        self.assertTrue(envelope.event_type('driver').startswith(
            envelope.EVENT_TYPE_PREFIX))
