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

"""Publish enriched events to the persistor topic without slowing the caller.

:class:`Publisher` is usable by any code, not only the Vitrage hooks: call
:meth:`Publisher.publish` with a JSON-able dict and it returns at once.

Why it is built this way:

* One durable oslo.messaging publisher confirms about 900 messages/s on a
  small machine, while Vitrage's processor handles about 4,000 events/s.
  So :meth:`~Publisher.publish` only freezes and stamps the event and
  appends it to a bounded in-memory queue
  (:mod:`~vitrage_persistor.publish.queue`); the sending happens
  elsewhere.
* Where: ``[persistor_hooks] sender = process`` (default) hands the queue,
  in batches of already-encoded events, to a sender process
  (:mod:`~vitrage_persistor.publish.process`, which runs
  :mod:`~vitrage_persistor.publish.child`) through a pipe, from one
  feeder thread. kombu and oslo.messaging cost about as much Python time
  per message as the processor spends per event; in threads of
  vitrage-graph that time is taken from the processor under the GIL (+14 %
  run time, measured), in its own process it runs on another core.
  ``sender = thread`` keeps ``sender_threads`` sending threads in the
  caller's process instead (:class:`~vitrage_persistor.publish.senders.
  ThreadSenders`); it is also what a Publisher given a ``transport``
  object, or configured with the in-process ``fake://`` transport, uses.
* A sender sends what is queued when it is free as one notification of
  up to ``[persistor_hooks] events_per_message`` events (a bundle, see
  :mod:`vitrage_persistor.wire`): RabbitMQ's per-message costs (publisher
  confirm, routing, the agent's listener) are paid once per bundle. On a
  busy host this cut the CPU that the sender process and RabbitMQ take
  per event by about 10 and 30 times; a quiet vitrage-graph still sends
  each event at once, alone.
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
  by ``(collector_timestamp, publisher_id, sequence, id)`` (see
  ``doc/source/ordering.rst``). The message id is derived from the pair,
  so a resent event has the same one and the agent stores it once.
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
import functools
import os
import socket
import threading
import uuid
import weakref
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log
from oslo_serialization import jsonutils

from vitrage_persistor import wire
from vitrage_persistor.publish import logs, messaging, process, senders
from vitrage_persistor.publish import queue as queue_mod

LOG = log.getLogger(__name__)

PublisherStats = queue_mod.PublisherStats


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
        self.event_type = wire.event_type(hook)
        hconf = conf[messaging.HOOK_GROUP]
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
            url = messaging.transport_url(conf)
            if transport is not None or (url or '').startswith('fake:'):
                LOG.info('vitrage-persistor %s hook: the transport lives '
                         'in this process, sending from threads', hook)
                self.mode = 'thread'
        # events taken off the queue and not yet sent, at most
        self.max_in_flight = (min(process.MAX_IN_FLIGHT, self.queue_size)
                              if self.mode == 'process'
                              else self.sender_threads *
                              self.events_per_message)
        # process mode: marshal, decoded and JSON-checked by the sender
        # process; thread mode: JSON text, checked here
        self._encode = (queue_mod.encode if self.mode == 'process'
                        else jsonutils.dumps)
        self.topic = messaging.topic(conf)
        self.target = oslo_messaging.Target(topic=self.topic)
        self.stats = PublisherStats()
        self._given_transport = transport
        self._overflow_log = logs.RateLimitedLog(LOG, hconf.log_interval)
        self._error_log = logs.RateLimitedLog(LOG, hconf.log_interval)
        self._sender = None
        self._reset()
        # A fork (cotyledon's workers) gets a publisher of its own at once,
        # so publish() need not ask for the pid on every event.
        os.register_at_fork(after_in_child=functools.partial(
            _reset_after_fork, weakref.ref(self)))
        if register_atexit:
            atexit.register(self.stop)

    def _reset(self) -> None:
        """(Re)initialise per-process state: new id, queue, no threads."""
        if self._sender is not None:
            # a fork: the threads and sender process are the parent's
            self._sender.forget()
        # after a fork the counters' lock may have been copied held
        self.stats.after_fork()
        self._pid = os.getpid()
        self.publisher_id = make_publisher_id(self.hook)
        self.queue = queue_mod.EventQueue(
            self.hook, self.queue_size, self.drop_oldest,
            self.max_in_flight, self.stats, self._overflow_log)
        self._start_lock = threading.Lock()
        self._started = False
        self._sender = None

    @property
    def sender(self) -> 'senders.ThreadSenders | process.ProcessSender':
        """What sends for this publisher (None before the first publish)."""
        return self._sender

    # ------------------------------------------------------------ caller
    def publish(self, event: Any) -> bool:
        """Queue ``event`` for publishing; never blocks, never raises.

        Returns True when the event was accepted (it may still be dropped
        later by ``drop_oldest``), False when it was refused.
        """
        try:
            return self._publish(event)
        except Exception:  # never break the caller
            self.stats.add('send_errors')
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
            self.stats.add('send_errors')
            LOG.exception('vitrage-persistor %s hook: publish failed',
                          self.hook)
            return False

    def _publish(self, event: Any) -> bool:
        try:
            data = self._encode(event)
        except Exception as exc:
            self.stats.add('unserialisable')
            self._error_log(
                'vitrage-persistor %s hook: event not published, it cannot '
                'be serialised to JSON: %s; event: %.500r',
                self.hook, exc, event)
            return False
        return self._enqueue(data, None)

    def _enqueue(self, data: bytes | str, extra: dict | None) -> bool:
        if not self._started:
            self._start()
        return self.queue.put(data, extra)

    def start(self, timeout: float | None = None) -> bool:
        """Start the senders now rather than on the first publish.

        With ``timeout``, wait that long for the sender to be connected to
        the broker (process mode; thread mode connects on first send).
        """
        if self._pid != os.getpid():
            self._reset()
        self._start()
        if timeout is None or self._sender is None:
            return True
        return self._sender.wait_ready(timeout)

    def _start(self) -> None:
        with self._start_lock:
            if self._started or self.queue.stopping:
                return
            if self.mode == 'process':
                sender = process.ProcessSender(self, self.queue,
                                               self._child_settings)
            else:
                sender = senders.ThreadSenders(self, self.queue,
                                               self._given_transport)
            sender.start()
            self._sender = sender
            self._started = True

    def _child_settings(self) -> dict:
        return {
            'publisher_id': self.publisher_id,
            'event_type': self.event_type,
            'topic': self.topic,
            'url': self.conf[messaging.HOOK_GROUP].transport_url,
            'threads': self.sender_threads,
            'retry_interval_max': self.retry_max,
            'log_interval': self.log_interval,
            'flush_timeout': self.flush_timeout,
            'events_per_message': self.events_per_message,
            'max_message_bytes': self.max_message_bytes,
            'nice': self.conf[messaging.HOOK_GROUP].sender_nice,
            'messaging': messaging.settings(self.conf),
        }

    # ---------------------------------------------- what senders report
    def log_refused(self, sequence: int, error: str) -> None:
        """An event JSON refuses was not sent (already counted)."""
        self._error_log(
            'vitrage-persistor %s hook: event %d not published, it cannot '
            'be serialised to JSON: %s', self.hook, sequence, error)

    def log_send_failure(self, sequences: list, exc: Exception) -> None:
        """A send attempt failed; it will be retried."""
        self.stats.add('send_errors')
        self._error_log('vitrage-persistor %s hook: sending events %d-%d '
                        'failed, will retry: %s', self.hook, sequences[0],
                        sequences[-1], exc)

    def log_sender_fault(self, msg: str, *args) -> None:
        """Any other sender fault: counted as a send error, logged."""
        self.stats.add('send_errors')
        self._error_log('vitrage-persistor %s hook: ' + msg, self.hook,
                        *args)

    # ------------------------------------------------------------ control
    def sender_pid(self) -> int | None:
        """The pid of the current sender process (process mode), or None."""
        child = getattr(self._sender, 'child', None)
        return child.pid if child is not None else None

    def in_flight(self) -> int:
        """Events taken off the queue and not yet sent."""
        return self.queue.in_flight()

    def pending(self) -> int:
        """Events queued or being sent right now."""
        return self.queue.pending()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is sent (or ``timeout``)."""
        return self.queue.flush(
            self.flush_timeout if timeout is None else timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Flush, then stop the senders; bounded by ``timeout``.

        Events still queued when the time is up are counted as
        ``abandoned`` and logged: they cannot be sent (the broker is
        probably down) and the process is going away.
        """
        if self._pid != os.getpid() or not self._started:
            return True
        flushed = self.flush(timeout)
        abandoned = self.queue.close()
        if abandoned:
            LOG.warning('vitrage-persistor %s hook: %d events not sent '
                        'before shutdown', self.hook, abandoned)
        self._sender.stop(flushed)
        LOG.info('vitrage-persistor %s hook stopped: %s', self.hook,
                 self.stats.as_dict())
        return flushed and not abandoned


def _reset_after_fork(ref: weakref.ref) -> None:
    publisher = ref()
    if publisher is not None:
        publisher._reset()
