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

"""The publisher's oslo.messaging set-up: the one module that owns it.

Inside vitrage-graph the same config files configure Vitrage's own
messaging, so the publisher reads them into a private ConfigOpts and
overrides two settings there only (:func:`prepare_conf`). The sender
process gets the effective values from its parent (:func:`settings`,
:func:`conf_from_settings`): it reads no file.
"""

import oslo_messaging
from oslo_config import cfg
from oslo_serialization import jsonutils

from vitrage_persistor import wire
from vitrage_persistor.conf import hooks as hooks_conf
from vitrage_persistor.conf import messaging as messaging_conf

HOOK_GROUP = hooks_conf.GROUP

# Groups whose options the sender process copies from the parent's
# configuration.
MESSAGING_GROUPS = (None, 'oslo_messaging_rabbit',
                    'oslo_messaging_notifications')

# oslo.messaging options that become quorum queue arguments.
QUORUM_TUNING = ('rabbit_quorum_delivery_limit',
                 'rabbit_quorum_max_memory_length',
                 'rabbit_quorum_max_memory_bytes')


def register_opts(conf: cfg.ConfigOpts) -> None:
    messaging_conf.register_opts(conf, MESSAGING_GROUPS)


def prepare_conf(conf: cfg.ConfigOpts) -> None:
    """Make the publisher's private ConfigOpts agree with the agent.

    Vitrage's global CONF keeps what vitrage.conf says; on ``conf`` only:

    * ``[oslo_messaging_rabbit] amqp_durable_queues`` from
      ``[persistor_hooks] amqp_durable_queues`` (default True, like the
      agent): a queue or exchange declared durable by one side and
      transient by the other is refused by RabbitMQ with
      PRECONDITION_FAILED, and the event is lost.
    * ``[DEFAULT] control_exchange`` from ``[persistor_hooks] exchange``
      (default ``openstack``, the agent's default). Vitrage changes the
      library-wide default to ``vitrage`` and declares that exchange
      transient; publishing there durable would be refused, and the agent
      would not see the messages anyway.
    * ``[oslo_messaging_rabbit] rabbit_quorum_queue`` from
      ``[persistor_hooks] rabbit_quorum_queue`` (default False, like the
      agent): the queue type is part of the declaration too. With a
      quorum queue, ``rabbit_ha_queues`` is off (oslo.messaging refuses
      both) and the quorum tuning options (``rabbit_quorum_delivery_limit``
      and the two ``max_memory`` ones) are unset: they become queue
      arguments that the agent would have to repeat exactly, and a delivery
      limit would drop events that the agent requeues while its database
      is down. Limits belong in a broker policy.
    """
    register_opts(conf)
    hconf = conf[HOOK_GROUP]
    rabbit = 'oslo_messaging_rabbit'
    conf.set_override('amqp_durable_queues', hconf.amqp_durable_queues,
                      group=rabbit)
    conf.set_override('rabbit_quorum_queue', hconf.rabbit_quorum_queue,
                      group=rabbit)
    if hconf.rabbit_quorum_queue:
        conf.set_override('rabbit_ha_queues', False, group=rabbit)
        for name in QUORUM_TUNING:
            conf.set_override(name, 0, group=rabbit)
    conf.set_override('control_exchange', hconf.exchange)


def transport_url(conf: cfg.ConfigOpts) -> str | None:
    """The URL the notification transport of ``conf`` would use."""
    register_opts(conf)
    return (conf[HOOK_GROUP].transport_url or
            conf.oslo_messaging_notifications.transport_url or
            conf.transport_url)


def topic(conf: cfg.ConfigOpts) -> str:
    """``<[persistor] topic>.sample``: the queue the agent consumes."""
    return '%s.%s' % (conf.persistor.topic, wire.PRIORITY)


def get_transport(conf: cfg.ConfigOpts) -> oslo_messaging.Transport:
    """The notification transport of ``conf``, as the agent expects it."""
    prepare_conf(conf)
    return oslo_messaging.get_notification_transport(
        conf, url=conf[HOOK_GROUP].transport_url or None)


def settings(conf: cfg.ConfigOpts) -> dict:
    """The effective messaging options, JSON-able, for the sender process."""
    prepare_conf(conf)
    # only builtin types cross the pipe (marshal)
    return jsonutils.loads(jsonutils.dumps(
        messaging_conf.effective(conf, MESSAGING_GROUPS)))


def transport_from_settings(values: dict, url: str | None
                            ) -> oslo_messaging.Transport:
    """The sender process's transport: the parent's :func:`settings`."""
    return oslo_messaging.get_notification_transport(
        conf_from_settings(values), url=url or None)


def conf_from_settings(values: dict) -> cfg.ConfigOpts:
    """A ConfigOpts holding :func:`settings` of the parent, and no file."""
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf([], project='vitrage-persistor', default_config_files=[],
         default_config_dirs=[])
    for group, options in values.items():
        for name, value in options.items():
            conf.set_override(name, value,
                              None if group == 'DEFAULT' else group)
    return conf


def send(transport: oslo_messaging.Transport, target: oslo_messaging.Target,
         message: dict) -> None:
    """Send like the ``messagingv2`` notifier driver, but let errors out.

    ``oslo_messaging.Notifier`` (and its ``messagingv2`` driver) log and
    swallow every delivery failure, including a refused first connection
    that no ``retry`` setting retries. A publisher built on it could
    neither count a loss nor keep the event to try again, and
    oslo.messaging has no public call that sends a notification and
    raises. So this makes the transport's own private call,
    ``_send_notification``, with the same 2.0 message format and
    ``<topic>.sample`` target. ``test_messaging`` pins its signature and
    fails when oslo.messaging changes it.
    """
    transport._send_notification(  # private: no public way, see above
        target, {}, message, version=2.0, retry=2)
