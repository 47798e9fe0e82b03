"""Publish enriched events to the persistor topic without slowing the caller.

:class:`Publisher` is usable by any code, not only the Vitrage hooks: call
:meth:`Publisher.publish` with a JSON-able dict and it returns at once.

Why it is built this way:

* One durable oslo.messaging publisher confirms about 900 messages/s on a
  small machine, while Vitrage's processor handles about 4,000 events/s.
  So :meth:`~Publisher.publish` only stamps the event and appends it to a
  bounded in-memory queue; ``[persistor_hooks] sender_threads`` background
  threads drain it.
* Vitrage's processor mutates the event dict after it is handed over (for
  instance it adds ``QUERY_RESULT``), so the event is serialised to JSON at
  enqueue time. That freezes exactly what the caller had, and an event that
  cannot be serialised is reported there (logged and counted) instead of
  failing later in a thread nobody watches.
* The stamp is taken under one lock: ``collector_timestamp`` (UTC,
  microseconds) and a per-publisher ``sequence`` that increases by one per
  accepted event. ``(publisher_id, sequence)`` is unique, and replay orders
  by ``(collector_timestamp, publisher_id, sequence, id)``.
* A full queue never blocks the caller: ``[persistor_hooks]
  overflow_policy`` drops the oldest queued event or the new one. Drops are
  counted and logged at most once per ``log_interval``.
* The sender uses oslo.messaging's infinite reconnect (``retry=-1``), so
  while the broker is down a sender thread holds its event and waits, the
  queue fills and the overflow policy applies; sending resumes by itself
  when the broker is back.
* Threads and the transport are created lazily on the first publish, and
  again after a ``fork()``, because native threads do not survive the fork
  that cotyledon does in vitrage-graph.
* :meth:`Publisher.stop` flushes the queue, bounded by
  ``[persistor_hooks] flush_timeout``; it also runs at interpreter exit.
"""

import atexit
import collections
import datetime
import json
import os
import socket
import threading
import time
import uuid
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log
from oslo_messaging import opts as messaging_opts
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from vitrage_persistor import envelope

LOG = log.getLogger(__name__)

HOOK_GROUP = 'persistor_hooks'


class PublisherStats:
    """Counters of one publisher; read them with :meth:`as_dict`.

    ``enqueued``: accepted by publish(); ``sent``: confirmed by the
    broker; ``dropped``: given up because the queue was full (per
    ``overflow_policy``); ``unserialisable``: refused at publish() because
    the event was not JSON-able; ``send_errors``: unexpected exceptions in a
    sender thread; ``abandoned``: still queued when stop() timed out.
    """

    FIELDS = ('enqueued', 'sent', 'dropped', 'unserialisable',
              'send_errors', 'abandoned')

    def __init__(self):
        for name in self.FIELDS:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}


class _RateLimitedLog:
    """Log one line per ``interval`` seconds, with the count suppressed."""

    def __init__(self, interval: float):
        self.interval = interval
        self._last = None
        self._suppressed = 0

    def __call__(self, msg: str, *args) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            self._suppressed += 1
            return
        suppressed, self._suppressed = self._suppressed, 0
        self._last = now
        fmt = '%s (%%d similar messages suppressed)' % msg
        LOG.warning(fmt, *args, suppressed)


def prepare_conf(conf: cfg.ConfigOpts) -> None:
    """Make the publisher's private ConfigOpts agree with the agent.

    Inside vitrage-graph the same config files configure Vitrage's own
    messaging, so two settings are overridden on ``conf`` only (Vitrage's
    global CONF keeps what vitrage.conf says):

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
    """
    for group, opts in messaging_opts.list_opts():
        if group in (None, 'oslo_messaging_rabbit'):
            conf.register_opts(list(opts), group=group)
    hconf = conf[HOOK_GROUP]
    conf.set_override('amqp_durable_queues', hconf.amqp_durable_queues,
                      group='oslo_messaging_rabbit')
    conf.set_override('control_exchange', hconf.exchange)


