"""The notifier's sending side: message building and the sender process.

:class:`vitrage_persistor.notifier.Publisher` stamps and queues events in
the caller's process. Turning a queued event into an AMQP message and
getting the broker to confirm it is done here, either by threads of the
caller's process (``[persistor_hooks] sender = thread``) or, by default, by
this module run as its own process (``sender = process``)::

    python -m vitrage_persistor.sender

Why a process: kombu and oslo.messaging spend about as much Python time
per message as Vitrage's processor spends per event. In threads of
vitrage-graph that time is taken from the processor under the GIL (it made
Vitrage 14 % slower); in a process of its own it runs on another core.

Protocol, on the child's stdin (parent to child) and stdout (child to
parent), as :class:`multiprocessing.connection.Connection` messages,
``marshal``-encoded to the child (both ends run the same interpreter) and
pickled back:

* ``('init', settings)`` once, then ``('events', [(stamp_ns, sequence,
  data, extra), ...])`` batches (``data`` from :func:`encode` or the
  caller's own ``marshal.dumps``, ``extra`` None or keys to add to the
  event), then ``('stop',)``;
* back: ``('ready',)`` once the transport is built; ``('ack', watermark,
  sent, send_errors, [(sequence, error), ...])``: every event up to
  ``watermark`` is done (sent, or listed as not JSON-able); ``('log',
  level, text)`` for the child's log records (the parent logs them where
  vitrage-graph logs).

The child holds at most the parent's in-flight window of events. On
``('stop',)`` it exits at once (the parent flushed first); on EOF (the
parent died) it keeps sending what it holds for ``flush_timeout`` seconds.
Each sending thread takes up to ``events_per_message`` of the events
waiting and sends them as one bundle notification
(:func:`build_bundle`). An event's ``message_id`` is derived from
``(publisher_id, sequence)``, so it is the same on every retry and after a
restart of the child, whatever bundle carries it: the agent stores a
resent event once.
"""

import collections
import hashlib
import json
import logging
import marshal
import os
import sys
import threading
import time
import uuid
from multiprocessing import connection as mp_connection

import oslo_messaging
from oslo_config import cfg
from oslo_log import log
from oslo_messaging import opts as messaging_opts
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from vitrage_persistor import envelope

LOG = log.getLogger(__name__)

# Groups whose options the child copies from the parent's configuration.
MESSAGING_GROUPS = (None, 'oslo_messaging_rabbit',
                    'oslo_messaging_notifications')

_ID_NAMESPACE = uuid.UUID('6f1d3f8e-2b1c-4c55-9d0e-7a9e35c1b0a4')


_ID_PREFIX = _ID_NAMESPACE.bytes


def message_id(publisher_id: str, sequence: int) -> str:
    """A message id fixed by the event's identity, stable across retries.

    ``str(uuid.uuid5(_ID_NAMESPACE, '<publisher_id>/<sequence>'))``,
    computed without building UUID objects (a third of the time; the
    sender makes one per event).
    """
    digest = bytearray(hashlib.sha1(  # noqa: S324 - RFC 4122 name-based id
        _ID_PREFIX + ('%s/%d' % (publisher_id, sequence)).encode('utf-8')
    ).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50   # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80   # RFC 4122 variant
    h = digest.hex()
    return '%s-%s-%s-%s-%s' % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


_last_second = (None, '')


def format_stamp(stamp_ns: int) -> str:
    """``time.time_ns()`` as ``envelope.format_timestamp`` formats it.

    Events come in bursts within one second, so the formatted second is
    kept for the next call.
    """
    global _last_second
    second, nanos = divmod(stamp_ns, 1_000_000_000)
    cached, prefix = _last_second
    if cached != second:
        prefix = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(second))
        _last_second = (second, prefix)
    return '%s.%06dZ' % (prefix, nanos // 1000)


def encode(event) -> bytes | str:
    """Freeze ``event`` in the caller, as cheaply as possible.

    ``marshal`` (builtin types only, same interpreter on both ends) is
    about three times faster than JSON; anything else is JSON-encoded
    here, so an event that cannot be encoded is refused at publish time.
    """
    try:
        return marshal.dumps(event)
    except ValueError:
        return jsonutils.dumps(event)


def decode(data: bytes | str, extra: dict | None = None):
    """The event, and the size of its queued form (about its JSON size).

    ``extra`` (keys the collector hook adds after the processor ran) is
    merged into the event. A marshal-encoded event (builtin types only)
    is not checked here: JSON-ability is found out when the message is
    encoded (:func:`send_checked`), so the happy path encodes each event
    once, in oslo.messaging.
    """
    if isinstance(data, bytes):
        # our own parent made it, over a private pipe
        event = marshal.loads(data)  # noqa: S302
        if extra:
            event.update(extra)
        return event, len(data)
    event = json.loads(data)
    if extra:
        event.update(extra)
    return event, len(data)


def unencodable(event) -> str | None:
    """Why oslo.messaging cannot encode ``event``, or None if it can."""
    try:
        jsonutils.dumps(event)
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc)[:300] or type(exc).__name__
    return None


