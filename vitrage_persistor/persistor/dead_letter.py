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

"""Drain RabbitMQ's dead letters of the agent's queue into the quarantine.

Some messages never reach oslo.messaging's dispatcher: a body that is not
JSON, not UTF-8, JSON that is not an object, an ``oslo.message`` that does
not decode, a content type kombu refuses (pickle). oslo.messaging's
RabbitMQ consumer rejects them without requeue, and RabbitMQ drops them,
unless the queue has a dead-letter exchange. A broker policy gives it one
(``doc/source/persistor.rst``, "Poison messages")::

    rabbitmqctl set_policy -p <vhost> --apply-to queues \\
        vitrage-persistor-dlx '^vitrage_persistor\\.sample$' \\
        '{"dead-letter-exchange": "vitrage_persistor.dead"}'

Each agent worker declares that exchange and a queue of the same name
bound to it, consumes it with plain kombu (it must read bodies that
oslo.messaging could not), and turns each dead letter into one quarantine
row, with the raw body (text or base64), the reason it could not be read
and RabbitMQ's ``x-death`` record. A dead letter is acknowledged only after
its row is committed; while the database is down it goes back to the
dead-letter queue, as events go back to theirs.

On a RabbitMQ cluster the drain tries the URL's hosts in turn, and with
``[oslo_messaging_rabbit] rabbit_quorum_queue`` its queue is a quorum
queue too. A quorum queue dead-letters at most once unless its policy
also says ``"dead-letter-strategy": "at-least-once"`` and ``"overflow":
"reject-publish"`` (RabbitMQ 3.10 and later), which
``tools/rabbitmq-dead-letter-policy.sh`` sets when run with
``DEAD_LETTER_STRATEGY=at-least-once``.
"""

import json
import threading
from typing import Any

from oslo_config import cfg
from oslo_log import log

from vitrage_persistor.persistor import quarantine
from vitrage_persistor.persistor import transport as transport_mod

LOG = log.getLogger(__name__)

CONTENT_TYPE_REFUSED = 'content_type_refused'
INVALID_UTF8 = 'invalid_utf8'
NOT_JSON = 'not_json'
NOT_OSLO_ENVELOPE = 'not_oslo_envelope'
BAD_OSLO_MESSAGE = 'bad_oslo_message'
DEAD_LETTERED = 'dead_lettered'

REASONS = (CONTENT_TYPE_REFUSED, INVALID_UTF8, NOT_JSON, NOT_OSLO_ENVELOPE,
           BAD_OSLO_MESSAGE, DEAD_LETTERED)

_JSON_TYPES = (None, '', 'application/json')
# The envelope version oslo.messaging writes and reads (2.0 since 2013).
_OSLO_VERSION = '2.0'
_PREFETCH = 50


def _x_death(headers: Any) -> dict:
    deaths = (headers or {}).get('x-death') if isinstance(
        headers, dict) else None
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode('utf-8', 'backslashreplace')
    return str(value)


def classify(body: bytes, content_type: str | None,
             headers: Any = None) -> tuple[str, str, dict]:
    """``(reason, detail, oslo message or {})`` for one dead letter."""
    compression = headers.get('compression') if isinstance(
        headers, dict) else None
    if compression:
        return (CONTENT_TYPE_REFUSED, 'compressed (%s): oslo.messaging does '
                'not compress notifications' % _text(compression), {})
    if content_type not in _JSON_TYPES:
        return (CONTENT_TYPE_REFUSED,
                'content type %r is not JSON; oslo.messaging\'s consumer '
                'refuses to decode it' % (content_type,), {})
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError as exc:
        return INVALID_UTF8, 'body is not UTF-8: %s' % exc, {}
    try:
        outer = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return NOT_JSON, 'body is not JSON: %s' % (
            exc if isinstance(exc, ValueError) else 'nested too deeply'), {}
    if not isinstance(outer, dict):
        return (NOT_OSLO_ENVELOPE, 'body is a JSON %s, not an object'
                % type(outer).__name__, {})
    if 'oslo.message' not in outer:
        return (DEAD_LETTERED, 'a JSON object without an oslo envelope that '
                'the consumer rejected', outer)
    version = outer.get('oslo.version')
    if version != _OSLO_VERSION:
        return (BAD_OSLO_MESSAGE, 'oslo.version %r is not the %r that '
                'oslo.messaging reads' % (version, _OSLO_VERSION), {})
    inner = outer['oslo.message']
    if not isinstance(inner, str):
        return (BAD_OSLO_MESSAGE, 'oslo.message is a %s, not a JSON string'
                % type(inner).__name__, {})
    try:
        message = json.loads(inner)
    except (ValueError, RecursionError) as exc:
        return BAD_OSLO_MESSAGE, 'oslo.message is not JSON: %s' % exc, {}
    if not isinstance(message, dict):
        return (BAD_OSLO_MESSAGE, 'oslo.message is a JSON %s, not an object'
                % type(message).__name__, {})
    return (DEAD_LETTERED, 'an oslo message the consumer rejected (see '
            'x-death)', message)


