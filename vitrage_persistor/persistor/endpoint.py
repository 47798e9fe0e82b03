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

"""The batch endpoint: classify, store in one transaction, ack or requeue.

oslo.messaging acknowledges every message of a batch whose callback returns
``None`` (and also one that *raises*: its dispatcher logs and requeues only
when told). So the endpoint returns ``None`` only after the batch is
committed, and :data:`oslo_messaging.NotificationResult.REQUEUE` when the
database failed, after a back-off sleep: the messages go back to the broker
and nothing is kept only in this process's memory.
"""

import collections
import threading

import oslo_messaging
import sqlalchemy.exc
from oslo_db import exception as db_exception
from oslo_log import log

from vitrage_persistor.persistor import quarantine, validation
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import records

LOG = log.getLogger(__name__)

DB_REJECTED = 'db_rejected'
INTERNAL_ERROR = 'internal_error'
CONFLICTING_DUPLICATE = storage_api.CONFLICTING_DUPLICATE

# Errors about the data of some row, not about the database being
# reachable: retrying the same batch would fail forever, so the rows are
# written one by one and the guilty one goes to quarantine.
_ROW_ERRORS = (db_exception.DBDataError, db_exception.DBReferenceError,
               db_exception.DBInvalidUnicodeParameter,
               db_exception.DBNonExistentTable,
               sqlalchemy.exc.DataError, sqlalchemy.exc.IntegrityError)


class Backoff:
    """Exponential pause between failed attempts, capped, interruptible."""

    def __init__(self, maximum: float, initial: float = 0.5,
                 stop_event: threading.Event | None = None):
        self.maximum = maximum
        self.initial = min(initial, maximum)
        self.failures = 0
        self.stop_event = stop_event or threading.Event()

    def next_delay(self) -> float:
        self.failures += 1
        return min(self.maximum,
                   self.initial * (2 ** min(self.failures - 1, 30)))

    def sleep(self) -> float:
        delay = self.next_delay()
        self.stop_event.wait(delay)
        return delay

    def reset(self) -> None:
        self.failures = 0


