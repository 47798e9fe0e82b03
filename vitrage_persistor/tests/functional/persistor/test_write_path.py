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

"""The agent's write path on every backend: the fast multi-row insert.

``Store.add_batch`` sends events to PostgreSQL and MariaDB as one
pre-built multi-row INSERT per chunk instead of SQLAlchemy's executemany.
These tests hold it to the same contract as the Core insert it replaces:
same stored values, exact stored/duplicate counts across chunks, and the
insert-ignore on ``message_id``.
"""

import datetime
import uuid
from unittest import mock

from vitrage_persistor.storage import api, records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as func_fixtures

T0 = datetime.datetime(2026, 11, 21, 3, 12, 0, 123456)
FAST_DIALECTS = ('postgresql', 'mysql', 'mariadb')


def _event(i, **overrides):
    payload = {'name': 'h\u00f4te-%d \U0001f525' % i, 'n': i, 'f': 0.1,
               'nested': {'list': [1, None, True, 'x\x00y']},
               'vitrage_entity_type': 'nova.host'}
    fields = dict(
        message_id=str(uuid.uuid4()),
        collector_timestamp=T0 + datetime.timedelta(microseconds=i),
        event_type='vitrage.persistor.event.driver',
        entity_type='nova.host', payload_json=records.encode_payload(payload),
        publisher_id='vitrage.persistor.driver.h.%d' % (i % 3),
        sequence=i, datasource_action='update')
    fields.update(overrides)
    return records.EventRecord(**fields)


def _comparable(stored):
    return (stored.collector_timestamp, stored.publisher_id, stored.sequence,
            stored.event_type, stored.entity_type, stored.datasource_action,
            stored.payload)


class WritePathContract:

    def test_fast_path_is_used_where_the_driver_allows(self):
        fast = self.store._fast_insert(self.store.engine.dialect)
        if self.store.dialect_name in FAST_DIALECTS:
            self.assertIsNotNone(fast)
        else:
            self.assertIsNone(fast)

    def test_counts_are_exact_across_statements(self):
        batch = [_event(i) for i in range(30)]
        self.store.add_batch(batch[:10])
        # About 3 rows per statement: the batch spans many statements.
        with mock.patch.object(api, '_MAX_BYTES_PER_STATEMENT', 1500):
            result = self.store.add_batch(batch + [batch[12], batch[3]])
        self.assertEqual((20, 12, 0), (result.stored, result.duplicates,
                                       result.quarantined))
        self.assertEqual(30, self.store.event_counts()['count'])
        self.assertEqual(sorted(e.message_id for e in batch),
                         sorted(e.message_id for e in
                                self.store.iter_events_by_id()))

    def test_same_values_as_the_core_insert(self):
        edge = [
            _event(1),
            _event(2, datasource_action=None, publisher_id='',
                   sequence=2 ** 63 - 1),
            _event(3, sequence=-2 ** 63, collector_timestamp=datetime.datetime(
                2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)),
            _event(4, payload_json=records.encode_payload(
                {'vitrage_entity_type': 'x', 'quote': "it's \\ \"so\" %s",
                 'big': 'z' * 70000})),
        ]
        self.store.add_batch(edge)
        fast_rows = [_comparable(e) for e in self.store.iter_events_by_id()]
        # The same events again, under new ids, through SQLAlchemy Core.
        core = api.Store(self.store.conf)
        self.addCleanup(core.dispose)
        again = [records.EventRecord(**dict(
            e.__dict__, message_id=str(uuid.uuid4()))) for e in edge]
        with mock.patch.object(api, '_fast_path_ok', return_value=False):
            result = core.add_batch(again)
        self.assertEqual(4, result.stored)
        core_rows = [_comparable(e) for e in self.store.iter_events_by_id(
            after_id=max(e.id for e in self.store.iter_events_by_id()) - 4)]
        self.assertEqual(core_rows, fast_rows)
        self.assertEqual(datetime.datetime(2026, 1, 2, 3, 4, 5),
                         fast_rows[2][0])
        self.assertIsNone(fast_rows[1][5])


globals().update(func_fixtures.backend_classes(
    'TestWritePath', (WritePathContract, func_fixtures.OpportunisticDB,
                      base.TestCase), {}))
