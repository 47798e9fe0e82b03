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

"""The agent end to end: real RabbitMQ, real databases, real processes.

Events are published by separate processes through
``oslo_messaging.Notifier(driver='messagingv2')`` at priority ``sample``;
the agent runs as ``python -m vitrage_persistor.cmd.agent``. Each test has
a fresh vhost and a fresh database of its backend.
"""

import collections
import os
import signal
import sqlite3
import subprocess
import time

import sqlalchemy as sa
from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor.persistor import validation
from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as vp_fixtures
from vitrage_persistor.tests.functional.persistor import helpers, publisher


class AgentTestBase(vp_fixtures.OpportunisticDB, base.TestCase):
    # Event counts: PostgreSQL carries the 20k exactly-once run.
    EXACTLY_ONCE_N = 3000

    def setUp(self):
        super().setUp()
        self.rabbit = self.useFixture(vp_fixtures.RabbitVhost())

    def agent(self, name='agent', db_url=None, url=None, **persistor):
        return helpers.make_agent(self, url or self.rabbit.url,
                                  db_url or self.db_url, name, **persistor)

    def count(self):
        return self.store.event_counts()['count']

    def wait_count(self, n, timeout=120):
        helpers.wait_for(lambda: self.count() >= n, timeout,
                         what='%d events stored (have %s)' % (n, 'some'))
        time.sleep(0.5)
        self.assertEqual(n, self.count())

    def assert_exactly(self, indices):
        seen = collections.Counter(
            e.payload['vp_test_index'] for e in self.store.iter_events_by_id(
                page_size=5000))
        dups = {k: v for k, v in seen.items() if v > 1}
        self.assertEqual({}, dups, 'duplicated events')
        missing = set(indices) - set(seen)
        self.assertEqual(set(), missing, 'lost events')
        self.assertEqual(set(indices), set(seen))

    # -- tests -----------------------------------------------------------

    def test_exactly_once(self):
        n = self.EXACTLY_ONCE_N
        agent = self.agent(batch_size=500).start()
        half = n // 2
        pubs = [helpers.publish(self.rabbit.url, 0, half, wait=False),
                helpers.publish(self.rabbit.url, half, n - half,
                                wait=False)]
        for p in pubs:
            helpers.finish(p)
        self.wait_count(n, timeout=180)
        self.assert_exactly(range(n))
        self.assertEqual(0, agent.terminate())
        self.assertEqual({}, {q: m for q, m in self.rabbit.queues().items()
                              if m})

    def test_kill9_then_restart(self):
        n = 3000
        agent = self.agent(batch_size=200).start()
        pub = helpers.publish(self.rabbit.url, 0, n, wait=False,
                              extra=('--rate', '600'))
        helpers.wait_for(lambda: self.count() >= 500, 60,
                         what='first events')
        agent.kill9()
        stored_at_kill = self.count()
        self.assertLess(stored_at_kill, n)
        time.sleep(1)
        agent.start()
        helpers.finish(pub)
        self.wait_count(n)
        self.assert_exactly(range(n))

    def test_two_agents_one_pool(self):
        n = 3000
        agents = [self.agent('agent%d' % i, batch_size=100).start()
                  for i in range(2)]
        helpers.publish(self.rabbit.url, 0, n, extra=('--rate', '1500'))
        self.wait_count(n)
        self.assert_exactly(range(n))
        for agent in agents:
            self.assertEqual(0, agent.terminate())
        shares = [a.stored_total() for a in agents]
        self.assertEqual(n, sum(shares))
        self.assertTrue(all(shares), 'one agent got nothing: %s' % shares)

    def test_malformed_quarantined_good_kept(self):
        good = 20
        max_bytes = 4096
        agent = self.agent(max_payload_bytes=max_bytes).start()
        helpers.publish(self.rabbit.url, 0, good, mode='malformed',
                        extra=('--max-payload-bytes', str(max_bytes)))
        expected = collections.Counter(
            reason for reason, _t, _p in
            publisher.malformed_messages(0, max_bytes))
        self.wait_count(good)
        total = sum(expected.values())
        helpers.wait_for(
            lambda: sum(self.store.quarantine_summary().values()) >= total,
            30, what='quarantine rows')
        self.assertEqual(dict(expected), self.store.quarantine_summary())
        self.assert_exactly(range(good))
        rows = self.store.list_quarantine(limit=100)
        for row in rows:
            self.assertIn(row['reason'], validation.REASONS)
            self.assertTrue(row['message_id'])
            self.assertTrue(row['detail'])
            self.assertTrue(row['raw'])
        self.assertEqual(0, agent.terminate())
        # logged once per kind and batch, not per message
        self.assertIn('as not_a_dict', agent.log())

    def test_bundles_store_each_event_once(self):
        n = 1000
        agent = self.agent(batch_size=7).start()
        helpers.publish(self.rabbit.url, 0, n, mode='bundles',
                        extra=('--per-message', '40'))
        self.wait_count(n)
        helpers.wait_for(
            lambda: sum(self.store.quarantine_summary().values()) >= 2,
            30, what='quarantine rows')
        self.assertEqual({'bad_envelope': 1, 'bad_entity_type': 1},
                         self.store.quarantine_summary())
        self.assert_exactly(range(n))
        self.assertEqual(list(range(n)), [
            e.sequence for e in self.store.iter_events(page_size=5000)])
        self.assertEqual(0, agent.terminate())
        self.assertEqual({}, {q: m for q, m in self.rabbit.queues().items()
                              if m})

    def test_sigterm_commits_in_flight_batch(self):
        n = 400
        # A batch that cannot fill and a timeout longer than the test: the
        # messages are delivered to the agent and wait in its batch.
        agent = self.agent(batch_size=100000, batch_timeout=600).start()
        helpers.publish(self.rabbit.url, 0, n)
        helpers.wait_for(lambda: self.rabbit.queues().get(
            'vitrage_persistor.sample', 0) == n, 30, what='delivery')
        self.assertEqual(0, self.count())
        self.assertEqual(0, agent.terminate(timeout=60))
        self.assertEqual(n, self.count())
        self.assert_exactly(range(n))
        helpers.wait_for(lambda: not any(self.rabbit.queues().values()), 30,
                         what='queue drained and acked')


