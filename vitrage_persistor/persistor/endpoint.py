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

from vitrage_persistor.persistor import validation
from vitrage_persistor.storage import records

LOG = log.getLogger(__name__)

DB_REJECTED = 'db_rejected'

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
        self._backoff = backoff

    def sample(self, messages):
        events, quarantined = [], []
        for message in messages:
            for item in validation.classify_message(
                    message, self._max_payload_bytes):
                if isinstance(item, records.EventRecord):
                    events.append(item)
                else:
                    quarantined.append(item)
        try:
            try:
                result = self._store.add_batch(events, quarantined)
            except _ROW_ERRORS as exc:
                LOG.warning('batch of %d rejected by the database (%s); '
                            'writing its rows one by one to find the bad '
                            'ones', len(messages), exc)
                result, events, quarantined = self._isolate(events,
                                                            quarantined)
        except Exception as exc:
            delay = self._backoff.next_delay()
            LOG.error('could not store a batch of %d messages (%s: %s); '
                      'requeueing it to the broker after %.1fs (attempt '
                      '%d)', len(messages), type(exc).__name__, exc, delay,
                      self._backoff.failures)
            self._backoff.stop_event.wait(delay)
            self._stats.requeued(len(messages))
            return oslo_messaging.NotificationResult.REQUEUE
        if self._backoff.failures:
            LOG.info('database writes work again after %d failed attempts',
                     self._backoff.failures)
            self._backoff.reset()
        reasons = self._log_quarantine(quarantined)
        self._stats.committed(result, events, reasons)
        return None

    def _isolate(self, events, quarantined):
        """Store rows one at a time; quarantine those the DB refuses.

        Connection errors propagate (the whole batch is requeued); the
        rows already stored are then skipped as duplicates on redelivery.
        """
        stored = duplicates = q_stored = 0
        kept = []
        quarantined = list(quarantined)
        for event in events:
            try:
                res = self._store.add_batch([event])
            except _ROW_ERRORS as exc:
                quarantined.append(records.QuarantineRecord(
                    reason=DB_REJECTED, detail=str(exc)[:2000],
                    raw=validation.raw_text(event.payload_json),
                    message_id=event.message_id,
                    publisher_id=event.publisher_id,
                    event_type=event.event_type))
                continue
            kept.append(event)
            stored += res.stored
            duplicates += res.duplicates
        for item in quarantined:
            try:
                q_stored += self._store.add_batch([], [item]).quarantined
            except _ROW_ERRORS:
                LOG.exception('database refused even the quarantine row '
                              'of message %s; requeueing', item.message_id)
                raise
        return (records.BatchResult(stored=stored, duplicates=duplicates,
                                    quarantined=q_stored),
                kept, quarantined)

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
