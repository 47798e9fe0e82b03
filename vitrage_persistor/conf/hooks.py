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

"""``[persistor_hooks]``: the publisher that runs inside vitrage-graph.

These options are read by ``vitrage-persistor-graph`` from the same config
files as vitrage-graph (``/etc/vitrage/vitrage.conf``), together with
``[persistor] topic`` and ``[DEFAULT] transport_url``.
"""

from oslo_config import cfg

GROUP = 'persistor_hooks'

HOOK_POINTS = ('driver', 'collector')

OPTS = [
    cfg.BoolOpt(
        'enabled',
        default=True,
        help='Publish enriched events to [persistor] topic. When false '
             'vitrage-persistor-graph installs no hook at all and runs '
             'vitrage-graph exactly as the stock command does.'),
    cfg.ListOpt(
        'hooks',
        default=['collector'],
        item_type=cfg.types.String(choices=HOOK_POINTS),
        help='Hook points to publish from. "collector" publishes every '
             'event that reaches Vitrage\'s processor from the collector '
             'path (driver get_all/get_changes, pushed notifications, '
             'outdated-entity deletes) and from the consistency enforcer '
             '(delete_entity, remove_deleted_entity), in the exact order '
             'the processor applies them: this is what replay needs. '
             '"driver" publishes what the datasource drivers enrich '
             '(DriverBase.make_pickleable*), at enrichment time; it misses '
             'the deletes that Vitrage makes itself. With both, an event '
             'that the driver hook already published is not published '
             'again by the collector hook (same dict object), so each '
             'event is stored once.'),
    cfg.IntOpt(
        'queue_size',
        default=100000,
        min=1,
        help='Largest number of events waiting in memory for the sender '
             'threads. Vitrage never waits for the broker; when the queue '
             'is full the overflow_policy decides what is given up. Each '
             'queued event costs its JSON size (about 1 KiB for a nova '
             'instance), so the default bounds the buffer near 100 MiB. '
             'The senders hold some more, taken off the queue and not yet '
             'confirmed: at most 2000 (or queue_size) with sender = '
             'process, sender_threads * events_per_message with sender = '
             'thread.'),
    cfg.StrOpt(
        'overflow_policy',
        default='drop_oldest',
        choices=[('drop_oldest', 'discard the oldest queued event'),
                 ('drop_newest', 'discard the event being published')],
        help='What to give up when the queue is full. drop_oldest keeps '
             'the most recent state of the cloud (the next snapshot '
             'poll repairs the older gap on replay); drop_newest keeps a '
             'gap-free prefix. Drops are counted and logged at most once '
             'per log_interval.'),
    cfg.StrOpt(
        'sender',
        default='process',
        choices=[('process', 'a sender process of its own, fed through a '
                             'pipe'),
                 ('thread', 'sender threads inside vitrage-graph')],
        help='Where queued events are turned into AMQP messages and sent. '
             'kombu and oslo.messaging spend more CPU per message than '
             'Vitrage\'s processor spends per event. "process" (default) '
             'runs them in a child process (python -m '
             'vitrage_persistor.publish.child, one per hook and per '
             'vitrage-graph '
             'worker), fed in batches of marshal-encoded events, so '
             'vitrage-graph only encodes, queues and writes to a pipe. '
             '"thread" sends from threads of vitrage-graph, which '
             'then does that CPU work itself, under its GIL (figures in '
             'doc/source/hooks.rst). A publisher given an '
             'in-process transport (fake://) always uses threads.'),
    cfg.IntOpt(
        'sender_nice',
        default=10,
        min=0,
        max=19,
        help='Niceness added to the sender process (sender = process). '
             'When the host\'s cores are busy the kernel then runs '
             'vitrage-graph first, and the sender uses the idle time; '
             'events wait in the queue meanwhile (queue_size and '
             'overflow_policy bound them). 0 gives the sender the same '
             'priority as vitrage-graph.'),
    cfg.IntOpt(
        'sender_threads',
        default=2,
        min=1,
        help='Threads that publish queued events, in the sender process '
             '(sender = process) or in vitrage-graph (sender = thread). '
             'One durable RabbitMQ publisher confirms roughly 900 '
             'messages/s here, so more threads send faster; with sender '
             '= thread they also take more GIL time away from Vitrage\'s '
             'processor.'),
    cfg.IntOpt(
        'events_per_message',
        default=100,
        min=1,
        max=10000,
        help='Most events a sender puts in one notification (a "bundle", '
             'see vitrage_persistor.wire). A sender bundles what is '
             'queued when it is free, so a quiet vitrage-graph still sends '
             'each event at once, and a busy one pays RabbitMQ\'s '
             'per-message cost (confirm, routing, the agent\'s listener) '
             'once per bundle: per event, the sender process and the '
             'broker then use a fraction of the CPU that one message per '
             'event costs, CPU that vitrage-graph\'s host would otherwise '
             'lose (figures in doc/source/hooks.rst). 1 sends one '
             'notification per event. The agent stores each event of a '
             'bundle as its own row, deduplicated by its own message id.'),
    cfg.IntOpt(
        'max_message_bytes',
        default=128 * 1024,
        min=1024,
        help='Largest total size of the events in one bundle (their '
             'encoded size, close to their JSON size). An event bigger '
             'than this is sent alone. It also bounds the agent\'s memory: '
             'the agent prefetches a number of messages ([persistor] '
             'prefetch_batches * batch_size, 1000 by default), so a '
             'backlog of full bundles puts up to that many times this '
             'size of events in its memory (about four times that in '
             'RSS). The default fits 100 events of about 1 KiB, and stays '
             'under the 1 MB default message limit of Kafka.'),
    cfg.FloatOpt(
        'flush_timeout',
        default=10.0,
        min=0,
        help='Seconds a clean shutdown of vitrage-graph waits for the '
             'queue to drain. Events still queued after that (for '
             'instance with the broker down) are counted as abandoned '
             'and logged, and the process exits anyway.'),
    cfg.FloatOpt(
        'retry_interval_max',
        default=10.0,
        min=0.1,
        help='Longest pause, in seconds, between two attempts to send the '
             'same event while the broker is unreachable (the pause '
             'doubles from 0.5 s). The event is kept, not lost; the queue '
             'meanwhile fills and overflow_policy applies.'),
    cfg.IntOpt(
        'log_interval',
        default=60,
        min=0,
        help='Seconds between two warnings about dropped or '
             'unserialisable events; the ones in between are counted '
             'and the count is reported with the next warning.'),
    cfg.StrOpt(
        'transport_url',
        secret=True,
        help='Broker for the persistor topic, if it is not the one in '
             '[oslo_messaging_notifications] transport_url or [DEFAULT] '
             'transport_url of vitrage.conf.'),
    cfg.StrOpt(
        'exchange',
        default='openstack',
        help='oslo.messaging control exchange to publish on. It must be '
             'the agent\'s [DEFAULT] control_exchange (default '
             '"openstack"). It is set for the persistor publisher only: '
             'Vitrage switches its own default to "vitrage", a transient '
             'exchange that a durable publisher may not redeclare.'),
    cfg.BoolOpt(
        'restore',
        default=False,
        help='Start vitrage-graph (the main process and every worker) from '
             'the graph the persistor holds, the newest usable snapshot '
             'plus the events after it, instead of Vitrage\'s own pickle '
             'or a full re-poll; then Vitrage\'s normal finale (get_all) '
             'reconciles with the cloud. Needs restore_config_file. If the '
             'store is empty or unreachable, vitrage-graph starts as it '
             'would without this option and says why in one log line.'),
    cfg.StrOpt(
        'restore_config_file',
        help='The vitrage-persistor configuration file ([database], '
             '[replay]) of the store to restore from, e.g. '
             '/etc/vitrage-persistor/vitrage-persistor.conf. Its [replay] '
             'datasources_values_dir and datasource_types are taken from '
             'vitrage.conf, so that the restored graph is the one this '
             'vitrage-graph would build.'),
    cfg.BoolOpt(
        'vitrage_persistence',
        default=True,
        help='Keep Vitrage\'s own graph persistence (GraphPersistency: '
             'an after-image row per graph change, flushed after each '
             'event, and a pickle of the whole graph). Set to false when '
             'the persistor is the source of truth (with restore = true): '
             'vitrage-graph then pays no database commit per event, and '
             'no pickle is ever written or read; its workers get the graph '
             'from the main process instead.'),
    cfg.BoolOpt(
        'amqp_durable_queues',
        default=True,
        help='Declare the RabbitMQ queue of the persistor topic durable. '
             'It must match the agent\'s [oslo_messaging_rabbit] '
             'amqp_durable_queues (default True there too), or RabbitMQ '
             'refuses the second declaration with PRECONDITION_FAILED. '
             'It applies to the persistor publisher only, not to '
             'Vitrage\'s own queues.'),
    cfg.BoolOpt(
        'rabbit_quorum_queue',
        default=False,
        help='Declare the RabbitMQ queue of the persistor topic as a quorum '
             'queue (oslo.messaging\'s [oslo_messaging_rabbit] '
             'rabbit_quorum_queue, set for the persistor publisher only, '
             'not for Vitrage\'s own queues). It must match the agent\'s '
             '[oslo_messaging_rabbit] rabbit_quorum_queue, or RabbitMQ '
             'refuses the second declaration with PRECONDITION_FAILED '
             '(inequivalent arg \'x-queue-type\'). A quorum queue is '
             'replicated on the RabbitMQ cluster\'s nodes: see '
             'doc/source/rabbitmq-cluster.rst.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