def make_publisher_id(hook: str) -> str:
    """``vitrage.persistor.<hook>.<host>.<token>``: unique per publisher."""
    return 'vitrage.persistor.%s.%s.%s' % (
        hook, socket.gethostname(), uuid.uuid4().hex[:12])


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Publisher:
    """Stamp, queue and publish events on ``[persistor] topic``.

    ``transport`` is optional: by default the notification transport of
    ``conf`` (``[persistor_hooks] transport_url`` or the usual
    ``transport_url``) is built on the first publish.
    """

    def __init__(self, conf: cfg.ConfigOpts, hook: str,
                 transport: oslo_messaging.Transport | None = None,
                 register_atexit: bool = True):
        self.conf = conf
        self.hook = hook
        self.event_type = envelope.event_type(hook)
        hconf = conf[HOOK_GROUP]
        self.queue_size = hconf.queue_size
        self.drop_oldest = hconf.overflow_policy == 'drop_oldest'
        self.sender_threads = hconf.sender_threads
        self.flush_timeout = hconf.flush_timeout
        self.retry_max = hconf.retry_interval_max
        self._target = oslo_messaging.Target(
            topic='%s.%s' % (conf.persistor.topic, envelope.PRIORITY))
        self.stats = PublisherStats()
        self._given_transport = transport
        self._overflow_log = _RateLimitedLog(hconf.log_interval)
        self._error_log = _RateLimitedLog(hconf.log_interval)
        self._reset()
        if register_atexit:
            atexit.register(self.stop)

    def _reset(self) -> None:
        """(Re)initialise per-process state: new id, queue, no threads."""
        self._pid = os.getpid()
        self.publisher_id = make_publisher_id(self.hook)
        self._sequence = 0
        self._lock = threading.Lock()
        # senders wait on _has_work, flush() waits on _drained
        self._has_work = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._idle_senders = 0
        self._queue = collections.deque()
        self._in_flight = 0
        self._threads = []
        self._stopping = False
        self._started = False
        self._transport = None
        self._owns_transport = False
        self._stop_event = threading.Event()

    # ------------------------------------------------------------ caller
    def publish(self, event: Any) -> bool:
        """Queue ``event`` for publishing; never blocks, never raises.

        Returns True when the event was accepted (it may still be dropped
        later by ``drop_oldest``), False when it was refused.
        """
        try:
            return self._publish(event)
        except Exception:  # never break the caller
            self.stats.send_errors += 1
            LOG.exception('vitrage-persistor %s hook: publish failed',
                          self.hook)
            return False

    def _publish(self, event: Any) -> bool:
        if self._pid != os.getpid():
            self._reset()
        try:
            text = jsonutils.dumps(event)
        except Exception as exc:
            self.stats.unserialisable += 1
            self._error_log(
                'vitrage-persistor %s hook: event not published, it cannot '
                'be serialised to JSON: %s; event: %.500r',
                self.hook, exc, event)
            return False
        with self._lock:
            if self._stopping:
                self.stats.dropped += 1
                return False
            if not self._started:
                self._start_locked()
            if len(self._queue) >= self.queue_size:
                self.stats.dropped += 1
                if not self.drop_oldest:
                    self._overflow_log(
                        'vitrage-persistor %s hook: queue full (%d), '
                        'dropped the newest event; %d dropped so far',
                        self.hook, self.queue_size, self.stats.dropped)
                    return False
                self._queue.popleft()
                self._overflow_log(
                    'vitrage-persistor %s hook: queue full (%d), dropped '
                    'the oldest event; %d dropped so far',
                    self.hook, self.queue_size, self.stats.dropped)
            self._sequence += 1
            self._queue.append((_utcnow(), self._sequence, text))
            self.stats.enqueued += 1
            if self._idle_senders:
                self._has_work.notify()
        return True

    # ------------------------------------------------------------ senders
    def _start_locked(self) -> None:
        self._started = True
        for index in range(self.sender_threads):
            thread = threading.Thread(
                target=self._run, daemon=True,
                name='persistor-%s-sender-%d' % (self.hook, index))
            thread.start()
            self._threads.append(thread)

    def _make_transport(self) -> oslo_messaging.Transport:
        with self._lock:
            if self._transport is None:
                transport = self._given_transport
                if transport is None:
                    prepare_conf(self.conf)
                    transport = oslo_messaging.get_notification_transport(
                        self.conf,
                        url=self.conf[HOOK_GROUP].transport_url or None)
                    self._owns_transport = True
                self._transport = transport
            return self._transport

    def _message(self, stamp, sequence, text) -> dict:
        """The message ``oslo_messaging.Notifier.sample()`` would build."""
        return {
            'message_id': str(uuid.uuid4()),
            'publisher_id': self.publisher_id,
            'event_type': self.event_type,
            'priority': envelope.PRIORITY.upper(),
            'payload': envelope.wrap(json.loads(text), stamp, sequence),
            'timestamp': str(timeutils.utcnow()),
        }

    def _send(self, transport, message) -> None:
        """Send like the ``messagingv2`` notifier driver, but let errors out.

        ``oslo_messaging.Notifier`` (and its ``messagingv2`` driver) log
        and swallow every delivery failure, including a refused first
        connection that no ``retry`` setting retries. A publisher built on
        it could neither count a loss nor keep the event to try again, so
        the sender makes the driver's own call, with the same 2.0 message
        format and ``<topic>.sample`` target.
        """
        transport._send_notification(self._target, {}, message,
                                     version=2.0, retry=2)

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._idle_senders += 1
                    self._has_work.wait()
                    self._idle_senders -= 1
                if not self._queue:
                    return
                stamp, sequence, text = self._queue.popleft()
                self._in_flight += 1
            message = None
            while True:
                try:
                    transport = self._make_transport()
                    if message is None:
                        message = self._message(stamp, sequence, text)
                    self._send(transport, message)
                    backoff = 0.0
                    ok = True
                except Exception as exc:
                    ok = False
                    with self._lock:
                        self.stats.send_errors += 1
                        stopping = self._stopping
                    self._error_log(
                        'vitrage-persistor %s hook: sending event %d '
                        'failed, will retry: %s', self.hook, sequence, exc)
                    if not stopping:
                        backoff = min(max(backoff * 2, 0.5),
                                      self.retry_max)
                        self._stop_event.wait(backoff)
                        if not self._stop_event.is_set():
                            continue
                with self._lock:
                    if ok:
                        self.stats.sent += 1
                    self._in_flight -= 1
                    if not self._queue and not self._in_flight:
                        self._drained.notify_all()
                break

    # ------------------------------------------------------------ control
    def pending(self) -> int:
        """Events queued or being sent right now."""
        with self._lock:
            return len(self._queue) + self._in_flight

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is sent (or ``timeout``)."""
        deadline = time.monotonic() + (
            self.flush_timeout if timeout is None else timeout)
        with self._lock:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(min(remaining, 0.5))
        return True

    def stop(self, timeout: float | None = None) -> bool:
        """Flush, then stop the sender threads; bounded by ``timeout``.

        Events still queued when the time is up are counted as
        ``abandoned`` and logged: they cannot be sent (the broker is
        probably down) and the process is going away.
        """
        if self._pid != os.getpid() or not self._started:
            return True
        flushed = self.flush(timeout)
        with self._lock:
            self._stopping = True
            abandoned = len(self._queue) + self._in_flight
            self._queue.clear()
            self._has_work.notify_all()
        self._stop_event.set()
        if abandoned:
            self.stats.abandoned += abandoned
            LOG.warning('vitrage-persistor %s hook: %d events not sent '
                        'before shutdown', self.hook, abandoned)
        for thread in self._threads:
            thread.join(0.5)
        if self._owns_transport and flushed:
            self._transport.cleanup()
        LOG.info('vitrage-persistor %s hook stopped: %s', self.hook,
                 self.stats.as_dict())
        return flushed and not abandoned
