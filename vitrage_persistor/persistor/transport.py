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

"""The agent's messaging transport: durable queues, checked before start.

Events wait in the broker while the database is down (the endpoint
requeues), so the queue holds the only copy of them. A non-durable queue
is lost with its messages when RabbitMQ restarts; the agent therefore
defaults ``[oslo_messaging_rabbit] amqp_durable_queues`` to ``True``.

The queue is declared by whoever comes first: the hooks' notifier declares
``<topic>.sample`` on its first publish, the agent when it starts. RabbitMQ
refuses a second declaration with other properties
(``PRECONDITION_FAILED - inequivalent arg 'durable'``). oslo.messaging
then quietly falls back to a non-durable queue, which would make the agent
run without the durability it promises. :func:`check_queue` makes that
mismatch a clear error before any worker starts.
"""

import oslo_messaging
from oslo_config import cfg
from oslo_log import log

from vitrage_persistor import wire
from vitrage_persistor.conf import messaging as messaging_conf

LOG = log.getLogger(__name__)

RABBIT_GROUP = 'oslo_messaging_rabbit'


class QueueMismatch(RuntimeError):
    """The broker already has the queue with other durability."""


FAILOVER_OPT = 'kombu_failover_strategy'


def set_defaults(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options; durable queues, random failover.

    Call before the config files are parsed, so a file can still say
    ``amqp_durable_queues = false`` or ``kombu_failover_strategy =
    round-robin``.

    ``shuffle``: with oslo.messaging's default ``round-robin`` and three
    hosts in the URL, a consumer whose node dies or hangs can retry that
    node forever (until it is back) and never the two others. In
    oslo.messaging 18.3.1 each retry of a lost consumer moves kombu's
    round-robin cursor three times (``Connection.consume``'s own
    ``maybe_switch_next``, kombu's ``Connection.ensure``, and the failed
    connect in ``_ensure_connection``, whose error callback raises the
    poll's timeout before the next host is tried), so it comes back to
    the same host every time. A random choice breaks that cycle:
    doc/source/rabbitmq-cluster.rst, "The stuck consumer".
    """
    messaging_conf.register_opts(conf)
    conf.set_default('amqp_durable_queues', True, group=RABBIT_GROUP)
    conf.set_default(FAILOVER_OPT, 'shuffle', group=RABBIT_GROUP)


PREFETCH_OPT = 'rabbit_qos_prefetch_count'
# AMQP 0-9-1 carries basic.qos prefetch-count in 16 bits.
MAX_PREFETCH = 65535


def apply_prefetch(conf: cfg.ConfigOpts) -> int:
    """Bound what RabbitMQ pushes to this process before the acks.

    oslo.messaging's default prefetch is unlimited: a pre-filled queue
    then streams into the first worker that connects, whatever the number
    of workers, and a backlog waits in the agent's memory instead of the
    broker. Unless the operator set ``rabbit_qos_prefetch_count``, use
    ``[persistor] prefetch_batches * batch_size``, at most the 65535 that
    AMQP can carry.

    :returns: the prefetch count in effect (0 is unlimited).
    """
    persistor = conf.persistor
    location = conf.get_location(PREFETCH_OPT, RABBIT_GROUP).location
    if persistor.prefetch_batches and location in (
            cfg.Locations.opt_default, cfg.Locations.set_default):
        wanted = persistor.prefetch_batches * persistor.batch_size
        conf.set_override(PREFETCH_OPT, min(MAX_PREFETCH, wanted),
                          group=RABBIT_GROUP)
    prefetch = conf[RABBIT_GROUP][PREFETCH_OPT]
    if 0 < prefetch < persistor.batch_size:
        LOG.warning('[%s] %s = %d is below [persistor] batch_size = %d: '
                    'batches can never fill, every one waits '
                    'batch_timeout', RABBIT_GROUP, PREFETCH_OPT, prefetch,
                    persistor.batch_size)
    return prefetch


def get_transport(conf: cfg.ConfigOpts):
    return oslo_messaging.get_notification_transport(conf)


def queue_name(conf: cfg.ConfigOpts) -> str:
    """The broker queue the agent consumes.

    Without a pool, oslo.messaging names it ``<topic>.<priority>``, the
    queue the notifier declares itself; with a pool, the queue is named
    after the pool.
    """
    return conf.persistor.pool or '%s.%s' % (conf.persistor.topic,
                                             wire.PRIORITY)


def hosts_kwargs(conf: cfg.ConfigOpts) -> list[dict]:
    """kombu.Connection arguments for each RabbitMQ host ([] if not)."""
    url = oslo_messaging.TransportURL.parse(
        conf, conf.oslo_messaging_notifications.transport_url)
    if url.transport not in ('rabbit', 'amqp', 'kombu'):
        return []
    return [dict(hostname=host.hostname or 'localhost',
                 port=host.port or 5672, userid=host.username or 'guest',
                 password=host.password or 'guest',
                 virtual_host=url.virtual_host or '/',
                 ssl=bool(conf[RABBIT_GROUP].ssl), connect_timeout=10)
            for host in url.hosts]


def connection_kwargs(conf: cfg.ConfigOpts) -> dict | None:
    """kombu.Connection arguments for the first RabbitMQ host, or None."""
    hosts = hosts_kwargs(conf)
    return hosts[0] if hosts else None


def mismatch_message(conf, name: str, broker_error: str) -> str:
    rabbit = conf[RABBIT_GROUP]
    wanted = 'durable' if rabbit.amqp_durable_queues else 'non-durable'
    other = 'non-durable' if rabbit.amqp_durable_queues else 'durable'
    return (
        'RabbitMQ already has the queue %(q)r as %(other)s, but this agent '
        'is configured for %(wanted)s queues ([%(g)s] amqp_durable_queues '
        '= %(flag)s), so the broker refuses to declare it: %(err)s. '
        'The notifier that publishes to topic %(topic)r (the vitrage-graph '
        'hooks) and this agent must use the same amqp_durable_queues. '
        'Set it to true on both (recommended: only durable queues survive '
        'a broker restart), then delete the old queue, e.g. '
        '"rabbitmqctl delete_queue -p <vhost> %(q)s" (this drops the '
        'messages in it), and start the agent again.' % {
            'q': name, 'other': other, 'wanted': wanted, 'g': RABBIT_GROUP,
            'flag': str(rabbit.amqp_durable_queues).lower(),
            'err': broker_error, 'topic': conf.persistor.topic})


def queue_arguments(conf: cfg.ConfigOpts) -> dict | None:
    """The queue arguments oslo.messaging declares the agent's queue with.

    The same rule as oslo.messaging's RabbitMQ driver, from its public
    options: ``x-queue-type: quorum`` with ``rabbit_quorum_queue`` plus the
    quorum tuning options that are set; ``x-ha-policy: all`` with
    ``rabbit_ha_queues``. A unit test compares it with the driver.
    """
    rabbit = conf[RABBIT_GROUP]
    args = {}
    if rabbit.rabbit_ha_queues:
        args['x-ha-policy'] = 'all'
    if rabbit.rabbit_quorum_queue:
        args['x-queue-type'] = 'quorum'
        for opt, arg in (('rabbit_quorum_delivery_limit',
                          'x-delivery-limit'),
                         ('rabbit_quorum_max_memory_length',
                          'x-max-in-memory-length'),
                         ('rabbit_quorum_max_memory_bytes',
                          'x-max-in-memory-bytes')):
            if rabbit[opt]:
                args[arg] = rabbit[opt]
    return args or None


def quorum_mismatch_message(conf, name: str, broker_error: str) -> str:
    rabbit = conf[RABBIT_GROUP]
    wanted = 'quorum' if rabbit.rabbit_quorum_queue else 'classic'
    return (
        'RabbitMQ already has the queue %(q)r with another queue type than '
        'the %(wanted)s queue this agent is configured for ([%(g)s] '
        'rabbit_quorum_queue = %(flag)s), so the broker refuses to declare '
        'it: %(err)s. The hooks in vitrage-graph ([persistor_hooks] '
        'rabbit_quorum_queue) and every agent ([%(g)s] rabbit_quorum_queue) '
        'must agree. A queue cannot change type: drain it, delete it and '
        'let the agent declare it again (doc/source/rabbitmq-cluster.rst, '
        '"Moving from classic durable queues").' % {
            'q': name, 'wanted': wanted, 'g': RABBIT_GROUP,
            'flag': str(rabbit.rabbit_quorum_queue).lower(),
            'err': broker_error})


def warn_delivery_limit(conf: cfg.ConfigOpts) -> None:
    """Say that a quorum delivery limit drops requeued events."""
    rabbit = conf[RABBIT_GROUP]
    if rabbit.rabbit_quorum_queue and rabbit.rabbit_quorum_delivery_limit:
        LOG.warning('[%s] rabbit_quorum_delivery_limit = %d: RabbitMQ drops '
                    '(or dead-letters) a message requeued that many times, '
                    'and this agent requeues every event while the '
                    'database is down; leave it unset (0)', RABBIT_GROUP,
                    rabbit.rabbit_quorum_delivery_limit)


def check_queue(conf: cfg.ConfigOpts) -> bool:
    """Declare the agent's queue as the agent will, to catch a mismatch.

    Tries each RabbitMQ host of the URL in turn (a cluster's first node
    may be down).

    :returns: True when checked, False when not applicable or no broker
        could be reached (oslo.messaging then keeps retrying itself).
    :raises QueueMismatch: with an explanation and the fix.
    """
    hosts = hosts_kwargs(conf)
    if not hosts:
        return False
    import amqp.exceptions
    import kombu

    rabbit = conf[RABBIT_GROUP]
    warn_delivery_limit(conf)
    durable = bool(rabbit.amqp_durable_queues or rabbit.rabbit_quorum_queue)
    arguments = queue_arguments(conf)
    name = queue_name(conf)
    for kwargs in hosts:
        try:
            with kombu.Connection(**kwargs) as conn:
                conn.ensure_connection(max_retries=1)
                channel = conn.channel()
                queue = kombu.Queue(name, durable=durable,
                                    auto_delete=rabbit.amqp_auto_delete,
                                    queue_arguments=arguments)
                try:
                    queue(channel).declare()
                except amqp.exceptions.PreconditionFailed as exc:
                    if "inequivalent arg 'durable'" in str(exc):
                        raise QueueMismatch(mismatch_message(
                            conf, name, str(exc))) from None
                    if "inequivalent arg 'x-queue-type'" in str(exc):
                        raise QueueMismatch(quorum_mismatch_message(
                            conf, name, str(exc))) from None
                    LOG.warning('queue %s exists with other arguments '
                                '(%s); leaving it to oslo.messaging', name,
                                exc)
        except QueueMismatch:
            raise
        except Exception as exc:
            LOG.warning('could not check queue %s on %s:%s before start '
                        '(%s)', name, kwargs['hostname'], kwargs['port'],
                        exc)
            continue
        return True
    LOG.warning('queue %s not checked: no broker answered; oslo.messaging '
                'will keep connecting', name)
    return False


def wait_for_broker(conf: cfg.ConfigOpts, stop_event,
                    max_interval: float = 10.0) -> bool:
    """Block until the first RabbitMQ host answers, or ``stop_event``.

    oslo.messaging's listener connects inside ``start()`` and retries
    forever, and its ``stop()`` waits for that ``start()`` to finish: an
    agent told to stop (SIGTERM) while the broker is down would sit
    there until oslo.service's graceful_shutdown_timeout (60 s) kills
    it. Waiting here first, on an Event, lets a stop end the wait at
    once. Not RabbitMQ (Kafka, fake://): returns True at once.

    :returns: True when the broker answered (or no check applies), False
        when ``stop_event`` was set first.
    """
    hosts = hosts_kwargs(conf)
    if not hosts:
        return True
    import kombu

    interval = 1.0
    warned = False
    while not stop_event.is_set():
        for kwargs in hosts:
            where = '%s:%s' % (kwargs['hostname'], kwargs['port'])
            try:
                with kombu.Connection(**dict(kwargs, connect_timeout=3)
                                      ) as conn:
                    conn.ensure_connection(max_retries=1)
            except Exception as exc:
                error = exc
                continue
            if warned:
                LOG.info('broker %s answers', where)
            return True
        if not warned:
            LOG.warning('no broker answers (%s: %s); retrying up to every '
                        '%.0f s', where, error, max_interval)
            warned = True
        stop_event.wait(interval)
        interval = min(max_interval, interval * 2)
    return False
