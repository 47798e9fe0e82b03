"""Publish enriched events to the persistor topic without slowing the caller.

:class:`Publisher` is usable by any code, not only the Vitrage hooks: call
:meth:`Publisher.publish` with a JSON-able dict and it returns at once.

Why it is built this way:

* One durable oslo.messaging publisher confirms about 900 messages/s on a
  small machine, while Vitrage's processor handles about 4,000 events/s.
  So :meth:`~Publisher.publish` only stamps the event and appends it to a
  bounded in-memory queue, and the sending happens elsewhere.
* Where: ``[persistor_hooks] sender = process`` (default) hands the queue,
  in batches of already-encoded events, to a sender process
  (:mod:`vitrage_persistor.sender`) through a pipe, from one feeder
  thread. kombu and oslo.messaging cost about as much Python time per
  message as the processor spends per event; in threads of vitrage-graph
  that time is taken from the processor under the GIL (+14 % run time,
  measured), in its own process it runs on another core. ``sender =
  thread`` keeps ``sender_threads`` sending threads in the caller's
  process instead; it is also what a Publisher given a ``transport``
  object, or configured with the in-process ``fake://`` transport, uses.
* A sender sends what is queued when it is free as one notification of
  up to ``[persistor_hooks] events_per_message`` events (a bundle, see
  :mod:`vitrage_persistor.envelope`): RabbitMQ's per-message costs
  (publisher confirm, routing, the agent's listener) are paid once per
  bundle. On a busy host this cut the CPU that the sender process and
  RabbitMQ take per event by about 10 and 30 times; a quiet vitrage-graph
  still sends each event at once, alone.
* Vitrage's processor mutates the event dict after it is handed over (for
  instance it adds ``QUERY_RESULT``), so the event is serialised at
  enqueue time. That freezes exactly what the caller had. In process mode
  it is ``marshal`` (a third of JSON's cost; the sender process makes the
  JSON, and reports an event JSON refuses back to be counted and logged
  here); in thread mode it is JSON, and an event that cannot be
  serialised is refused there.
* The stamp is taken under one lock: ``collector_timestamp`` (UTC,
  microseconds) and a per-publisher ``sequence`` that increases by one per
  accepted event. ``(publisher_id, sequence)`` is unique, and replay orders
  by ``(collector_timestamp, publisher_id, sequence, id)``. The message id
  is derived from the pair, so a resent event has the same one and the
  agent stores it once.
* A full queue never blocks the caller: ``[persistor_hooks]
  overflow_policy`` drops the oldest queued event or the new one. Drops are
  counted and logged at most once per ``log_interval``. The sender process
  holds at most :attr:`Publisher.max_in_flight` events on top of the
  queue: the feeder waits for acknowledgements before it hands over more.
* While the broker is down the senders hold their events and retry with
  back-off, the queue fills and the overflow policy applies; sending
  resumes by itself when the broker is back. If the sender process dies,
  the events it had not acknowledged are queued again and a new one is
  started.
* Threads, the sender process and the transport are created lazily on the
  first publish, and again after a ``fork()``, because native threads do
  not survive the fork that cotyledon does in vitrage-graph (each worker
  gets its own publisher id and sender).
* :meth:`Publisher.stop` flushes the queue, bounded by
  ``[persistor_hooks] flush_timeout``; it also runs at interpreter exit.
"""

import atexit
import collections
import fcntl
import functools
import marshal
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from multiprocessing import connection as mp_connection
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log
from oslo_serialization import jsonutils

from vitrage_persistor import envelope, sender

LOG = log.getLogger(__name__)

HOOK_GROUP = 'persistor_hooks'

# Process mode: events per pipe write, and how long the feeder lets a
# batch grow after the first event arrives (fewer, larger writes).
BATCH_SIZE = 500
BATCH_LINGER = 0.05
_F_SETPIPE_SZ = getattr(fcntl, 'F_SETPIPE_SZ', 1031)
# Events handed to the sender process and not yet acknowledged, at most.
MAX_IN_FLIGHT = 2000


