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

"""``sender = process``: feed the queue to a sender process of its own.

Why a process: kombu and oslo.messaging spend about as much Python time
per message as Vitrage's processor spends per event. In threads of
vitrage-graph that time is taken from the processor under the GIL (it made
Vitrage 14 % slower); in a process of its own it runs on another core.

:class:`ProcessSender` adds one feeder thread to the caller's process: it
hands the queue to the sender process in batches
(:meth:`~vitrage_persistor.publish.queue.EventQueue.hand_over`), holding
at most the queue's in-flight window unacknowledged, and starts a new
sender process, with back-off, when one dies; what the dead one had not
acknowledged is queued again. :class:`SenderProcess` is one ``python -m
vitrage_persistor.publish.child`` and its pipes, with a reader thread for
its acknowledgements and log records. The protocol is described in
:mod:`vitrage_persistor.publish.child`.
"""

import fcntl
import marshal
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing import connection as mp_connection

from oslo_log import log

from vitrage_persistor.publish import queue as queue_mod

LOG = log.getLogger(__name__)

CHILD_MODULE = 'vitrage_persistor.publish.child'

# Events per pipe write, and how long the feeder lets a batch grow after
# the first event arrives (fewer, larger writes).
BATCH_SIZE = 500
BATCH_LINGER = 0.05
_F_SETPIPE_SZ = getattr(fcntl, 'F_SETPIPE_SZ', 1031)
# Events handed to the sender process and not yet acknowledged, at most.
MAX_IN_FLIGHT = 2000


class SenderProcess:
    """One sender process and its two pipes.

    ``on_ack(watermark, sent, errors, refused)`` is called for each
    acknowledgement, ``on_ready()`` once the process has built its
    transport, ``on_exit()`` once the process is gone (or its pipe
    broken); all from the reader thread.
    """

    def __init__(self, settings: dict, name: str, on_ack: Callable,
                 on_ready: Callable, on_exit: Callable):
        self._on_ack = on_ack
        self._on_ready = on_ready
        self._on_exit = on_exit
        self.proc = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, '-m', CHILD_MODULE],
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
            target=self._read, daemon=True, name='persistor-%s-acks' % name)
        self._reader.start()

    def is_alive(self) -> bool:
        return self.alive

    @property
    def pid(self) -> int:
        return self.proc.pid

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
        self.alive = False
        self._on_exit()

    def _read(self) -> None:
        while True:
            try:
                message = self._from_child.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == 'ack':
                self._on_ack(*message[1:])
            elif kind == 'ready':
                self._on_ready()
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


class ProcessSender:
    """The feeder thread and the current sender process of a publisher."""

    def __init__(self, publisher, queue: queue_mod.EventQueue,
                 settings: Callable[[], dict]):
        self.publisher = publisher
        self.queue = queue
        self._settings = settings
        self.batch = max(1, min(BATCH_SIZE, queue.max_in_flight // 4))
        self.child: SenderProcess | None = None
        self._child_lock = threading.Lock()
        self._ready = threading.Event()   # a sender process is connected
        self._thread = None
        self.stop_event = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._feed, daemon=True,
            name='persistor-%s-feeder' % self.publisher.hook)
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def _feed(self) -> None:
        """Hand queued events to the sender process, in batches.

        The only thread this mode adds to the caller's process besides the
        acknowledgement reader; both sleep in the kernel between batches.
        """
        backoff = 0.0
        retry_max = self.publisher.retry_max
        while not self.queue.stopping:
            child = self.child
            if child is None or not child.alive:
                if child is not None:
                    child.stop(1)
                    self._child_died(child)
                    backoff = min(max(backoff * 2, 0.5), retry_max)
                    if self.stop_event.wait(backoff):
                        return
                try:
                    child = self._new_child()
                except Exception as exc:
                    self.publisher.log_sender_fault(
                        'cannot start the sender process: %s', exc)
                    backoff = min(max(backoff * 2, 0.5), retry_max)
                    if self.stop_event.wait(backoff):
                        return
                    continue
            batch = self.queue.hand_over(self.batch, child.is_alive,
                                         BATCH_LINGER)
            if batch is None:
                return
            if not batch or not child.send(('events', batch)):
                continue   # the next round sees the dead child
            backoff = 0.0

    def _new_child(self) -> SenderProcess:
        child = SenderProcess(self._settings(), self.publisher.hook,
                              on_ack=self._acked, on_ready=self._ready.set,
                              on_exit=self.queue.wake)
        with self._child_lock:
            self.child = child
        return child

    def _child_died(self, child: SenderProcess) -> None:
        with self._child_lock:
            if self.child is child:
                self.child = None
        requeued = self.queue.requeue_unacked()
        self.publisher.stats.add('send_errors')
        LOG.error('vitrage-persistor %s hook: the sender process exited '
                  '(%s); %d unacknowledged events queued again, starting '
                  'a new one', self.publisher.hook, child.returncode(),
                  requeued)

    def _acked(self, watermark: int | None, sent: int, errors: int,
               refused: list) -> None:
        self.queue.acked(watermark, sent, errors, len(refused))
        for sequence, error in refused:
            self.publisher.log_refused(sequence, error)

    def stop(self, flushed: bool) -> None:
        self.stop_event.set()
        self.queue.wake()
        if self._thread is not None:
            self._thread.join(0.5)
        with self._child_lock:
            child = self.child
        if child is not None:
            child.stop()

    def forget(self) -> None:
        """In a forked process: the sender process is the parent's."""
        if self.child is not None:
            self.child.forget()
