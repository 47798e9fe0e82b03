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

"""The sender process: ``python -m vitrage_persistor.publish.child``.

Started by :class:`vitrage_persistor.publish.process.SenderProcess`, one
per hook and per vitrage-graph worker (``[persistor_hooks] sender =
process``). It turns the events its parent queued into AMQP messages and
gets the broker to confirm them, on a core of its own.

Protocol, on the child's stdin (parent to child) and stdout (child to
parent), as :class:`multiprocessing.connection.Connection` messages,
``marshal``-encoded to the child (both ends run the same interpreter) and
pickled back:

* ``('init', settings)`` once, then ``('events', [(stamp_ns, sequence,
  data, extra), ...])`` batches (queue entries, see
  :mod:`vitrage_persistor.publish.queue`), then ``('stop',)``;
* back: ``('ready',)`` once the transport is built; ``('ack', watermark,
  sent, send_errors, [(sequence, error), ...])``: every event up to
  ``watermark`` is done (sent, or listed as not JSON-able); ``('log',
  level, text)`` for the child's log records (the parent logs them where
  vitrage-graph logs).

The child holds at most the parent's in-flight window of events. On
``('stop',)`` it exits at once (the parent flushed first); on EOF (the
parent died) it keeps sending what it holds for ``flush_timeout`` seconds.
Each of its ``threads`` sending threads runs the one
:class:`~vitrage_persistor.publish.senders.SendLoop`. An event's
``message_id`` is derived from ``(publisher_id, sequence)``, so it is the
same on every retry and after a restart of the child, whatever bundle
carries it: the agent stores a resent event once.
"""

import collections
import logging
import marshal
import os
import sys
import threading
import time
from multiprocessing import connection as mp_connection

import oslo_messaging
from oslo_log import log

from vitrage_persistor.publish import logs, messaging, senders

LOG = log.getLogger(__name__)


class ProtocolError(Exception):
    """The parent sent something this child does not understand."""


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
        if kind != 'init':
            raise ProtocolError('expected init, got %r' % (kind,))
        if settings['nice']:
            os.nice(settings['nice'])
        root = logging.getLogger()
        root.handlers[:] = [_ForwardHandler(self.reply)]
        root.setLevel(logging.WARNING)
        self._error_log = logs.RateLimitedLog(LOG, settings['log_interval'])
        self.transport = messaging.transport_from_settings(
            settings['messaging'], settings['url'])
        self.reply(('ready',))
        target = oslo_messaging.Target(topic=settings['topic'])
        threads = [threading.Thread(
            target=senders.SendLoop(
                settings['publisher_id'], settings['event_type'],
                settings['events_per_message'],
                settings['max_message_bytes'], target,
                lambda: self.transport, settings['retry_interval_max'],
                self._stop, take=self._take, put_back=self._put_back,
                done=self._finished, failed=self._send_failed).run,
            daemon=True) for _ in range(settings['threads'])]
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
            if message[0] != 'events':
                raise ProtocolError('unexpected %r' % (message[0],))
            batch = message[1]
            with self._lock:
                self._held += len(batch)
                self._received.extend(item[1] for item in batch)
                self._pending.extend(batch)
                self._lock.notify_all()

    def _take(self, count: int) -> list | None:
        """The next items to bundle; None when the child stops."""
        with self._lock:
            while not self._pending and not self._stop.is_set():
                self._lock.wait()
            if self._stop.is_set():
                return None
            pending = self._pending
            return [pending.popleft() for _ in
                    range(min(count, len(pending)))]

    def _put_back(self, items: list) -> None:
        with self._lock:
            self._pending.extendleft(reversed(items))
            self._lock.notify()

    def _send_failed(self, sequences: list, exc: Exception) -> None:
        with self._lock:
            self._errors += 1
        self._error_log('vitrage-persistor sender process: sending events '
                        '%d-%d failed, will retry: %s', sequences[0],
                        sequences[-1], exc)

    def _finished(self, sent: list, refused: list, held: int) -> None:
        with self._lock:
            self._done.update(sent)
            self._done.update(sequence for sequence, _error in refused)
            self._sent += len(sent)
            self._refused.extend(refused)
            self._held -= held
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
    try:
        return Child(conn_in, conn_out).run()
    except ProtocolError as exc:
        print('vitrage-persistor sender process: %s' % exc, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
