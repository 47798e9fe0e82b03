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

"""The publisher's bounded queue: stamped, frozen events waiting to be sent.

:meth:`EventQueue.put` is all that vitrage-graph's own threads run: it
stamps the event (``time.time_ns()`` and a sequence that increases by one
per accepted event, under one lock) and appends it; a full queue drops the
oldest or the newest event, never blocks. Queue entries are ``(stamp_ns,
sequence, data, extra)``: ``data`` is the event frozen by :func:`encode`
(or the caller's own ``marshal.dumps``), ``extra`` None or keys to add to
the event when it is sent.

Two kinds of consumer take events off it, and both count what they hold
as in flight until it is done, so :meth:`EventQueue.flush` waits for it:

* sending threads in this process (``sender = thread``): :meth:`take`,
  :meth:`put_back`, :meth:`done`;
* the feeder of the sender process (``sender = process``):
  :meth:`hand_over` a batch, then :meth:`acked` as the sender process
  acknowledges it, or :meth:`requeue_unacked` if it died.
"""

import collections
import json
import marshal
import threading
import time
from collections.abc import Callable

from oslo_serialization import jsonutils


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
    encoded (:func:`~vitrage_persistor.publish.senders.send_checked`), so
    the happy path encodes each event once, in oslo.messaging.
    """
    if isinstance(data, bytes):
        # our own process made it (or our parent, over a private pipe)
        event = marshal.loads(data)  # noqa: S302
    else:
        event = json.loads(data)
    if extra:
        event.update(extra)
    return event, len(data)


class PublisherStats:
    """Counters of one publisher; read them with :meth:`as_dict`.

    ``enqueued``: accepted by publish(); ``sent``: confirmed by the
    broker; ``dropped``: given up because the queue was full (per
    ``overflow_policy``); ``unserialisable``: refused at publish() because
    the event was not JSON-able; ``send_errors``: failed send attempts
    (each is retried) and other sender faults; ``abandoned``: still queued
    when stop() timed out.

    Every increment goes through :meth:`add`, under the counters' own
    lock, whichever thread makes it.
    """

    FIELDS = ('enqueued', 'sent', 'dropped', 'unserialisable',
              'send_errors', 'abandoned')

    def __init__(self):
        self._lock = threading.Lock()
        for name in self.FIELDS:
            setattr(self, name, 0)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def add_many(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                if count:
                    setattr(self, name, getattr(self, name) + count)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {name: getattr(self, name) for name in self.FIELDS}

    def after_fork(self) -> None:
        """A forked child may have copied the lock held: make a new one."""
        self._lock = threading.Lock()


class EventQueue:
    """Bounded queue plus what its consumer holds (in flight).

    ``max_in_flight`` bounds what :meth:`hand_over` gives out before
    acknowledgements; ``overflow_log(msg, *args)`` reports drops.
    """

    def __init__(self, hook: str, size: int, drop_oldest: bool,
                 max_in_flight: int, stats: PublisherStats,
                 overflow_log: Callable):
        self.hook = hook
        self.size = size
        self.drop_oldest = drop_oldest
        self.max_in_flight = max_in_flight
        self.stats = stats
        self._overflow_log = overflow_log
        self._lock = threading.Lock()
        # consumers wait on _has_work, flush() waits on _drained
        self._has_work = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._items = collections.deque()
        self._sequence = 0
        self._in_flight = 0
        self._unacked = collections.deque()   # handed over, in order
        self._idle = 0            # consumers waiting for work
        self._want_room = False   # the feeder waits for acknowledgements
        self._batch = 1           # the feeder's batch size
        self.stopping = False

    @property
    def sequence(self) -> int:
        """The last sequence given out."""
        return self._sequence

    # ------------------------------------------------------------ caller
    def put(self, data: bytes | str, extra: dict | None) -> bool:
        """Stamp and append; False if refused (stopping, or drop_newest)."""
        stats = self.stats
        with self._lock:
            if self.stopping:
                stats.add('dropped')
                return False
            if len(self._items) >= self.size:
                stats.add('dropped')
                if not self.drop_oldest:
                    self._overflow_log(
                        'vitrage-persistor %s hook: queue full (%d), '
                        'dropped the newest event; %d dropped so far',
                        self.hook, self.size, stats.dropped)
                    return False
                self._items.popleft()
                self._overflow_log(
                    'vitrage-persistor %s hook: queue full (%d), dropped '
                    'the oldest event; %d dropped so far',
                    self.hook, self.size, stats.dropped)
            self._sequence += 1
            self._items.append((time.time_ns(), self._sequence, data,
                                extra))
            stats.add('enqueued')
            if self._idle:
                self._has_work.notify()
        return True

    # -------------------------------------------- sending threads (thread)
    def take(self, count: int) -> list | None:
        """Up to ``count`` entries, waiting for one; None once stopped."""
        with self._lock:
            while not self._items and not self.stopping:
                self._idle += 1
                self._has_work.wait()
                self._idle -= 1
            if not self._items:
                return None
            count = min(count, len(self._items))
            items = [self._items.popleft() for _ in range(count)]
            self._in_flight += count
            return items

    def put_back(self, items: list) -> None:
        """Return taken entries to the front, for the next consumer."""
        with self._lock:
            self._items.extendleft(reversed(items))
            self._in_flight -= len(items)
            if self._idle:
                self._has_work.notify()

    def done(self, sent: int, refused: int, held: int) -> None:
        """``held`` taken entries are finished: ``sent`` and ``refused``."""
        self.stats.add_many(sent=sent, unserialisable=refused)
        with self._lock:
            self._in_flight -= held
            self._notify_drained()

    # -------------------------------------------- the feeder (process mode)
    def hand_over(self, batch: int, alive: Callable[[], bool],
                  linger: float) -> list | None:
        """The next batch for the sender process, in order.

        Waits for work and for room in the in-flight window. Returns None
        once stopped, ``[]`` when ``alive()`` turned false (the sender
        process died). A batch smaller than ``batch`` is given ``linger``
        seconds to grow first: fewer, larger pipe writes.
        """
        with self._lock:
            self._batch = batch
            # Wake-ups cost the caller GIL switches, so the feeder is
            # woken by put() only when it waits for work (_idle), and by
            # acknowledgements only when a whole batch fits again
            # (_want_room).
            while not self.stopping and alive():
                if not self._items:
                    self._idle += 1
                    self._has_work.wait(1.0)
                    self._idle -= 1
                elif self._room() < min(batch, len(self._items)):
                    self._want_room = True
                    self._has_work.wait(1.0)
                    self._want_room = False
                else:
                    break
            if self.stopping:
                return None
            if not alive():
                return []
            small = len(self._items) < batch
        if small:
            time.sleep(linger)
        with self._lock:
            count = min(batch, self._room(), len(self._items))
            items = [self._items.popleft() for _ in range(count)]
            self._in_flight += count
            self._unacked.extend(items)
            return items

    def _room(self) -> int:
        return self.max_in_flight - self._in_flight

    def acked(self, watermark: int | None, sent: int, errors: int,
              refused: int) -> None:
        """Everything handed over up to ``watermark`` is done."""
        self.stats.add_many(sent=sent, send_errors=errors,
                            unserialisable=refused)
        with self._lock:
            unacked = self._unacked
            if watermark is not None:
                while unacked and unacked[0][1] <= watermark:
                    unacked.popleft()
            self._in_flight = len(unacked)
            if self._want_room and self._room() >= min(
                    self._batch, len(self._items)):
                self._has_work.notify()
            self._notify_drained()

    def requeue_unacked(self) -> int:
        """Queue again what a dead sender process did not acknowledge."""
        with self._lock:
            items = list(self._unacked)
            self._unacked.clear()
            self._in_flight = 0
            self._items.extendleft(reversed(items))
            return len(items)

    def wake(self) -> None:
        """Wake the consumers to look at the world again."""
        with self._lock:
            self._has_work.notify_all()

    # ------------------------------------------------------------ control
    def _notify_drained(self) -> None:
        if not self._items and not self._in_flight:
            self._drained.notify_all()

    def pending(self) -> int:
        """Events queued or being sent right now."""
        with self._lock:
            return len(self._items) + self._in_flight

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued so far is done (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._items or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drained.wait(min(remaining, 0.5))
        return True

    def close(self) -> int:
        """Stop: drop what is left and wake every consumer.

        Returns the number of events abandoned (also counted).
        """
        with self._lock:
            self.stopping = True
            abandoned = len(self._items) + self._in_flight
            self._items.clear()
            self._unacked.clear()
            self._has_work.notify_all()
        if abandoned:
            self.stats.add('abandoned', abandoned)
        return abandoned
