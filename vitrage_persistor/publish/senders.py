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

"""Sending: the one take -> bundle -> send -> retry loop, and thread mode.

:class:`SendLoop` is what every sending thread runs, in the sender process
(:mod:`~vitrage_persistor.publish.child`, ``sender = process``) or in
vitrage-graph itself (:class:`ThreadSenders`, ``sender = thread``). It
takes up to ``events_per_message`` waiting events, builds one
notification of them (:func:`build_bundle`), sends it until the broker
confirms it or the sender stops, and reports what became of each event.
"""

import threading
from collections.abc import Callable

import oslo_messaging
from oslo_log import log
from oslo_serialization import jsonutils

from vitrage_persistor import wire
from vitrage_persistor.publish import messaging
from vitrage_persistor.publish import queue as queue_mod

LOG = log.getLogger(__name__)


def unencodable(event) -> str | None:
    """Why oslo.messaging cannot encode ``event``, or None if it can."""
    try:
        jsonutils.dumps(event)
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc)[:300] or type(exc).__name__
    return None


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
    id (:func:`vitrage_persistor.wire.build_message`).
    """
    entries, sequences, refused = [], [], []
    size = 0
    rest = []
    for index, (stamp, sequence, data, extra) in enumerate(items):
        try:
            event, length = queue_mod.decode(data, extra)
        except Exception as exc:
            refused.append((sequence, str(exc)[:300]))
            continue
        if entries and size + length > max_bytes:
            rest = items[index:]
            break
        size += length
        entries.append((stamp, sequence, event))
        sequences.append(sequence)
    return (wire.build_message(publisher_id, event_type, entries),
            sequences, refused, rest)


def without_unencodable(message: dict, sequences: list
                        ) -> tuple[dict | None, list, list]:
    """Take out of ``message`` the events that JSON refuses.

    Returns ``(message or None if nothing is left, sequences left,
    [(sequence, error)])``.
    """
    items = wire.bundle_items(message['payload'])
    if items is None:
        reason = unencodable(wire.unwrap(message['payload']).event)
        if reason is None:
            return message, sequences, []
        return None, [], [(sequences[0], reason)]
    kept, refused = [], []
    for item in items:
        reason = unencodable(wire.unwrap_item(item).event)
        if reason is None:
            kept.append(item)
        else:
            refused.append((item['sequence'], reason))
    if not kept:
        return None, [], refused
    return (dict(message, payload=wire.wrap_bundle(kept)),
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
        messaging.send(transport, target, message)
        return sequences, []
    except (TypeError, ValueError, RecursionError):
        message, kept, refused = without_unencodable(message, sequences)
        if not refused:
            raise
    if message is not None:
        messaging.send(transport, target, message)
    return kept, refused


class SendLoop:
    """Take -> bundle -> send -> retry, until there is nothing to take.

    The source of events is given as four calls:

    * ``take(count)``: up to ``count`` queue entries, waiting for one;
      None when the sender stops;
    * ``put_back(entries)``: entries that did not fit in the bundle;
    * ``done(sent, refused, held)``: ``held`` entries are finished,
      ``sent`` the sequences confirmed by the broker, ``refused``
      ``[(sequence, error)]`` for events JSON refuses;
    * ``failed(sequences, exc)``: one send attempt failed (it is retried
      after a back-off that doubles from 0.5 s to ``retry_max``).

    One per sending thread; it keeps its back-off from one bundle to the
    next.
    """

    def __init__(self, publisher_id: str, event_type: str,
                 events_per_message: int, max_bytes: int,
                 target: oslo_messaging.Target,
                 get_transport: Callable, retry_max: float,
                 stop_event: threading.Event, take: Callable,
                 put_back: Callable, done: Callable, failed: Callable):
        self.publisher_id = publisher_id
        self.event_type = event_type
        self.events_per_message = events_per_message
        self.max_bytes = max_bytes
        self.target = target
        self.get_transport = get_transport
        self.retry_max = retry_max
        self.stop_event = stop_event
        self.take = take
        self.put_back = put_back
        self.done = done
        self.failed = failed
        self._backoff = 0.0

    def run(self) -> None:
        while True:
            items = self.take(self.events_per_message)
            if items is None:
                return
            message, sequences, refused, rest = build_bundle(
                self.publisher_id, self.event_type, items, self.max_bytes)
            if rest:
                self.put_back(rest)
            held = len(sequences) + len(refused)
            sent = []
            if message is not None:
                result = self.send(message, sequences)
                if result is not None:   # None: stopped, not sent
                    sent, bad = result
                    refused = refused + bad
            self.done(sent, refused, held)

    def send(self, message: dict, sequences: list
             ) -> tuple[list, list] | None:
        """Send; ``(sequences sent, [(sequence, error)] refused)``.

        None if the sender was stopped before the bundle could be sent.
        """
        while True:
            try:
                sent = send_checked(self.get_transport(), self.target,
                                    message, sequences)
                self._backoff = 0.0
                return sent
            except Exception as exc:
                self.failed(sequences, exc)
                self._backoff = min(max(self._backoff * 2, 0.5),
                                    self.retry_max)
                if self.stop_event.wait(self._backoff):
                    return None


class ThreadSenders:
    """``sender = thread``: sending threads in the caller's process.

    Also what a publisher given a transport object, or configured with the
    in-process ``fake://`` transport, uses.
    """

    def __init__(self, publisher, queue: queue_mod.EventQueue,
                 transport: oslo_messaging.Transport | None):
        self.publisher = publisher
        self.queue = queue
        self._given_transport = transport
        self._transport = None
        self._transport_lock = threading.Lock()
        self._threads = []
        self.stop_event = threading.Event()

    def start(self) -> None:
        pub = self.publisher
        for index in range(pub.sender_threads):
            loop = SendLoop(
                pub.publisher_id, pub.event_type, pub.events_per_message,
                pub.max_message_bytes, pub.target, self._get_transport,
                pub.retry_max, self.stop_event, take=self.queue.take,
                put_back=self.queue.put_back, done=self._done,
                failed=self._failed)
            thread = threading.Thread(
                target=loop.run, daemon=True,
                name='persistor-%s-sender-%d' % (pub.hook, index))
            thread.start()
            self._threads.append(thread)

    def wait_ready(self, timeout: float) -> bool:
        return True   # connects on the first send

    def _get_transport(self) -> oslo_messaging.Transport:
        with self._transport_lock:
            if self._transport is None:
                self._transport = (self._given_transport or
                                   messaging.get_transport(
                                       self.publisher.conf))
            return self._transport

    def _done(self, sent: list, refused: list, held: int) -> None:
        for sequence, error in refused:
            self.publisher.log_refused(sequence, error)
        self.queue.done(len(sent), len(refused), held)

    def _failed(self, sequences: list, exc: Exception) -> None:
        self.publisher.log_send_failure(sequences, exc)

    def stop(self, flushed: bool) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(0.5)
        if flushed and self._given_transport is None and \
                self._transport is not None:
            self._transport.cleanup()

    def forget(self) -> None:
        """In a forked process: the threads stayed in the parent."""
