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

"""``graph_at``: the entity graph after a given time or event.

Replay = the newest usable snapshot at or before the target, then every
stored event after it up to the target, in the documented total order
``(collector_timestamp, publisher_id, sequence, id)``, read as keyset
pages so memory does not grow with history.

A snapshot is *usable* when it was made by the same processor (Vitrage
version, datasources_values and types) and no late arrival undermines it:
an event stored after the snapshot was taken (id above its
``max_event_id``) whose order key is at or before what it covers. Such a
snapshot is skipped and an older one (or the start of history) is used,
so late arrivals are always applied in their place in the order.
"""

import dataclasses
import datetime
import itertools
import queue
import threading
from collections.abc import Callable

from oslo_config import cfg
from oslo_log import log

from vitrage_persistor.replay import errors
from vitrage_persistor.replay import processor as processor_mod
from vitrage_persistor.storage import records

LOG = log.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class ReplayResult:
    """A replayed graph and where it stands in the history."""

    processor: processor_mod.VitrageProcessor
    last: records.OrderKey | None
    snapshot_id: int | None
    base: records.OrderKey | None
    applied: int
    event_count: int
    max_event_id: int
    target: str

    @property
    def graph(self):
        return self.processor.graph


def _naive_utc(value: datetime.datetime) -> datetime.datetime:
    return records.utc_naive(value)


_DONE = object()