class BundleSender:
    """Send one bundle until it is sent or the sender stops.

    The retry loop of both senders (the sender process's threads and
    ``sender = thread``); one per sending thread, which keeps its back-off
    from one bundle to the next. ``on_failure(sequences, exc)`` counts and
    logs a failed attempt.
    """

    def __init__(self, target, retry_max: float,
                 stop_event: threading.Event, on_failure):
        self.target = target
        self.retry_max = retry_max
        self.stop_event = stop_event
        self.on_failure = on_failure
        self._backoff = 0.0

    def send(self, get_transport, message: dict, sequences: list
             ) -> tuple[list, list] | None:
        """Send; ``(sequences sent, [(sequence, error)] refused)``.

        None if the sender was stopped before the bundle could be sent.
        """
        while True:
            try:
                sent = send_checked(get_transport(), self.target, message,
                                    sequences)
                self._backoff = 0.0
                return sent
            except Exception as exc:
                self.on_failure(sequences, exc)
                self._backoff = min(max(self._backoff * 2, 0.5),
                                    self.retry_max)
                if self.stop_event.wait(self._backoff):
                    return None


def _notification(msg_id: str, publisher_id: str, event_type: str,
                  payload: dict) -> dict:
    return {
        'message_id': msg_id,
        'publisher_id': publisher_id,
        'event_type': event_type,
        'priority': envelope.PRIORITY.upper(),
        'payload': payload,
        'timestamp': str(timeutils.utcnow()),
    }


def build_bundle(publisher_id: str, event_type: str, items: list,
                 max_bytes: int) -> tuple[dict | None, list, list, list]:
    """One notification for as many of ``items`` as fit in ``max_bytes``.

    ``items`` are queue entries ``(stamp_ns, sequence, data, extra)``;
    ``max_bytes`` bounds the size of their queued forms (marshal or JSON,
    both close to the JSON size).

    Returns ``(message or None, sequences in it, [(sequence, error)] for
    events that cannot be decoded, items left over for the next
    bundle)``. The first event always goes in, whatever its size (the
    agent quarantines events above its own limit). A bundle of one event
    is sent as a plain notification of that event, with the same message
    id.
    """
    entries, sequences, refused = [], [], []
    size = 0
    for index, (stamp, sequence, data, extra) in enumerate(items):
        try:
            event, length = decode(data, extra)
        except Exception as exc:
            refused.append((sequence, str(exc)[:300]))
            continue
        if entries and size + length > max_bytes:
            return (_bundle(publisher_id, event_type, entries), sequences,
                    refused, items[index:])
        size += length
        entries.append((stamp, sequence, event))
        sequences.append(sequence)
    return (_bundle(publisher_id, event_type, entries), sequences, refused,
            [])


def _bundle(publisher_id: str, event_type: str, entries: list
            ) -> dict | None:
    if not entries:
        return None
    if len(entries) == 1:
        stamp, sequence, event = entries[0]
        return _notification(
            message_id(publisher_id, sequence), publisher_id, event_type,
            envelope.wrap(event, format_stamp(stamp), sequence))
    first, last = entries[0][1], entries[-1][1]
    return _notification(
        message_id(publisher_id, first) + '+%d' % (last - first),
        publisher_id, event_type,
        envelope.wrap_bundle([
            envelope.wrap_item(event, format_stamp(stamp), sequence,
                               message_id(publisher_id, sequence))
            for stamp, sequence, event in entries]))


