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

"""A real deadlock between two writers of the same message ids, on MariaDB.

Two stores (two connection pools, as two agents have) insert the same
batch at the same moment, one in the reverse order of the other: InnoDB
locks each unique key as it goes, so each transaction ends up waiting for
a key the other holds, and the server kills one of them with error 1213.
That transaction is retried (:meth:`Store.add_batch`) and every message
id is still stored once.
"""

import threading

from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor.storage import api
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import records as test_records
from vitrage_persistor.tests.functional import fixtures as func_fixtures

ROUNDS = 20
BATCH = 300


class TestConcurrentWritersMariaDB(func_fixtures.OpportunisticDB,
                                   base.TestCase):

    FIXTURE = test_fixtures.MySQLOpportunisticFixture

    def setUp(self):
        super().setUp()
        # short waits: the test provokes many deadlocks
        self.config(db_retry_interval=0.05, db_max_retry_interval=0.5,
                    group='database')

    @staticmethod
    def _race(stores, orders):
        """Both stores write their batch at the same moment."""
        barrier = threading.Barrier(len(stores))
        results, errors = [None] * len(stores), []

        def write(n):
            try:
                barrier.wait(10)
                results[n] = stores[n].add_batch(orders[n])
            except Exception as exc:  # reported by the caller
                errors.append(exc)
        threads = [threading.Thread(target=write, args=(n,))
                   for n in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        return results, errors

    def test_same_ids_in_opposite_orders(self):
        stores = [api.Store(self.conf), api.Store(self.conf)]
        for store in stores:
            self.addCleanup(store.dispose)
            store.max_event_id()  # connect before the race
        retries = 0
        expected = []
        for round_ in range(ROUNDS):
            batch = [test_records.make_event(round_ * BATCH + i)
                     for i in range(BATCH)]
            expected += [e.message_id for e in batch]
            results, errors = self._race(stores, [batch, batch[::-1]])
            self.assertEqual([], errors)
            self.assertEqual(BATCH, sum(r.stored for r in results))
            self.assertEqual(BATCH, sum(r.duplicates for r in results))
            retries += sum(r.retries for r in results)
        stored = [e.message_id for e in self.store.iter_events_by_id()]
        self.assertEqual(len(expected), len(stored))
        self.assertEqual(sorted(expected), sorted(stored))
        # The point of the test: the server really deadlocked, and the
        # retry, not luck, kept every batch.
        self.assertGreater(retries, 0, 'no deadlock in %d rounds' % ROUNDS)