def prefetch(iterator, chunk_size: int, depth: int = 2):
    """Yield lists of ``chunk_size`` items read by a background thread.

    The database round trips and JSON decoding of the next pages overlap
    with the processor working on this one; at most ``depth`` chunks wait
    in memory, so memory stays bounded.
    """
    chunks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            while not stop.is_set():
                chunk = list(itertools.islice(iterator, chunk_size))
                if not chunk:
                    break
                chunks.put(chunk)
            chunks.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            chunks.put(exc)

    thread = threading.Thread(target=produce, name='replay-prefetch',
                              daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                chunks.get_nowait()
            except queue.Empty:
                thread.join(0.05)


class Replayer:
    """Rebuilds graphs from one store with one processor configuration."""

    def __init__(self, conf: cfg.ConfigOpts, store,
                 processor_factory=processor_mod.VitrageProcessor):
        self.conf = conf
        self.store = store
        self.processor_factory = processor_factory
        self._name = None

    def new_processor(self, document: dict | None = None):
        try:
            # 'vitrage' is the only choice; a file still naming the
            # removed 'auto' or 'builtin' fails here, clearly
            self.conf.replay.processor  # noqa: B018
        except cfg.ConfigFileValueError as exc:
            raise errors.ProcessorUnavailable(
                '[replay] processor: %s' % exc) from None
        proc = self.processor_factory(self.conf, document)
        self._name = proc.name
        return proc

    @property
    def processor_name(self) -> str:
        if self._name is None:
            self.new_processor()
        return self._name

    # -- snapshots -----------------------------------------------------

    def usable_snapshots(self, until: records.OrderKey | None = None,
                         until_time: datetime.datetime | None = None,
                         limit: int | None = None) -> list[dict]:
        """Snapshot metadata usable for a target, newest first.

        Candidates are checked for late arrivals newest first, and only
        until ``limit`` usable ones are found: one query each.
        """
        found = []
        metas = sorted(self.store.list_snapshots(), key=_covers,
                       reverse=True)
        for meta in metas:
            if limit is not None and len(found) >= limit:
                break
            if meta['processor'] != self.processor_name:
                continue
            covers = _covers(meta)
            if until is not None and covers > until:
                continue
            if until_time is not None and (
                    covers.collector_timestamp > _naive_utc(until_time)):
                continue
            if self.store.count_late_events(covers, meta['max_event_id']):
                LOG.info('snapshot %d skipped: late events arrived after it',
                         meta['id'])
                continue
            found.append(meta)
        return found

    def _earliest(self, first_event) -> tuple:
        """The earliest replayable point.

        That is the first event, or the oldest snapshot when the events
        before it have expired.
        """
        snaps = [m for m in self.store.list_snapshots()
                 if m['processor'] == self.processor_name]
        oldest = min(snaps, key=_covers) if snaps else None
        if oldest is not None and (
                first_event is None
                or first_event.order_key > _covers(oldest)):
            return _covers(oldest), True
        if first_event is None:
            return None, False
        return first_event.order_key, False

    def _expired_base(self, until, until_time):
        """The newest snapshot at or before the target, late or not.

        Only used when the events before every usable snapshot have
        expired: events that arrived after it but belong before it are
        older than the retention window and cannot be applied in their
        place any more, so they are left out (and logged).
        """
        snapshot = self.store.latest_snapshot(
            at_or_before=until, at_or_before_time=until_time,
            processor=self.processor_name)
        if snapshot is not None:
            LOG.warning('history before snapshot %d has expired; %d events '
                        'that arrived after it but belong before it are '
                        'left out', snapshot.id, self.store.count_late_events(
                            snapshot.covers, snapshot.max_event_id))
        return snapshot

    # -- replay --------------------------------------------------------

    def graph_at(self, at_time: datetime.datetime | None = None,
                 event_id: int | None = None,
                 use_snapshots: bool = True,
                 progress: Progress | None = None,
                 until: records.OrderKey | None = None,
                 max_event_id: int | None = None) -> ReplayResult:
        """The graph after every event at or before a target.

        The target is ``at_time``, the event ``event_id`` or the order
        key ``until``; without any it is the newest event. Only events
        with an id up to ``max_event_id`` (default: the largest id when
        the replay starts) are read, so the result, and a snapshot made
        from it, hold exactly a known set of events.
        """
        if max_event_id is None:
            max_event_id = self.store.max_event_id()
        first = self.store.first_event()
        earliest, expired = self._earliest(first)
        if earliest is None:
            raise errors.EmptyHistory()
        until_time = None
        target = 'the newest event'
        if until is not None:
            target = 'event %d' % until.id
        elif event_id is not None:
            event = self.store.get_event(event_id)
            if event is None:
                raise errors.UnknownEvent(event_id)
            until, target = event.order_key, 'event %d' % event_id
        elif at_time is not None:
            until_time = _naive_utc(at_time)
            target = until_time.isoformat(sep=' ')
        if until_time is not None and (
                until_time < earliest.collector_timestamp):
            raise errors.BeforeHistory(
                target, earliest.collector_timestamp.isoformat(sep=' '))
        if until is not None and expired and until < earliest:
            raise errors.BeforeHistory(target, 'the oldest snapshot')

        snapshot = None
        if use_snapshots or expired:
            for meta in self.usable_snapshots(until, until_time, limit=1):
                snapshot = self.store.get_snapshot(meta['id'])
        if snapshot is None and expired:
            snapshot = self._expired_base(until, until_time)
            if snapshot is None:
                raise errors.BeforeHistory(target, 'the oldest snapshot')

        proc = self.new_processor(snapshot.graph if snapshot else None)
        after = snapshot.covers if snapshot else None
        total = (self.store.count_events(after, until_time, until,
                                         until_id=max_event_id)
                 if progress else 0)
        last = after
        events = self.store.iter_events(
            after=after, until_time=until_time, until=until,
            page_size=self.conf.replay.page_size, until_id=max_event_id)
        done = 0
        chunk_size = min(500, self.conf.replay.page_size)
        for chunk in prefetch(events, chunk_size):
            # decoded from the rows for this replay only: no deep copy
            proc.apply(chunk, private_payloads=True)
            last = chunk[-1].order_key
            done += len(chunk)
            if progress:
                progress(done, total)
        LOG.debug('replayed %d events after snapshot %s', done,
                  snapshot.id if snapshot else None)
        return ReplayResult(
            processor=proc, last=last,
            snapshot_id=snapshot.id if snapshot else None,
            base=after, applied=done,
            event_count=(snapshot.event_count if snapshot else 0) + done,
            max_event_id=max_event_id, target=target)

    def save_snapshot(self, result: ReplayResult) -> int | None:
        """Store ``result``'s graph as a snapshot; None if nothing new."""
        if result.last is None or (
                result.snapshot_id is not None
                and result.last == result.base):
            return None
        document = result.processor.to_document()
        vertices, edges = len(document['vertices']), len(document['edges'])
        return self.store.save_snapshot(records.Snapshot(
            covers=result.last, max_event_id=result.max_event_id,
            event_count=result.event_count,
            processor=result.processor.name, graph=document,
            vertex_count=vertices, edge_count=edges))


def _covers(meta: dict) -> records.OrderKey:
    return records.OrderKey(meta['collector_timestamp'],
                            meta['last_publisher_id'], meta['last_sequence'],
                            meta['last_event_id'])