def without_unencodable(message: dict, sequences: list
                        ) -> tuple[dict | None, list, list]:
    """Take out of ``message`` the events that JSON refuses.

    Returns ``(message or None if nothing is left, sequences left,
    [(sequence, error)])``.
    """
    items = envelope.bundle_items(message['payload'])
    if items is None:
        reason = unencodable(message['payload']['event'])
        if reason is None:
            return message, sequences, []
        return None, [], [(sequences[0], reason)]
    kept, refused = [], []
    for item in items:
        reason = unencodable(item['event'])
        if reason is None:
            kept.append(item)
        else:
            refused.append((item['sequence'], reason))
    if not kept:
        return None, [], refused
    return (dict(message, payload=envelope.wrap_bundle(kept)),
            [item['sequence'] for item in kept], refused)


def send_checked(transport, target, message: dict, sequences: list
                 ) -> tuple[list, list]:
    """Send ``message``, without the events that JSON refuses if any.

    Returns ``(sequences sent, [(sequence, error)] refused)``. oslo.messaging
    encodes the message before it touches the connection, so a
    TypeError/ValueError here is about the data; if no event is to blame
    it is raised like any other send failure (and retried).
    """
    try:
        send_message(transport, target, message)
        return sequences, []
    except (TypeError, ValueError, RecursionError):
        message, kept, refused = without_unencodable(message, sequences)
        if not refused:
            raise
    if message is not None:
        send_message(transport, target, message)
    return kept, refused


def send_message(transport, target, message: dict) -> None:
    """Send like the ``messagingv2`` notifier driver, but let errors out.

    ``oslo_messaging.Notifier`` (and its ``messagingv2`` driver) log and
    swallow every delivery failure, including a refused first connection
    that no ``retry`` setting retries. A publisher built on it could
    neither count a loss nor keep the event to try again, so the sender
    makes the driver's own call, with the same 2.0 message format and
    ``<topic>.sample`` target.
    """
    transport._send_notification(target, {}, message, version=2.0, retry=2)


def _registered(conf: cfg.ConfigOpts, group: str | None, name: str) -> bool:
    try:
        return name in (conf[group] if group else conf)
    except cfg.NoSuchOptError:
        return False


def register_messaging_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options that ``conf`` does not have yet.

    An option the agent (or anything else) registered first is kept: in one
    process with Vitrage, oslo.messaging's option objects no longer equal
    the earlier copies (Vitrage changes ``control_exchange``'s default
    process-wide), and registering them again would raise
    DuplicateOptError.
    """
    for group, opts in messaging_opts.list_opts():
        if group in MESSAGING_GROUPS:
            conf.register_opts(
                [opt for opt in opts
                 if not _registered(conf, group, opt.dest)], group=group)


def messaging_settings(conf: cfg.ConfigOpts) -> dict:
    """The parent's effective messaging options, for the child to copy."""
    out = {}
    for group, opts in messaging_opts.list_opts():
        if group not in MESSAGING_GROUPS:
            continue
        section = conf if group is None else conf[group]
        out[group or 'DEFAULT'] = {opt.dest: section[opt.dest]
                                   for opt in opts}
    return out


def _child_conf(settings: dict) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    register_messaging_opts(conf)
    conf([], project='vitrage-persistor', default_config_files=[],
         default_config_dirs=[])
    for group, values in settings.items():
        for name, value in values.items():
            conf.set_override(name, value,
                              None if group == 'DEFAULT' else group)
    return conf


class RateLimitedLog:
    """Log one warning per ``interval`` seconds, with the count suppressed."""

    def __init__(self, logger, interval: float):
        self.logger = logger
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
        self.logger.warning(fmt, *args, suppressed)


class _ForwardHandler(logging.Handler):
    """Hand the child's log records to the parent, which logs them."""

    def __init__(self, emit):
        super().__init__(logging.WARNING)
        self._emit = emit

    def emit(self, record):
        try:
            self._emit(('log', record.levelno,
                        '%s: %s' % (record.name, record.getMessage())))
        except Exception:  # noqa: S110 - the parent is gone; no one to tell
            pass


