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

"""End to end: Vitrage collector path, hook, RabbitMQ, agent, database.

Real Vitrage 15.0.1 drivers, fed from ``vitrage.tests.mocks``, run through
the real ``DriverExec``, notification endpoint, ``ConsistencyEnforcer``,
``EventsCoordination`` and ``Processor`` (``harness.Pipeline``), with the
hooks installed from configuration (``[persistor_hooks]`` defaults: the
collector hook). The real ``vitrage-persistor-agent`` runs as its own
process on a fresh RabbitMQ vhost and a fresh PostgreSQL (and MariaDB)
database. Every event the processor received must be in the ``event`` table
exactly once, with the payload the processor got, in the processor's order.
"""

import collections
import json
import time
import warnings

from oslo_db.sqlalchemy import test_fixtures
from oslo_serialization import jsonutils

from vitrage_persistor import wire
from vitrage_persistor.demo import harness
from vitrage_persistor.publish.hooks import install
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.persistor import helpers

warnings.filterwarnings('ignore', category=DeprecationWarning)

# what the scenario must cover: (vitrage_datasource_action, event type)
WANTED_ACTIONS = (('init_snapshot', None), ('snapshot', None),
                  ('update', 'instance.create.end'),
                  ('update', 'instance.delete.end'),
                  ('update', 'delete_entity'),
                  ('update', 'remove_deleted_entity'))


def normalise(event):
    """The JSON form of an event, as it travels and is stored."""
    return jsonutils.loads(jsonutils.dumps(event))


def key(event) -> str:
    return json.dumps(event, sort_keys=True)


class EndToEnd:
    """The test; mixed into one concrete class per database backend."""

    def start_agent(self, url):
        return helpers.make_agent(self, url, self.db_url).start()

    def test_every_processed_event_stored_once_as_received(self):
        rabbit = self.useFixture(func_fixtures.RabbitVhost())
        agent = self.start_agent(rabbit.url)
        # only the broker is configured; the hooks keep their defaults
        self.config(transport_url=rabbit.url, group='persistor_hooks')
        self.addCleanup(harness.configure_vitrage().cleanUp)
        installed = install.install(self.conf, register_atexit=False)
        self.addCleanup(installed.uninstall)
        self.addCleanup(installed.stop, 5)
        self.assertEqual(['collector'], list(installed.publishers))
        publisher = installed.publishers['collector']

        pipeline = harness.Pipeline(harness.FakeCloud(), record=True)
        pipeline.full_scenario()
        self.assertTrue(installed.flush(60))
        received = [normalise(e) for e in pipeline.received]
        total = len(received)
        self.assertGreater(total, 100)
        actions = {(e['vitrage_datasource_action'],
                    e.get('vitrage_event_type')) for e in received}
        for wanted in WANTED_ACTIONS:
            self.assertIn(wanted, actions)
        self.assertEqual(set(harness.DATASOURCES) | {'consistency'},
                         {e['vitrage_entity_type'] for e in received})

        helpers.wait_for(
            lambda: self.store.event_counts()['count'] >= total, 120,
            what='%d events stored' % total)
        time.sleep(1.0)   # anything beyond total would be a duplicate
        stored = sorted(self.store.iter_events(),
                        key=lambda e: (e.publisher_id, e.sequence))
        # the collector hook adds the vitrage_ids the live processor made
        # (for replay); the rest is the event as the processor got it
        live_ids = [wire.split_live_ids(e.payload)[1] for e in stored]
        self.assertTrue(any(live_ids))

        # exactly once: same count, and no payload more often than the
        # processor itself received it
        self.assertEqual(total, self.store.event_counts()['count'])
        self.assertEqual(collections.Counter(map(key, received)),
                         collections.Counter(key(e.payload) for e in stored))
        # one to one, in the processor's order
        self.assertEqual(
            [(publisher.publisher_id, n, wire.event_type('collector'))
             for n in range(1, total + 1)],
            [(e.publisher_id, e.sequence, e.event_type) for e in stored])
        self.assertEqual(received, [e.payload for e in stored])
        self.assertEqual(
            [(e['vitrage_entity_type'], e['vitrage_datasource_action'])
             for e in received],
            [(e.entity_type, e.datasource_action) for e in stored])
        self.assertEqual(total, len({e.message_id for e in stored}))
        # the replay order (collector_timestamp first) is the same order
        self.assertEqual([e.sequence for e in stored],
                         [e.sequence for e in self.store.iter_events()])

        stats = publisher.stats.as_dict()
        self.assertEqual(total, stats['sent'])
        self.assertEqual(0, stats['dropped'] + stats['unserialisable'] +
                         stats['abandoned'])
        # the agent's queue drained; its dead-letter queue exists, empty
        self.assertEqual({'vitrage_persistor.sample': 0,
                          'vitrage_persistor.dead': 0}, rabbit.queues())
        self.assertEqual(total, helpers.wait_for(
            lambda: agent.stored_total() >= total and agent.stored_total(),
            30, what='agent stats line'))


class TestEndToEndPostgreSQL(EndToEnd, func_fixtures.OpportunisticDB,
                             base.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture


class TestEndToEndMariaDB(EndToEnd, func_fixtures.OpportunisticDB,
                          base.TestCase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture


class TestEndToEndSQLite(EndToEnd, func_fixtures.OpportunisticDB,
                         base.TestCase):
    FIXTURE = test_fixtures.OpportunisticDbFixture
