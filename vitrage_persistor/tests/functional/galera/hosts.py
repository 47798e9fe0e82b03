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

"""Agent hosts on both clusters: RabbitMQ with quorum queues, and Galera.

Shared by ``test_hosts_clusters`` and ``tools/bench/hosts_clusters.py``.
Each agent host is a :class:`~vitrage_persistor.tests.functional.netns.
Host` (its own network namespace and link) and reaches:

* the three RabbitMQ nodes of ``tools/rabbitmq-cluster.sh`` through three
  forwarders of its own, its transport URL listing the three (what
  oslo.messaging fails over between);
* its own Galera node (host ``i`` writes through node ``i``) through one
  forwarder of its own that, when that node refuses, connects to the
  others in turn: the local haproxy with one active server and two
  ``backup`` ones that ``doc/source/galera.rst`` asks operators for.

The RabbitMQ cluster here has its own node names and ports
(:data:`RABBIT_NAME`, :data:`RABBIT_PORT`), so that it runs beside the
one ``test_rabbit_cluster`` starts on another test worker.
"""

import collections
import threading
import time

from vitrage_persistor.tests.functional import rabbit_cluster
from vitrage_persistor.tests.functional.galera import cluster as galera
from vitrage_persistor.tests.functional.persistor import helpers

# AMQP on 25774-25776, Erlang distribution 25784-25786, rabbitmqctl
# 25790-25799: clear of test_rabbit_cluster's 25674-25699 and below
# Linux's ephemeral ports
RABBIT_NAME = 'rabbit-vph'
RABBIT_PORT = 25774

# quorum queues on both sides; the broker gives up on a silent host after
# about two heartbeat intervals (the default threshold is 60 s)
SECTIONS = {'oslo_messaging_rabbit': {'rabbit_quorum_queue': 'true',
                                      'heartbeat_timeout_threshold': 6}}


def start_clusters() -> tuple[galera.GaleraCluster,
                              rabbit_cluster.RabbitCluster]:
    """Start both clusters at once (each takes tens of seconds)."""
    rabbit = rabbit_cluster.RabbitCluster(RABBIT_NAME, RABBIT_PORT)
    failed = []

    def start_rabbit():
        try:
            rabbit.start()
        except Exception as exc:
            failed.append(exc)

    thread = threading.Thread(target=start_rabbit)
    thread.start()
    db = galera.GaleraCluster()
    try:
        db.start()
    except Exception:
        thread.join()
        rabbit.stop()
        raise
    finally:
        thread.join()
    if failed:
        db.stop()
        raise failed[0]
    return db, rabbit


def stop_clusters(db, rabbit) -> None:
    try:
        rabbit.stop()
    finally:
        db.stop()


def galera_node_url(db, database: str, node: int
                    ) -> tuple[str, tuple[tuple[str, int], ...]]:
    """Node ``node``'s URL, and the other nodes as its fallbacks."""
    others = [(node + k - 1) % 3 + 1 for k in (1, 2)]
    return db.url(node, database), tuple(
        ('127.0.0.1', db.port(n)) for n in others)


def attach(host, rabbit, vhost: str, db, database: str, node: int):
    """Forwarders on ``host``'s link; its (transport URL, DB URL, DB proxy).

    The database forwarder goes to Galera node ``node`` first.
    """
    transport_url, _ = host.rabbit_url(rabbit.url(vhost))
    url, fallbacks = galera_node_url(db, database, node)
    db_url, db_proxy = host.proxy(url, galera.SQL_BASE + node,
                                  fallbacks=fallbacks)
    return transport_url, db_url, db_proxy


def tally(store, n: int) -> dict:
    """Rows, distinct message ids, lost and duplicated test indices."""
    by_index = collections.Counter()
    ids = set()
    rows = 0
    for event in store.iter_events_by_id(page_size=5000):
        rows += 1
        by_index[event.payload['vp_test_index']] += 1
        ids.add(event.message_id)
    return {'rows': rows, 'message_ids': len(ids),
            'lost': len(set(range(n)) - set(by_index)),
            'duplicated': sum(c - 1 for c in by_index.values() if c > 1),
            'extra': len(set(by_index) - set(range(n)))}


def failover_window(agent, proxy, since: float, timeout: float) -> float:
    """Seconds from the kill until ``agent`` stored through a fallback.

    ``since`` is the kill's ``time.monotonic()``, ``proxy`` the agent's
    database forwarder. Waits for the forwarder's first connection to a
    fallback node, then for the agent's total to grow past what it was at
    that moment. The agent logs its total every ``stats_interval`` (1 s
    in these runs), so the figure is right to within a second.
    """
    helpers.wait_for(lambda: proxy.failovers > 0, timeout, interval=0.05,
                     what='a connection to a fallback node')
    before = agent.stored_total()
    helpers.wait_for(lambda: agent.stored_total() > before, timeout,
                     interval=0.1, what='the agent storing again')
    return time.monotonic() - since