class Child:
    """The sender process: receive batches, send them, acknowledge."""

    ACK_INTERVAL = 0.1

    def __init__(self, conn_in, conn_out):
        self.conn_in = conn_in
        self.conn_out = conn_out
        self._out_lock = threading.Lock()
        self._pending = collections.deque()    # items not yet taken
        self._received = collections.deque()   # sequences, as received
        self._done = set()
        self._sent = 0
        self._errors = 0
        self._refused = []
        self._held = 0
        self._lock = threading.Condition()
        self._stop = threading.Event()

    def recv(self):
        # the parent's private pipe; both ends are this interpreter
        return marshal.loads(self.conn_in.recv_bytes())  # noqa: S302

    def reply(self, message) -> None:
        with self._out_lock:
            self.conn_out.send(message)

    def run(self) -> int:
        kind, settings = self.recv()
        assert kind == 'init', kind
        if settings['nice']:
            os.nice(settings['nice'])
        root = logging.getLogger()
        root.handlers[:] = [_ForwardHandler(self.reply)]
        root.setLevel(logging.WARNING)
        self.settings = settings
        self.publisher_id = settings['publisher_id']
        self.event_type = settings['event_type']
        self.target = oslo_messaging.Target(topic=settings['topic'])
        self.retry_max = settings['retry_interval_max']
        self.events_per_message = settings['events_per_message']
        self.max_message_bytes = settings['max_message_bytes']
        self._error_log = RateLimitedLog(LOG, settings['log_interval'])
        conf = _child_conf(settings['messaging'])
        self.transport = oslo_messaging.get_notification_transport(
            conf, url=settings['url'] or None)
        self.reply(('ready',))
        threads = [threading.Thread(target=self._send_loop, daemon=True)
                   for _ in range(settings['threads'])]
        threads.append(threading.Thread(target=self._ack_loop, daemon=True))
        for thread in threads:
            thread.start()
        clean = self._receive()
        if not clean:   # the parent died: send what we hold, bounded
            deadline = time.monotonic() + settings['flush_timeout']
            with self._lock:
                while self._held and time.monotonic() < deadline:
                    self._lock.wait(0.1)
        with self._lock:
            self._stop.set()
            self._lock.notify_all()
        try:
            self._send_acks()
        except (OSError, ValueError):
            pass   # the parent is gone
        return 0

    def _receive(self) -> bool:
        """Queue incoming batches; True on ``stop``, False on EOF."""
        while True:
            try:
                message = self.recv()
            except (EOFError, OSError):
                return False
            if message[0] == 'stop':
                return True
            batch = message[1]
            with self._lock:
                self._held += len(batch)
                self._received.extend(item[1] for item in batch)
                self._pending.extend(batch)
                self._lock.notify_all()

    def _take(self) -> list | None:
        """The next items to bundle; None when the child stops."""
        with self._lock:
            while not self._pending and not self._stop.is_set():
                self._lock.wait()
            if self._stop.is_set():
                return None
            pending = self._pending
            return [pending.popleft() for _ in
                    range(min(self.events_per_message, len(pending)))]

    def _send_loop(self) -> None:
        bundles = BundleSender(self.target, self.retry_max, self._stop,
                               self._send_failed)
        while True:
            items = self._take()
            if items is None:
                return
            message, sequences, refused, rest = build_bundle(
                self.publisher_id, self.event_type, items,
                self.max_message_bytes)
            if rest:
                with self._lock:
                    self._pending.extendleft(reversed(rest))
                    self._lock.notify()
            if message is not None:
                result = bundles.send(lambda: self.transport, message,
                                      sequences)
                if result is None:
                    return
                sequences, bad = result
                refused = refused + bad
            self._finished(sequences, refused)

    def _send_failed(self, sequences: list, exc: Exception) -> None:
        with self._lock:
            self._errors += 1
        self._error_log('vitrage-persistor sender process: sending events '
                        '%d-%d failed, will retry: %s', sequences[0],
                        sequences[-1], exc)

    def _finished(self, sequences: list, refused: list) -> None:
        with self._lock:
            self._done.update(sequences)
            self._done.update(sequence for sequence, _error in refused)
            self._sent += len(sequences)
            self._refused.extend(refused)
            self._held -= len(sequences) + len(refused)
            if not self._held:
                self._lock.notify_all()

    def _send_acks(self) -> None:
        with self._lock:
            watermark = None
            received, done = self._received, self._done
            while received and received[0] in done:
                watermark = received.popleft()
                done.discard(watermark)
            sent, self._sent = self._sent, 0
            errors, self._errors = self._errors, 0
            refused, self._refused = self._refused, []
        if watermark is not None or sent or errors or refused:
            self.reply(('ack', watermark, sent, errors, refused))

    def _ack_loop(self) -> None:
        while not self._stop.wait(self.ACK_INTERVAL):
            try:
                self._send_acks()
            except (OSError, ValueError):
                return   # the parent is gone


def main() -> int:
    # stdout carries the protocol: keep stray prints of libraries off it
    conn_in = mp_connection.Connection(os.dup(0), writable=False)
    conn_out = mp_connection.Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return Child(conn_in, conn_out).run()


if __name__ == '__main__':
    sys.exit(main())