class DurabilityMixin:
    def test_non_durable_queue_is_a_clear_error(self):
        # A notifier configured with amqp_durable_queues = false declared
        # the queue first.
        helpers.publish(self.rabbit.url, 0, 5, extra=('--non-durable',))
        agent = self.agent()
        agent.start(wait_ready=False)
        rc = agent.proc.wait(60)
        self.assertEqual(2, rc)
        log = agent.log()
        self.assertIn("already has the queue 'vitrage_persistor.sample' as "
                      "non-durable", log)
        self.assertIn('amqp_durable_queues', log)
        self.assertIn('PRECONDITION_FAILED', log)


class BrokerDownMixin:
    def test_sigterm_with_the_broker_down_stops_within_seconds(self):
        # Nothing listens on this port: the broker is down from the start.
        from vitrage_persistor.tests.functional.api import server
        url = 'rabbit://guest:guest@127.0.0.1:%d/' % server.free_port()
        agent = helpers.make_agent(self, url, self.db_url, name='nobroker')
        agent.start(wait_ready=False)
        helpers.wait_for(lambda: 'no broker answers' in agent.log(), 60,
                         what='the agent waiting for the broker')
        started = time.monotonic()
        rc = agent.terminate(timeout=30)
        took = time.monotonic() - started
        self.assertEqual(0, rc, agent.log()[-3000:])
        # oslo.messaging alone took graceful_shutdown_timeout (60 s)
        self.assertLess(took, 10, agent.log()[-3000:])
        self.assertIn('persistor agent stopped', agent.log())


class DatabaseOutageMixin:
    def test_database_unreachable_20s(self):
        url = sa.engine.make_url(self.db_url)
        proxy = vp_fixtures.TcpProxy(url.host or '127.0.0.1',
                                     url.port or self.DEFAULT_PORT).start()
        self.addCleanup(proxy.close)
        proxied = url.set(host='127.0.0.1', port=proxy.port)
        agent = self.agent(
            db_url=proxied.render_as_string(hide_password=False),
            batch_size=200, requeue_backoff_max=2)
        agent.start()
        n = 3000
        pub = helpers.publish(self.rabbit.url, 0, n, wait=False,
                              extra=('--rate', '100'))
        helpers.wait_for(lambda: self.count() >= 100, 60,
                         what='first events')
        proxy.close()
        time.sleep(2)
        stored_at_outage = self.count()
        time.sleep(18)
        # nothing reached the database while it was away ...
        self.assertEqual(stored_at_outage, self.count())
        self.assertLess(stored_at_outage, n)
        self.assertIn('requeueing it to the broker', agent.log())
        # ... and nothing was acked: it all waited in the broker.
        proxy.reopen()
        helpers.finish(pub, timeout=120)
        self.wait_count(n, timeout=120)
        self.assert_exactly(range(n))
        self.assertEqual(0, agent.terminate())


