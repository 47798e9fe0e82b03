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

"""Store.add_batch runs a deadlocked transaction again (error path: mocks).

The deadlock is injected inside the real transaction on a real SQLite
store, after the batch's events were inserted, so the test also shows the
rollback: the retry stores each event once.
"""

import logging
from unittest import mock

import fixtures
from oslo_db import exception as db_exception

from vitrage_persistor.storage import api, migration, records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import records as test_records


def _quarantine_record(i):
    return records.QuarantineRecord(
        reason='bad_entity_type', detail='test row %d' % i, raw='{}',
        message_id='q-%d' % i, publisher_id='host-a',
        event_type='vitrage.persistor.event', source='endpoint',
        raw_format='json')


class TestDeadlockRetry(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(connection='sqlite:///%s/retry.sqlite' % self.state_dir,
                    db_retry_interval=0, db_max_retry_interval=0,
                    group='database')
        self.store = api.Store(self.conf)
        self.addCleanup(self.store.dispose)
        migration.upgrade(self.store)
        self.log = self.useFixture(fixtures.FakeLogger(
            name='vitrage_persistor.storage.api', level=logging.WARNING))
        self.events = [test_records.make_event(i) for i in range(30)]

    def _deadlock_first(self, times):
        """Make the first ``times`` transactions fail after their inserts."""
        real = api._quarantine_row
        calls = {'n': 0}

        def quarantine_row(item, now):
            calls['n'] += 1
            if calls['n'] <= times:
                raise db_exception.DBDeadlock(Exception(
                    'WSREP detected deadlock/conflict and aborted the '
                    'transaction. Try restarting the transaction'))
            return real(item, now)
        self.useFixture(fixtures.MonkeyPatch(
            'vitrage_persistor.storage.api._quarantine_row', quarantine_row))
        return calls

    def _stored_ids(self):
        return sorted(e.message_id for e in self.store.iter_events_by_id())

    def test_deadlock_once_is_retried_and_stored_once(self):
        calls = self._deadlock_first(1)
        result = self.store.add_batch(self.events, [_quarantine_record(1)])
        self.assertEqual(2, calls['n'])
        self.assertEqual((30, 0, 1, 1), (result.stored, result.duplicates,
                                         result.quarantined, result.retries))
        self.assertEqual(sorted(e.message_id for e in self.events),
                         self._stored_ids())
        self.assertEqual({'bad_entity_type': 1},
                         self.store.quarantine_summary())
        lines = [line for line in self.log.output.splitlines() if line]
        self.assertEqual(1, len(lines), lines)
        self.assertIn('committed after 1 deadlock or certification failure '
                      'retries', lines[0])

    def test_retries_are_bounded_and_the_error_propagates(self):
        self.config(db_max_retries=2, group='database')
        calls = self._deadlock_first(1000)
        self.assertRaises(db_exception.DBDeadlock, self.store.add_batch,
                          self.events, [_quarantine_record(1)])
        self.assertEqual(3, calls['n'])
        self.assertEqual([], self._stored_ids())
        lines = [line for line in self.log.output.splitlines()
                 if 'giving up' in line]
        self.assertEqual(1, len(lines), self.log.output)
        self.assertIn('after 3 attempts', lines[0])

    def test_negative_max_retries_is_still_bounded(self):
        self.config(db_max_retries=-1, group='database')
        calls = self._deadlock_first(1000)
        self.assertRaises(db_exception.DBDeadlock, self.store.add_batch,
                          self.events, [_quarantine_record(1)])
        self.assertEqual(api._DEFAULT_DEADLOCK_RETRIES + 1, calls['n'])

    def test_other_errors_are_not_retried(self):
        with mock.patch.object(api, '_quarantine_row',
                               side_effect=db_exception.DBConnectionError(
                                   Exception('gone'))) as row:
            self.assertRaises(db_exception.DBConnectionError,
                              self.store.add_batch, self.events,
                              [_quarantine_record(1)])
        self.assertEqual(1, row.call_count)
        self.assertEqual([], self._stored_ids())