class PersistorEndpoint:
    """Implements only ``sample()``.

    oslo.messaging binds a listener to ``<topic>.<priority>`` for each
    priority method the endpoints define, so this endpoint consumes
    ``vitrage_persistor.sample`` and never ``vitrage_persistor.info``,
    which belongs to Vitrage's own alarm-history persistor.
    """

    def __init__(self, store, stats, max_payload_bytes: int,
                 backoff: Backoff):
        self._store = store
        self._stats = stats
        self._max_payload_bytes = max_payload_bytes
        self._effective_max: int | None = None
        self._backoff = backoff

    def _payload_limit(self) -> int:
        """``max_payload_bytes``, lowered to what the database can take.

        Asked of the database on the first batch (inside its error
        handling, so a database that is down at start only requeues).
        """
        if self._effective_max is None:
            db_max = self._store.max_payload_bytes()
            if db_max < self._max_payload_bytes:
                LOG.warning('[persistor] max_payload_bytes = %d is more than '
                            'one row can carry on this database (%d bytes, '
                            'from max_allowed_packet); larger payloads are '
                            'quarantined as oversized',
                            self._max_payload_bytes, db_max)
            self._effective_max = min(db_max, self._max_payload_bytes)
        return self._effective_max

    def _classify(self, messages, limit):
        events, quarantined = [], []
        for message in messages:
            try:
                rows = validation.classify_message(message, limit)
            except Exception as exc:
                # A bug of ours must not wedge the queue either: the
                # message is kept, with the error, for someone to look at.
                LOG.exception('could not classify a message; quarantining '
                              'it as %s', INTERNAL_ERROR)
                rows = [quarantine.record(
                    INTERNAL_ERROR, '%s: %s' % (type(exc).__name__, exc),
                    quarantine.json_raw(message))]
            for item in rows:
                if isinstance(item, records.EventRecord):
                    events.append(item)
                else:
                    quarantined.append(item)
        return events, quarantined

    def sample(self, messages):
        try:
            try:
                events, quarantined = self._classify(messages,
                                                     self._payload_limit())
                result = self._store.add_batch(events, quarantined)
            except _ROW_ERRORS as exc:
                LOG.warning('batch of %d rejected by the database (%s); '
                            'writing its rows one by one to find the bad '
                            'ones', len(messages), exc)
                result, events, quarantined = self._isolate(events,
                                                            quarantined)
        except Exception as exc:
            self._failed(len(messages), exc)
            return oslo_messaging.NotificationResult.REQUEUE
        self._succeeded()
        reasons = self._log_quarantine(quarantined)
        if result.conflicts:
            reasons[CONFLICTING_DUPLICATE] = (
                reasons.get(CONFLICTING_DUPLICATE, 0) + result.conflicts)
            LOG.warning('%d message(s) of this batch reused a stored '
                        'message_id with another payload; quarantined as '
                        '%s', result.conflicts, CONFLICTING_DUPLICATE)
        self._stats.committed(result, events, reasons)
        return None

    def store_quarantine(self, rows, source: str) -> bool:
        """Commit quarantine rows made outside :meth:`sample`.

        For the dispatcher guard and the dead-letter drain: True when they
        are stored (the messages may be acked), False after a back-off
        when the database failed (the messages go back to the broker).
        """
        try:
            try:
                result = self._store.add_batch([], rows)
            except _ROW_ERRORS as exc:
                LOG.warning('quarantine rows refused by the database (%s); '
                            'writing them one by one', exc)
                result, _, rows = self._isolate([], rows)
        except Exception as exc:
            self._failed(len(rows), exc)
            return False
        self._succeeded()
        reasons = self._log_quarantine(rows)
        self._stats.quarantined_outside(source, result, reasons)
        return True

    def _failed(self, n_messages: int, exc: Exception) -> None:
        delay = self._backoff.next_delay()
        LOG.error('could not store a batch of %d messages (%s: %s); '
                  'requeueing it to the broker after %.1fs (attempt '
                  '%d)', n_messages, type(exc).__name__, exc, delay,
                  self._backoff.failures)
        self._backoff.stop_event.wait(delay)
        self._stats.requeued(n_messages)

    def _succeeded(self) -> None:
        if self._backoff.failures:
            LOG.info('database writes work again after %d failed attempts',
                     self._backoff.failures)
            self._backoff.reset()

    def _isolate(self, events, quarantined):
        """Store rows one at a time; quarantine those the DB refuses.

        Connection errors propagate (the whole batch is requeued); the
        rows already stored are then skipped as duplicates on redelivery.
        A quarantine row the database refuses is replaced by a plain-ASCII
        one (:func:`_last_resort`), so no row of data can wedge the queue.
        """
        stored = duplicates = q_stored = conflicts = 0
        kept = []
        quarantined = list(quarantined)
        for event in events:
            try:
                res = self._store.add_batch([event])
            except _ROW_ERRORS as exc:
                quarantined.append(quarantine.record(
                    DB_REJECTED, str(exc), quarantine.json_raw(
                        event.payload_json),
                    message_id=event.message_id,
                    publisher_id=event.publisher_id,
                    event_type=event.event_type))
                continue
            kept.append(event)
            stored += res.stored
            duplicates += res.duplicates
            conflicts += res.conflicts
            q_stored += res.quarantined
        written = []
        for item in quarantined:
            try:
                q_stored += self._store.add_batch([], [item]).quarantined
            except _ROW_ERRORS as exc:
                LOG.warning('database refused the quarantine row of message '
                            '%s (%s); storing it in plain ASCII instead',
                            item.message_id, exc)
                item = _last_resort(item, exc)
                q_stored += self._store.add_batch([], [item]).quarantined
            written.append(item)
        return (records.BatchResult(stored=stored, duplicates=duplicates,
                                    quarantined=q_stored,
                                    conflicts=conflicts),
                kept, written)

    @staticmethod
    def _log_quarantine(quarantined) -> dict:
        """One WARNING per reason per batch, never one per message."""
        by_reason = collections.defaultdict(list)
        for item in quarantined:
            by_reason[item.reason].append(item)
        for reason, items in sorted(by_reason.items()):
            LOG.warning('quarantined %d message(s) of this batch as %s, '
                        'e.g. message_id %s: %s', len(items), reason,
                        items[0].message_id, items[0].detail)
        return {reason: len(items) for reason, items in by_reason.items()}


def _last_resort(item, exc) -> records.QuarantineRecord:
    """The same quarantine row with every text field in plain ASCII."""
    def ascii_text(value):
        return None if value is None else value.encode(
            'ascii', 'backslashreplace').decode('ascii')

    return records.QuarantineRecord(
        reason=item.reason,
        detail=ascii_text('%s [the database refused the first form of this '
                          'row: %s]' % (item.detail, exc))[:2000],
        raw=ascii_text(item.raw),
        message_id=quarantine.derived_id(ascii_text(item.message_id) or '',
                                         '!ascii')
        if item.message_id else None,
        publisher_id=ascii_text(item.publisher_id),
        event_type=ascii_text(item.event_type), source=item.source,
        raw_format=item.raw_format, text_escaped=True)