class PublisherStats:
    """Counters of one publisher; read them with :meth:`as_dict`.

    ``enqueued``: accepted by publish(); ``sent``: confirmed by the
    broker; ``dropped``: given up because the queue was full (per
    ``overflow_policy``); ``unserialisable``: refused at publish() because
    the event was not JSON-able; ``send_errors``: failed send attempts
    (each is retried) and other sender faults; ``abandoned``: still queued
    when stop() timed out.
    """

    FIELDS = ('enqueued', 'sent', 'dropped', 'unserialisable',
              'send_errors', 'abandoned')

    def __init__(self):
        for name in self.FIELDS:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}


def _RateLimitedLog(interval: float) -> sender.RateLimitedLog:
    return sender.RateLimitedLog(LOG, interval)


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
    sender.register_messaging_opts(conf)
    hconf = conf[HOOK_GROUP]
    conf.set_override('amqp_durable_queues', hconf.amqp_durable_queues,
                      group='oslo_messaging_rabbit')
    conf.set_override('control_exchange', hconf.exchange)


def transport_url(conf: cfg.ConfigOpts) -> str | None:
    """The URL the notification transport of ``conf`` would use."""
    sender.register_messaging_opts(conf)
    return (conf[HOOK_GROUP].transport_url or
            conf.oslo_messaging_notifications.transport_url or
            conf.transport_url)


def make_publisher_id(hook: str) -> str:
    """``vitrage.persistor.<hook>.<host>.<token>``: unique per publisher."""
    return 'vitrage.persistor.%s.%s.%s' % (
        hook, socket.gethostname(), uuid.uuid4().hex[:12])


