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

"""Agents on separate hosts: one cut off mid-stream, the database away.

Each agent runs in its own network namespace (:mod:`..netns`), with its
own address, and reaches the real RabbitMQ and PostgreSQL only through
its own link. The events are published on the controller (this
machine's network stack) by a separate process. After each fault every
event must be stored exactly once, counted by the test index each event
carries and by the rows, and the queue must be empty.

``tools/bench/agent_hosts.py`` runs the same faults with 20,000 events.
"""

import time

from oslo_db.sqlalchemy import test_fixtures

from vitrage_persistor.tests import base
from vitrage_persistor.tests.functional import fixtures as vp_fixtures
from vitrage_persistor.tests.functional import netns
from vitrage_persistor.tests.functional.persistor import helpers

# The broker notices a host that went silent after about two heartbeat
# intervals; then it requeues what that host's agent had unacked.
HEARTBEAT = {'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 6}}


class AgentHostsTestBase(vp_fixtures.OpportunisticDB, base.TestCase):

    HOSTS = 2

    def setUp(self):
        super().setUp()
        why = netns.unavailable()
        if why:
            # not a skip: CI runs as root, where this must work
            self.fail('agent hosts need network namespaces: %s' % why)
        self.rabbit = self.useFixture(vp_fixtures.RabbitVhost())
        self.hosts, self.agents, self.db_proxies = [], [], []
        for i in range(1, self.HOSTS + 1):
            host = self.useFixture(netns.Host(i))
            url, _ = host.rabbit_url(self.rabbit.url)
            db_url, db_proxy = host.proxy(self.db_url, self.DEFAULT_PORT)
            agent = helpers.make_agent(
                self, url, db_url, 'host%d' % i, wrapper=host.wrapper,
                sections=HEARTBEAT, batch_size=200, requeue_backoff_max=2)
            self.hosts.append(host)
            self.agents.append(agent)
            self.db_proxies.append(db_proxy)

    def count(self):
        return self.store.event_counts()['count']

    def assert_each_once(self, n):
        """Every index 0..n-1 stored once, nothing else, queue empty."""
        helpers.wait_for(lambda: self.count() >= n, 240,
                         what='%d events stored' % n)
        time.sleep(1)
        indices = [e.payload['vp_test_index']
                   for e in self.store.iter_events_by_id(page_size=5000)]
        ids = {e.message_id
               for e in self.store.iter_events_by_id(page_size=5000)}
        self.assertEqual(len(indices), len(ids), 'a message id twice')
        self.assertEqual(n, len(indices), 'rows')
        self.assertEqual(set(range(n)), set(indices), 'lost or extra')
        helpers.wait_for(
            lambda: not any(self.rabbit.queues().values()), 60,
            what='the queues to drain')

    def shares(self):
        return [a.stored_total() for a in self.agents]


class HostCutOffMixin:
    def test_host_cut_off_mid_stream_then_back(self):
        first, then = 3000, 1000
        for agent in self.agents:
            agent.start()
        host, agent = self.hosts[0], self.agents[0]
        pub = helpers.publish(self.rabbit.url, 0, first, wait=False,
                              extra=('--rate', '400'))
        helpers.wait_for(lambda: agent.stored_total() >= 200, 60,
                         what='host 1 storing')
        host.cut()
        at_cut = self.count()
        reconnects = agent.log().count('Reconnected to AMQP server')
        # long enough for the broker to give up on host 1's connection
        # and hand what its agent had unacked to host 2
        time.sleep(20)
        self.assertGreater(self.count(), at_cut, 'host 2 stopped too')
        host.restore()
        helpers.finish(pub, timeout=240)
        self.assert_each_once(first)
        # host 1 comes back on its own and takes its share again
        helpers.wait_for(
            lambda: agent.log().count('Reconnected to AMQP server') >
            reconnects, 90, what='host 1 reconnected')
        before = agent.stored_total()
        helpers.publish(self.rabbit.url, first, then,
                        extra=('--rate', '400'))
        self.assert_each_once(first + then)
        helpers.wait_for(lambda: agent.stored_total() > before, 30,
                         what='host 1 storing again')
        for each in self.agents:
            self.assertEqual(0, each.terminate(timeout=90))


class DatabaseAwayMixin:
    def test_database_unreachable_30s_every_agent_running(self):
        n = 4000
        for agent in self.agents:
            agent.start()
        pub = helpers.publish(self.rabbit.url, 0, n, wait=False,
                              extra=('--rate', '100'))
        helpers.wait_for(lambda: self.count() >= 200, 60,
                         what='first events')
        for proxy in self.db_proxies:
            proxy.close()
        time.sleep(2)
        at_outage = self.count()
        time.sleep(28)
        # nothing was stored while the database was away, and nothing
        # was acked: it waited in the broker
        self.assertEqual(at_outage, self.count())
        for agent in self.agents:
            self.assertIn('requeueing it to the broker', agent.log())
        for proxy in self.db_proxies:
            proxy.reopen()
        helpers.finish(pub, timeout=240)
        self.assert_each_once(n)
        shares = self.shares()
        self.assertTrue(all(shares), 'a host stored nothing: %s' % shares)
        for agent in self.agents:
            self.assertEqual(0, agent.terminate(timeout=90))


class TestAgentHostsPostgreSQL(HostCutOffMixin, DatabaseAwayMixin,
                               AgentHostsTestBase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    DEFAULT_PORT = 5432


del AgentHostsTestBase