def quarantine_record(body: bytes, content_type: str | None, headers: Any):
    """The quarantine row of one dead letter."""
    reason, why, message = classify(body, content_type, headers)
    death = _x_death(headers)
    detail = '%s; dead-lettered by RabbitMQ from queue %s (%s, %s time(s)), ' \
             'content type %r, %d bytes' % (
                 why, _text(death.get('queue', '?')),
                 _text(death.get('reason', '?')),
                 _text(death.get('count', '?')), content_type, len(body))
    raw, raw_format, escaped = quarantine.body_raw(body)
    message_id = message.get('message_id')
    return quarantine.record(
        reason, detail, raw,
        # an id only when the body had one: a redelivered dead letter then
        # does not add a second row; garbage gets a row per delivery
        message_id=message_id if isinstance(message_id, str) else None,
        id_suffix='!dead' if isinstance(message_id, str) else '',
        publisher_id=message.get('publisher_id'),
        event_type=message.get('event_type'), source='dead_letter',
        raw_format=raw_format, text_escaped=escaped)


class DeadLetterDrain:
    """A thread that moves dead letters into the quarantine table.

    ``store_quarantine(rows, source)`` is the endpoint's: True once the
    rows are committed.
    """

    def __init__(self, conf: cfg.ConfigOpts, store_quarantine,
                 stop_event: threading.Event):
        self._conf = conf
        self._store_quarantine = store_quarantine
        self._stop = stop_event
        self._thread: threading.Thread | None = None
        self.exchange = conf.persistor.dead_letter_exchange
        self.drained = 0
        # the next RabbitMQ host to try: on a cluster, the drain moves on
        # to the next node of the URL when the one it used goes away
        self._host = 0

    @staticmethod
    def enabled(conf: cfg.ConfigOpts) -> bool:
        return bool(conf.persistor.dead_letter_exchange) and \
            transport_mod.connection_kwargs(conf) is not None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='persistor-dead-letters')
        self._thread.start()
        LOG.info('draining dead letters of queue %s from exchange and queue '
                 '%s into the quarantine table (needs the broker policy '
                 'described in the docs)', transport_mod.queue_name(
                     self._conf), self.exchange)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._consume()
                delay = 0.5
            except Exception as exc:
                if self._stop.is_set():
                    return
                LOG.warning('dead-letter queue %s: %s: %s; reconnecting in '
                            '%.1fs', self.exchange, type(exc).__name__, exc,
                            delay)
                self._host += 1
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)

    def declare(self, channel) -> Any:
        """The dead-letter exchange and its queue.

        With ``rabbit_quorum_queue`` the queue is a quorum queue, so dead
        letters survive the loss of a cluster node like the events do.
        """
        import kombu
        rabbit = self._conf[transport_mod.RABBIT_GROUP]
        exchange = kombu.Exchange(self.exchange, type='fanout', durable=True)
        arguments = {'x-queue-type': 'quorum'} \
            if rabbit.rabbit_quorum_queue else None
        queue = kombu.Queue(self.exchange, exchange=exchange, durable=True,
                            queue_arguments=arguments)
        bound = queue(channel)
        bound.declare()
        return bound

    def _consume(self) -> None:
        import kombu
        hosts = transport_mod.hosts_kwargs(self._conf)
        kwargs = hosts[self._host % len(hosts)]
        with kombu.Connection(**kwargs) as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            # py-amqp decodes text bodies by their content_encoding; the
            # quarantine wants the bytes as they were sent.
            channel.auto_decode = False
            queue = self.declare(channel)
            # on_decode_error: kombu still hands over a message it could
            # not decompress (a bad "compression" header), undecoded.
            with kombu.Consumer(channel, queues=[queue],
                                on_message=self._on_message,
                                on_decode_error=self._on_decode_error,
                                prefetch_count=_PREFETCH):
                while not self._stop.is_set():
                    try:
                        conn.drain_events(timeout=1)
                    except TimeoutError:
                        conn.heartbeat_check()

    def _on_decode_error(self, message, exc) -> None:
        LOG.debug('dead letter kombu could not decode (%s); quarantining it '
                  'as received', exc)
        self._on_message(message)

    def _on_message(self, message) -> None:
        data = message.body
        if isinstance(data, str):  # a transport that decoded it anyway
            data = data.encode('utf-8', 'surrogatepass')
        data = data or b''
        try:
            row = quarantine_record(data, message.content_type,
                                    message.headers)
        except Exception as exc:  # keep it, whatever it is
            LOG.exception('could not read a dead letter')
            raw, raw_format, escaped = quarantine.body_raw(data)
            row = quarantine.record(
                DEAD_LETTERED, 'unreadable dead letter (%s: %s)' % (
                    type(exc).__name__, exc), raw, source='dead_letter',
                raw_format=raw_format, text_escaped=escaped)
        if self._store_quarantine([row], 'dead_letter'):
            message.ack()
            self.drained += 1
        else:
            message.requeue()