class Publisher:
    """Stamp, queue and publish events on ``[persistor] topic``.

    ``transport`` is optional: by default the notification transport of
    ``conf`` (``[persistor_hooks] transport_url`` or the usual
    ``transport_url``) is built by the sender. A given transport object
    lives in this process, so it implies ``sender = thread``.
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
        self.log_interval = hconf.log_interval
        self.events_per_message = hconf.events_per_message
        self.max_message_bytes = hconf.max_message_bytes
        self.mode = hconf.sender
        if self.mode == 'process':
            url = transport_url(conf)
            if transport is not None or (url or '').startswith('fake:'):
                LOG.info('vitrage-persistor %s hook: the transport lives '
                         'in this process, sending from threads', hook)
                self.mode = 'thread'
        # events taken off the queue and not yet sent, at most
        self.max_in_flight = (min(MAX_IN_FLIGHT, self.queue_size)
                              if self.mode == 'process'
                              else self.sender_threads *
                              self.events_per_message)
        self._batch = max(1, min(BATCH_SIZE, self.max_in_flight // 4))
        # process mode: marshal, decoded and JSON-checked by the sender
        # process; thread mode: JSON text, checked here
        self._encode = (sender.encode if self.mode == 'process'
                        else jsonutils.dumps)
        self._topic = '%s.%s' % (conf.persistor.topic, envelope.PRIORITY)
        self._target = oslo_messaging.Target(topic=self._topic)
        self.stats = PublisherStats()
        self._given_transport = transport
        self._overflow_log = _RateLimitedLog(hconf.log_interval)
        self._error_log = _RateLimitedLog(hconf.log_interval)
        self._child = None
        self._reset()
        # A fork (cotyledon's workers) gets a publisher of its own at once,
        # so publish() need not ask for the pid on every event.
        os.register_at_fork(after_in_child=functools.partial(
            _reset_after_fork, weakref.ref(self)))
        if register_atexit:
            atexit.register(self.stop)

    def _reset(self) -> None:
        """(Re)initialise per-process state: new id, queue, no threads."""
        if self._child is not None:
            # a fork: the sender process and its pipe are the parent's
            self._child.forget()
        self._pid = os.getpid()
        self.publisher_id = make_publisher_id(self.hook)
        self._sequence = 0
        self._lock = threading.Lock()
        # senders/feeder wait on _has_work, flush() waits on _drained
        self._has_work = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._idle_senders = 0
        self._want_room = False
        self._queue = collections.deque()
        self._in_flight = 0
        self._unacked = collections.deque()   # handed over, in order
        self._threads = []
        self._stopping = False
        self._started = False
        self._transport = None
        self._owns_transport = False
        self._stop_event = threading.Event()
        self._child = None
        self._ready = threading.Event()

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

    def publish_encoded(self, data: bytes, extra: dict | None = None
                        ) -> bool:
        """Queue an event the caller already froze with ``marshal.dumps``.

        For a caller that had to copy the event anyway (the collector
        hook freezes it before Vitrage's processor changes it): the bytes
        are queued as they are, instead of being decoded and encoded
        again. ``extra`` keys are added to the event when it is sent.
        Never blocks, never raises; JSON-ability is checked by the sender.
        """
        try:
            return self._enqueue(data, extra)
        except Exception:  # never break the caller
            self.stats.send_errors += 1
            LOG.exception('vitrage-persistor %s hook: publish failed',
                          self.hook)
            return False

    def _publish(self, event: Any) -> bool:
        try:
            data = self._encode(event)
        except Exception as exc:
            self.stats.unserialisable += 1
            self._error_log(
                'vitrage-persistor %s hook: event not published, it cannot '
                'be serialised to JSON: %s; event: %.500r',
                self.hook, exc, event)
            return False
        return self._enqueue(data, None)

    def _enqueue(self, data: bytes | str, extra: dict | None) -> bool:
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
            self._queue.append((time.time_ns(), self._sequence, data,
                                extra))
            self.stats.enqueued += 1
            if self._idle_senders:
                self._has_work.notify()
        return True

    def start(self, timeout: float | None = None) -> bool:
        """Start the senders now rather than on the first publish.

        With ``timeout``, wait that long for the sender to be connected to
        the broker (process mode; thread mode connects on first send).
        """
        if self._pid != os.getpid():
            self._reset()
        with self._lock:
            if not self._started and not self._stopping:
                self._start_locked()
        if timeout is None or self.mode != 'process':
            return True
        return self._ready.wait(timeout)

    def _start_locked(self) -> None:
        self._started = True
        if self.mode == 'process':
            targets = [('feeder', self._feed)]
        else:
            targets = [('sender-%d' % index, self._run)
                       for index in range(self.sender_threads)]
        for name, target in targets:
            thread = threading.Thread(
                target=target, daemon=True,
                name='persistor-%s-%s' % (self.hook, name))
            thread.start()
            self._threads.append(thread)

    # ------------------------------------------------- thread mode senders
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

    def _run(self) -> None:
        bundles = sender.BundleSender(self._target, self.retry_max,
                                      self._stop_event, self._send_failed)
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._idle_senders += 1
                    self._has_work.wait()
                    self._idle_senders -= 1
                if not self._queue:
                    return
                count = min(self.events_per_message, len(self._queue))
                items = [self._queue.popleft() for _ in range(count)]
                self._in_flight += count
            message, sequences, refused, rest = sender.build_bundle(
                self.publisher_id, self.event_type, items,
                self.max_message_bytes)
            if rest:
                with self._lock:
                    self._queue.extendleft(reversed(rest))
                    self._in_flight -= len(rest)
                    if self._idle_senders:
                        self._has_work.notify()
            held = len(sequences) + len(refused)
            sent = []
            if message is not None:
                result = bundles.send(self._make_transport, message,
                                      sequences)
                if result is not None:   # None: stopped, not sent
                    sent, bad = result
                    refused = refused + bad
            for sequence, error in refused:
                self._error_log(
                    'vitrage-persistor %s hook: event %d not published, '
                    'it cannot be serialised to JSON: %s', self.hook,
                    sequence, error)
            with self._lock:
                self.stats.sent += len(sent)
                self.stats.unserialisable += len(refused)
                self._in_flight -= held
                if not self._queue and not self._in_flight:
                    self._drained.notify_all()

    def _send_failed(self, sequences: list, exc: Exception) -> None:
        with self._lock:
            self.stats.send_errors += 1
        self._error_log('vitrage-persistor %s hook: sending events %d-%d '
                        'failed, will retry: %s', self.hook, sequences[0],
                        sequences[-1], exc)

    # ------------------------------------------------- process mode feeder
    def _child_settings(self) -> dict:
        prepare_conf(self.conf)
        return {
            'publisher_id': self.publisher_id,
            'event_type': self.event_type,
            'topic': self._topic,
            'url': self.conf[HOOK_GROUP].transport_url,
            'threads': self.sender_threads,
            'retry_interval_max': self.retry_max,
            'log_interval': self.log_interval,
            'flush_timeout': self.flush_timeout,
            'events_per_message': self.events_per_message,
            'max_message_bytes': self.max_message_bytes,
            'nice': self.conf[HOOK_GROUP].sender_nice,
            'messaging': jsonutils.loads(jsonutils.dumps(
                sender.messaging_settings(self.conf))),
        }

    def _feed(self) -> None:
        """Hand queued events to the sender process, in batches.

        The only thread this mode adds to the caller's process besides the
        acknowledgement reader; both sleep in the kernel between batches.
        """
        backoff = 0.0
        while True:
            with self._lock:
                if self._stopping:
                    return
                child = self._child
            if child is None or not child.alive:
                if child is not None:
                    child.stop(1)
                    self._child_died(child)
                    backoff = min(max(backoff * 2, 0.5), self.retry_max)
                    if self._stop_event.wait(backoff):
                        return
                try:
                    child = _ChildProcess(self, self._child_settings())
                except Exception as exc:
                    with self._lock:
                        self.stats.send_errors += 1
                    self._error_log(
                        'vitrage-persistor %s hook: cannot start the '
                        'sender process: %s', self.hook, exc)
                    backoff = min(max(backoff * 2, 0.5), self.retry_max)
                    if self._stop_event.wait(backoff):
                        return
                    continue
                with self._lock:
                    self._child = child
            with self._lock:
                # Wake-ups cost the caller GIL switches, so the feeder is
                # woken by publish() only when it waits for work
                # (_idle_senders), and by acknowledgements only when a
                # whole batch fits again (_want_room).
                while not self._stopping and child.alive:
                    if not self._queue:
                        self._idle_senders += 1
                        self._has_work.wait(1.0)
                        self._idle_senders -= 1
                    elif self._room() < min(self._batch, len(self._queue)):
                        self._want_room = True
                        self._has_work.wait(1.0)
                        self._want_room = False
                    else:
                        break
                if self._stopping or not child.alive:
                    continue
                small = len(self._queue) < self._batch
            if small:   # let the batch grow instead of one write per event
                time.sleep(BATCH_LINGER)
            with self._lock:
                count = min(self._batch, self._room(), len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight += count
                self._unacked.extend(batch)
            if batch and not child.send(('events', batch)):
                continue   # the next round sees the dead child
            if batch:
                backoff = 0.0

    def _room(self) -> int:
        return self.max_in_flight - self._in_flight

    def _child_died(self, child: '_ChildProcess') -> None:
        """Queue again what a dead sender process did not acknowledge."""
        with self._lock:
            if self._child is child:
                self._child = None
            items = list(self._unacked)
            self._unacked.clear()
            self._in_flight = 0
            self._queue.extendleft(reversed(items))
            self.stats.send_errors += 1
        LOG.error('vitrage-persistor %s hook: the sender process exited '
                  '(%s); %d unacknowledged events queued again, starting '
                  'a new one', self.hook, child.returncode(), len(items))

    def _acked(self, watermark: int | None, sent: int, errors: int,
               refused: list) -> None:
        """Everything handed over up to ``watermark`` is done."""
        with self._lock:
            unacked = self._unacked
            if watermark is not None:
                while unacked and unacked[0][1] <= watermark:
                    unacked.popleft()
            self._in_flight = len(unacked)
            self.stats.sent += sent
            self.stats.send_errors += errors
            self.stats.unserialisable += len(refused)
            if self._want_room and self._room() >= min(self._batch,
                                                       len(self._queue)):
                self._has_work.notify()
            if not self._queue and not self._in_flight:
                self._drained.notify_all()
        for sequence, error in refused:
            self._error_log(
                'vitrage-persistor %s hook: event %d not published, it '
                'cannot be serialised to JSON: %s', self.hook, sequence,
                error)

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
        """Flush, then stop the senders; bounded by ``timeout``.

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
            self._unacked.clear()
            self._has_work.notify_all()
            child = self._child
        self._stop_event.set()
        if abandoned:
            self.stats.abandoned += abandoned
            LOG.warning('vitrage-persistor %s hook: %d events not sent '
                        'before shutdown', self.hook, abandoned)
        for thread in self._threads:
            thread.join(0.5)
        if child is not None:
            child.stop()
        if self._owns_transport and flushed:
            self._transport.cleanup()
        LOG.info('vitrage-persistor %s hook stopped: %s', self.hook,
                 self.stats.as_dict())
        return flushed and not abandoned


def _reset_after_fork(ref: weakref.ref) -> None:
    publisher = ref()
    if publisher is not None:
        publisher._reset()


class _ChildProcess:
    """One ``python -m vitrage_persistor.sender`` and its two pipes.

    A reader thread takes the child's acknowledgements and log records.
    """

    def __init__(self, publisher: Publisher, settings: dict):
        self.publisher = publisher
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'vitrage_persistor.sender'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._to_child = mp_connection.Connection(
            os.dup(self.proc.stdin.fileno()), readable=False)
        self._from_child = mp_connection.Connection(
            os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        # one write per batch instead of one per 64 KiB: each blocked
        # write is another GIL hand-over in the caller's process
        try:
            fcntl.fcntl(self._to_child.fileno(), _F_SETPIPE_SZ, 1 << 20)
        except OSError:
            # the kernel's default pipe size (64 KiB) only costs speed
            LOG.debug('could not enlarge the pipe to the sender process')
        self._send_lock = threading.Lock()
        self.alive = True
        if not self.send(('init', settings)):
            raise OSError('the sender process exited at once (%s)'
                          % self.returncode())
        self._reader = threading.Thread(
            target=self._read, daemon=True,
            name='persistor-%s-acks' % publisher.hook)
        self._reader.start()

    def send(self, message) -> bool:
        try:
            data = marshal.dumps(message)
            with self._send_lock:
                self._to_child.send_bytes(data)
            return True
        except (OSError, ValueError):
            self._dead()
            return False

    def _dead(self) -> None:
        pub = self.publisher
        with pub._lock:
            self.alive = False
            pub._has_work.notify_all()

    def _read(self) -> None:
        pub = self.publisher
        while True:
            try:
                message = self._from_child.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == 'ack':
                pub._acked(*message[1:])
            elif kind == 'ready':
                pub._ready.set()
            elif kind == 'log':
                LOG.log(message[1], 'sender process %d: %s', self.proc.pid,
                        message[2])
        self._dead()

    def returncode(self):
        try:
            return self.proc.wait(1)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 5.0) -> None:
        self.send(('stop',))
        self._to_child.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(1)
        self._from_child.close()

    def forget(self) -> None:
        """In a forked process: close our copies of the parent's pipes."""
        for conn in (self._to_child, self._from_child):
            try:
                conn.close()
            except OSError:
                continue  # already closed: nothing to release