class CoexistenceMixin:
    """Vitrage's real ``vitrage-persistor`` beside our agent, one vhost."""

    def test_coexists_with_vitrage_persistor(self):
        vdb = os.path.join(self.state_dir, 'vitrage.sqlite')
        vconf = os.path.join(self.state_dir, 'vitrage.conf')
        with open(vconf, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = %s\n'
                    '[database]\nconnection = sqlite:///%s\n'
                    '[persistency]\npersistor_topic = vitrage_persistor\n'
                    % (self.rabbit.url, vdb))
        env = dict(os.environ, PYTHONWARNINGS='ignore')
        subprocess.run([os.path.join(helpers.BIN_DIR, 'vitrage-dbsync'),
                        '--config-file', vconf], check=True, env=env,
                       capture_output=True, timeout=120)
        vlog = open(os.path.join(self.state_dir, 'vitrage.log'), 'w')
        vproc = subprocess.Popen(
            [os.path.join(helpers.BIN_DIR, 'vitrage-persistor'),
             '--config-file', vconf], stdout=vlog, stderr=subprocess.STDOUT,
            start_new_session=True, env=env)
        vlog.close()

        def _stop():
            if vproc.poll() is None:
                os.killpg(vproc.pid, signal.SIGKILL)
                vproc.wait(30)
        self.addCleanup(_stop)
        agent = self.agent().start()
        helpers.wait_for(lambda: 'vitrage_persistor.info' in
                         self.rabbit.queues(), 60,
                         what="Vitrage's persistor listening")

        def alarms():
            with sqlite3.connect(vdb) as db:
                return db.execute('select count(*) from alarms').fetchone()[0]

        ours, theirs = 300, 50
        # vitrage-graph's PersistNotifier: exchange "vitrage", priority info,
        # Vitrage's default non-durable queues.
        pubs = [helpers.publish(self.rabbit.url, 0, ours, wait=False),
                helpers.publish(self.rabbit.url, 0, theirs,
                                mode='vitrage-info', wait=False,
                                extra=('--non-durable', '--exchange',
                                       'vitrage'))]
        for p in pubs:
            helpers.finish(p)
        self.wait_count(ours)
        helpers.wait_for(lambda: alarms() >= theirs, 60,
                         what='alarms in Vitrage\'s table')
        time.sleep(1)
        self.assertEqual(theirs, alarms())
        self.assertEqual(ours, self.count())
        self.assertEqual({}, self.store.quarantine_summary())
        queues = self.rabbit.queues()
        # the agent's dead-letter queue is there, and empty
        self.assertEqual({'vitrage_persistor.info': 0,
                          'vitrage_persistor.sample': 0,
                          'vitrage_persistor.dead': 0},
                         {q: m for q, m in queues.items()
                          if q.startswith('vitrage_persistor')})
        self.assertEqual({}, {q: m for q, m in queues.items() if m})
        self.assertEqual(0, agent.terminate())


class BrokerRestartMixin:
    def test_broker_restart_keeps_durable_messages(self):
        node = helpers.PrivateRabbit()
        self.addCleanup(node.remove)
        node.start()
        self.addCleanup(node.stop)
        n = 1000
        # Nobody consumes yet: the messages wait in the durable queue.
        helpers.publish(node.url, 0, n)
        self.assertEqual((n, True), node.queues()['vitrage_persistor.sample'])
        node.stop()
        node.start()
        self.assertEqual((n, True), node.queues()['vitrage_persistor.sample'])
        agent = self.agent(url=node.url).start()
        self.wait_count(n)
        # And an agent that lives through a broker restart reconnects.
        node.stop()
        node.start()
        helpers.publish(node.url, n, 500)
        self.wait_count(n + 500, timeout=120)
        self.assert_exactly(range(n + 500))
        # every delivery acked within seconds, none left unacked on the new
        # connection (oslo.messaging's duplicate cache used to skip them)
        helpers.wait_for(lambda: node.queues().get(
            'vitrage_persistor.sample', (1, True))[0] == 0, 30,
            what='queue empty after the broker restart')
        self.assertEqual(0, agent.terminate())


class TestAgentSQLite(CoexistenceMixin, DurabilityMixin, BrokerDownMixin,
                      AgentTestBase):
    FIXTURE = test_fixtures.OpportunisticDbFixture


class TestAgentPostgreSQL(DatabaseOutageMixin, BrokerRestartMixin,
                          AgentTestBase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    EXACTLY_ONCE_N = 20000
    DEFAULT_PORT = 5432


class TestAgentMariaDB(DatabaseOutageMixin, AgentTestBase):
    FIXTURE = test_fixtures.MySQLOpportunisticFixture
    DEFAULT_PORT = 3306


del AgentTestBase
