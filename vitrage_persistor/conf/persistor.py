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

"""``[persistor]``: the listener service and its write path."""

from oslo_config import cfg

GROUP = 'persistor'

OPTS = [
    cfg.StrOpt(
        'topic',
        default='vitrage_persistor',
        help='oslo.messaging notification topic the hooks publish to and '
             'the agent consumes. The hooks publish at priority "sample", '
             'so the broker queue is "<topic>.sample"; Vitrage\'s own '
             'alarm-history persistor uses "<topic>.info" on the same '
             'topic name and the two never compete for messages.'),
    cfg.IntOpt(
        'batch_size',
        default=500,
        min=1,
        help='Largest number of notifications written in one database '
             'transaction. Bigger batches raise '
             'throughput and memory use and hold more unacknowledged '
             'messages in flight (see prefetch_batches). On a 2-core '
             'host with PostgreSQL, 500 leaves the database under a '
             'tenth of the agent\'s CPU per event; larger batches gain '
             'little, smaller ones pay a commit and a round trip more '
             'often. See also batch_timeout.'),
    cfg.FloatOpt(
        'batch_timeout',
        default=1.0,
        min=0.01,
        help='Seconds to wait for a batch to fill before writing what has '
             'arrived (the seed\'s bulk_delay). It bounds the latency '
             'between publish and commit when traffic is low.'),
    cfg.IntOpt(
        'prefetch_batches',
        default=2,
        min=0,
        help='How many batches of unacknowledged messages RabbitMQ may '
             'push to one agent process ahead of their commit: the agent '
             'sets [oslo_messaging_rabbit] rabbit_qos_prefetch_count to '
             'prefetch_batches * batch_size, unless that option is set '
             'explicitly. 2 lets the next batch arrive while one commits. '
             'A bounded prefetch shares a backlog fairly among workers and '
             'agents (unlimited, the first consumer to connect takes most '
             'of a full queue while the others idle) and bounds the memory '
             'a backlog takes in the agent; more gains little once the '
             'listener keeps up, and every prefetched message is '
             'redelivered (and deduplicated) if the agent dies. 0 leaves '
             'rabbit_qos_prefetch_count alone (oslo.messaging\'s default '
             '0 is unlimited).'),
    cfg.StrOpt(
        'pool',
        default='',
        help='Listener pool name. Empty (the default) consumes the queue '
             '"<topic>.sample" that the hooks\' notifier declares itself: '
             'every agent, on any host, shares that one queue and each '
             'message goes to only one of them. A non-empty name makes '
             'the agents of that pool consume their own queue, named after '
             'the pool, which gets its own copy of every message; use it '
             'only for a second, independent consumer group, because the '
             'notifier keeps filling "<topic>.sample" as well and an '
             'unconsumed queue grows without bound.'),
    cfg.IntOpt(
        'workers',
        default=1,
        min=1,
        help='Number of agent processes started by one '
             'vitrage-persistor-agent. Each has its own listener in the '
             'same pool. The broker and database usually saturate first, '
             'so more than the number of cores rarely helps.'),
    cfg.IntOpt(
        'max_payload_bytes',
        default=4 * 1024 * 1024,
        min=1024,
        help='Largest JSON-encoded payload stored in the event table. '
             'Bigger ones are quarantined with reason "oversized" instead of '
             'being stored, so one runaway driver cannot bloat the table.'),
    cfg.FloatOpt(
        'requeue_backoff_max',
        default=30.0,
        min=0.1,
        help='Longest pause, in seconds, between database retries while '
             'the database is unreachable. The batch is requeued to the '
             'broker each time, so nothing waits only in memory.'),
    cfg.FloatOpt(
        'requeue_backoff_initial',
        default=0.5,
        min=0.01,
        help='First pause, in seconds, after a failed database write; it '
             'doubles on each further failure up to requeue_backoff_max.'),
    cfg.IntOpt(
        'stats_interval',
        default=60,
        min=0,
        help='Seconds between the INFO lines that report events stored, '
             'duplicates, quarantined messages, batches and the lag '
             'between collector_timestamp and commit. 0 disables them.'),
    cfg.StrOpt(
        'dead_letter_exchange',
        default='vitrage_persistor.dead',
        help='RabbitMQ exchange, and queue of the same name, that collect '
             'what the broker dead-letters from the agent\'s queue: '
             'messages oslo.messaging cannot decode (not JSON, not UTF-8, '
             'a refused content type) and rejects. Every agent worker '
             'declares both and moves each dead letter into the '
             'quarantine table with its raw body and reason. It takes '
             'effect only with a broker policy that names this exchange as '
             'the queue\'s dead-letter-exchange (see the docs, "Poison '
             'messages"); without one RabbitMQ drops such messages. Empty '
             'disables the drain. Ignored for non-RabbitMQ transports.'),
    cfg.IntOpt(
        'event_ttl',
        default=0,
        min=0,
        help='Seconds to keep events. 0 keeps them forever. Expiry only '
             'deletes events that a kept graph snapshot covers, so every '
             'time inside the window can still be replayed.'),
    cfg.StrOpt(
        'snapshot_interval',
        default='500',
        help='How often the warm standby (vitrage-persistor-replay follow) '
             'writes a graph snapshot: a number of events ("500") or of '
             'seconds with an "s" suffix ("300s"). A replay at any time T '
             'loads the newest snapshot before T and applies at most this '
             'many events, so its latency is about the snapshot load (0.1-'
             '0.3 s for a few thousand vertices) plus snapshot_interval '
             "divided by Vitrage's processor rate on your graph (400-1,600 "
             'events/s measured on a 2-core machine; lower on larger '
             'graphs). 500 keeps every replay under about 2 s down to 400 '
             'events/s. The cost is one snapshot (a full one is 20-150 '
             'bytes per vertex compressed, depending on the properties) per '
             'interval kept inside the retention window, and the CPU the '
             'standby spends writing it; '
             'raise the interval for very large graphs or slow standbys, '
             'lower it if your processor is slower. Most snapshots are '
             'incremental (see snapshot_delta_ratio), so a short interval '
             'costs what changed, not the size of the graph.'),
    cfg.FloatOpt(
        'snapshot_cpu_budget',
        default=0.03,
        min=0.0,
        help='The warm standby also writes a snapshot once the events it '
             "applied since the last one took this many seconds of Vitrage's "
             'processor (CPU time), if snapshot_interval did not come '
             'first. A replay at any time applies the events after its '
             'snapshot, which cost it about what they cost the standby, so '
             'this bounds that part of every graph_at whatever the graph '
             'size: at 30,000 vertices an instance event costs the '
             'processor about 0.1 ms and a zone event 0.17 s. Snapshots '
             'are incremental, so a small budget costs little storage. 0 '
             'turns it off.'),
    cfg.FloatOpt(
        'snapshot_delta_ratio',
        default=0.15,
        min=0.0,
        help='Incremental snapshots: a snapshot holds only the vertices '
             'and edges changed since the previous one, as long as the '
             'deltas since the last full snapshot add up to at most this '
             'fraction of its (compressed) size; then a full snapshot is '
             'written again. A replay reads one full snapshot plus its '
             'deltas, so at most (1 + ratio) times a full snapshot, while '
             'the standby writes about (1 + 1/ratio) times what changed. '
             'The default keeps graph_at under 0.3 s at 30,000 vertices on '
             'a 2-core machine, for about 300 kB stored per 1,000 events '
             'there; 1.0 stores about a third of that, and reads up to '
             'twice a full snapshot per replay. 0 writes every snapshot in '
             'full, as releases before incremental snapshots did.'),
    cfg.IntOpt(
        'snapshot_max_deltas',
        default=100,
        min=1,
        help='The most incremental snapshots after one full snapshot. '
             'A replay reads the whole chain in one query; this bounds the '
             'rows it decodes when little changes between snapshots.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
