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

"""The batch listener, with a guard in front of oslo.messaging's dispatcher.

Two things in oslo.messaging 18.x stop a queue for good when one message is
odd, and neither has a public switch:

* The batch dispatcher calls ``message.get('priority', '').lower()`` on
  every message of a batch before any endpoint runs. A ``null`` or integer
  priority raises for the whole batch, the server requeues the whole batch,
  and the same batch comes back forever. A string priority that no
  endpoint handles (``INFO`` on our ``sample`` queue, or a message with no
  priority at all) is acknowledged with no log line: the event vanishes.
  :class:`GuardedBatchDispatcher` screens each message first: a message
  whose priority is not ``sample`` becomes a quarantine row (reason
  ``bad_priority``) and the others go on to the endpoint as usual.

* The AMQP driver keeps the last 16 ``_unique_id`` values it acknowledged
  and silently skips a message that repeats one, without acking or
  rejecting it, so it stays unacknowledged until the connection closes. An
  ack that failed on a dropped connection is remembered all the same, so
  the redelivery after a broker restart is skipped too.
  :func:`disable_duplicate_cache` turns that cache off in the agent's
  process: the event table's unique ``message_id`` already makes a
  redelivery harmless, and every delivery is then acked or requeued.

No public API exists for either (``get_batch_notification_listener`` takes
no dispatcher, and the cache is a private class of the driver). The classes
used here are named in :data:`REQUIRED`; ``check_library()`` verifies them
when the agent starts and a unit test does the same, so an oslo.messaging
release that changes them fails loudly rather than quietly wedging again.
"""

from collections.abc import Callable, Sequence
from typing import Any

import oslo_messaging
from oslo_log import log
from oslo_messaging.notify import dispatcher as notify_dispatcher
from oslo_messaging.notify import listener as notify_listener

from vitrage_persistor import wire
from vitrage_persistor.storage import records

LOG = log.getLogger(__name__)

BAD_PRIORITY = 'bad_priority'

# What this module relies on, checked at start and by a unit test.
REQUIRED = (
    'oslo_messaging.notify.dispatcher.BatchNotificationDispatcher.dispatch',
    'oslo_messaging.notify.listener.BatchNotificationServer',
    'oslo_messaging._drivers.amqp._MsgIdCache.DUP_MSG_CHECK_SIZE',
)


class LibraryChanged(RuntimeError):
    """oslo.messaging no longer has what the guard relies on."""


def check_library() -> None:
    """Raise :class:`LibraryChanged` naming what is gone."""
    import importlib
    missing = []
    for path in REQUIRED:
        parts = path.split('.')
        for split in range(len(parts) - 1, 0, -1):
            try:
                obj: Any = importlib.import_module('.'.join(parts[:split]))
            except ImportError:
                continue
            try:
                for attr in parts[split:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(path)
            break
        else:
            missing.append(path)
    if missing:
        raise LibraryChanged(
            'oslo.messaging %s lacks %s, which vitrage-persistor\'s poison-'
            'message guard relies on; see vitrage_persistor/persistor/'
            'listener.py' % (_version(), ', '.join(missing)))


def _version() -> str:
    try:
        from importlib import metadata
        return metadata.version('oslo.messaging')
    except Exception:  # pragma: no cover - only for the message
        return '(unknown version)'


def disable_duplicate_cache() -> bool:
    """Make the AMQP driver pass every delivery on to the dispatcher.

    Called in the agent's worker before its listener exists; the cache is
    per listener and sized from this class attribute when it is built.
    Returns False (and logs why) when the driver no longer has it.
    """
    try:
        from oslo_messaging._drivers import amqp as rpc_amqp
        cache = rpc_amqp._MsgIdCache
    except (ImportError, AttributeError) as exc:
        LOG.warning('could not turn off oslo.messaging\'s duplicate-message '
                    'cache (%s): a repeated _unique_id may stay unacked '
                    'until the connection closes', exc)
        return False
    if not hasattr(cache, 'DUP_MSG_CHECK_SIZE'):
        LOG.warning('oslo.messaging\'s duplicate-message cache has no '
                    'DUP_MSG_CHECK_SIZE any more; a repeated _unique_id may '
                    'stay unacked until the connection closes')
        return False
    cache.DUP_MSG_CHECK_SIZE = 0
    return True


def _priority_problem(message: Any, wanted: str) -> str | None:
    """Why this raw message cannot be dispatched, or None."""
    if not isinstance(message, dict):
        return 'message is a %s, not a dict' % type(message).__name__
    priority = message.get('priority', '')
    if not isinstance(priority, str):
        return 'priority %r is a %s, not a string' % (
            priority, type(priority).__name__)
    if priority.lower() != wanted:
        return 'priority %r, but this queue carries only %r' % (
            priority, wanted)
    return None


class GuardedBatchDispatcher(notify_dispatcher.BatchNotificationDispatcher):
    """oslo.messaging's batch dispatcher, minus what can wedge a batch.

    ``quarantine(records)`` stores the screened-out messages; it returns
    True when they are committed (they are then acked) and False when the
    database failed (they are requeued with the rest of the refusals).
    """

    def __init__(self, endpoints: Sequence, quarantine: Callable,
                 serializer=None, priority: str = wire.PRIORITY):
        super().__init__(endpoints, serializer)
        self._quarantine = quarantine
        self._priority = priority

    def dispatch(self, incoming):
        good, bad, rows = [], [], []
        for item in incoming:
            message = getattr(item, 'message', None)
            problem = _priority_problem(message, self._priority)
            if problem is None:
                good.append(item)
                continue
            bad.append(item)
            rows.append(self.quarantine_record(message, problem))
        requeue = set()
        if rows and not self._quarantine(rows):
            requeue.update(bad)
        if good:
            requeue.update(super().dispatch(good))
        return requeue

    @staticmethod
    def quarantine_record(message: Any, problem: str
                          ) -> records.QuarantineRecord:
        from vitrage_persistor.persistor import quarantine
        fields = message if isinstance(message, dict) else {}
        return quarantine.record(
            BAD_PRIORITY, problem, raw=quarantine.json_raw(message),
            message_id=fields.get('message_id'),
            publisher_id=fields.get('publisher_id'),
            event_type=fields.get('event_type'), source='dispatcher')


def build(transport, targets, endpoints, quarantine: Callable,
          pool: str | None, batch_size: int, batch_timeout: float):
    """The batch listener the agent runs: requeue allowed, guard in front.

    It is what ``oslo_messaging.get_batch_notification_listener`` builds,
    with :class:`GuardedBatchDispatcher` in place of the stock dispatcher.
    No ``executor``: oslo.messaging picks its threading executor itself.
    """
    dispatcher = GuardedBatchDispatcher(endpoints, quarantine)
    server = notify_listener.BatchNotificationServer(
        transport, targets, dispatcher, allow_requeue=True, pool=pool,
        batch_size=batch_size, batch_timeout=batch_timeout)
    if not isinstance(server, oslo_messaging.MessageHandlingServer):
        raise LibraryChanged('BatchNotificationServer is no longer a '
                             'MessageHandlingServer')
    return server
