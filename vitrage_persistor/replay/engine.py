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

A snapshot may be incremental (a delta from its parent, see
``graph_json.ChangeTracker``); it is usable when the whole chain down to
a full snapshot is still stored, and it is loaded as that full snapshot
plus the chain's deltas. :meth:`Replayer.write_snapshot` writes deltas
and compacts: a full snapshot again when the deltas since the last one
would outweigh it (``[persistor] snapshot_delta_ratio``) or the chain is
``[persistor] snapshot_max_deltas`` long.
"""

import dataclasses
import datetime
import itertools
import queue
import threading
from collections.abc import Callable

from oslo_config import cfg
from oslo_log import log

from vitrage_persistor.replay import errors, graph_json
from vitrage_persistor.replay import processor as processor_mod
from vitrage_persistor.storage import records, snapshot_codec

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
    # what changed since ``snapshot_id`` (graph_at(track_changes=True))
    tracker: graph_json.ChangeTracker | None = None

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
                 processor_factory=processor_mod.VitrageProcessor,
                 keep_base: bool = False):
        """``keep_base``: keep the last snapshot graph built (see _Kept).

        For a long-lived replayer (the API) that answers many times: it
        costs one more graph in memory.
        """
        self.conf = conf
        self.store = store
        self.processor_factory = processor_factory
        self.keep_base = keep_base
        self._kept: _Kept | None = None
        # the chain's full snapshot of the last question the kept graph
        # could not answer, as [(id, max_event_id)]
        self._last_miss: list = []
        self._name = None
        # (snapshot id, max_event_id) -> largest event id up to which it
        # had no late event: later checks only read the events since
        self._clean_upto: dict[tuple[int, int], int] = {}
        # snapshots of another processor, said once each
        self._foreign_told: set[int] = set()
        # (Store.snapshot_signature(), list_snapshots()) of the last read
        self._metas: tuple | None = None

    def new_processor(self, document: dict | None = None,
                      built: tuple | None = None):
        try:
            # 'vitrage' is the only choice; a file still naming the
            # removed 'auto' or 'builtin' fails here, clearly
            self.conf.replay.processor  # noqa: B018
        except cfg.ConfigFileValueError as exc:
            raise errors.ProcessorUnavailable(
                '[replay] processor: %s' % exc) from None
        proc = (self.processor_factory(self.conf, built=built)
                if built is not None
                else self.processor_factory(self.conf, document))
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
        return list(itertools.islice(
            self._usable(until, until_time), limit))

    def snapshot_metas(self) -> list[dict]:
        """``Store.list_snapshots()``, read again only when it changed.

        Snapshot rows are written once and deleted, never updated, so
        the table's signature (rows, largest id, newest ``created_at``)
        tells whether the list read last is still the table's: a
        long-lived replayer (the API) then reads it once, not on every
        question. On SQLite every row of that list sits behind its
        snapshot's data, hundreds of MB over a long history.
        """
        signature = self.store.snapshot_signature()
        if self._metas is None or self._metas[0] != signature:
            self._metas = (signature, self.store.list_snapshots())
        return self._metas[1]

    def _usable(self, until, until_time, metas=None):
        if metas is None:
            metas = self.snapshot_metas()
        by_id = {m['id']: m for m in metas}
        for meta in sorted(metas, key=_covers, reverse=True):
            if meta['processor'] != self.processor_name:
                if meta['id'] not in self._foreign_told:
                    self._foreign_told.add(meta['id'])
                    LOG.info('snapshot %d skipped: made by %s, this is %s; '
                             'its events are replayed instead', meta['id'],
                             meta['processor'], self.processor_name)
                continue
            covers = _covers(meta)
            if until is not None and covers > until:
                continue
            if until_time is not None and (
                    covers.collector_timestamp > _naive_utc(until_time)):
                continue
            chain = chain_of(meta, by_id)
            if chain is None:
                LOG.info('snapshot %d skipped: a snapshot it is a delta '
                         'of is gone', meta['id'])
                continue
            if self._late(meta, covers):
                LOG.info('snapshot %d skipped: late events arrived after it',
                         meta['id'])
                continue
            meta = dict(meta, chain=chain)
            yield meta

    def _late(self, meta: dict, covers: records.OrderKey) -> bool:
        """Whether late events undermine the snapshot of ``meta``.

        Remembered per snapshot while it has none, so a long-lived
        replayer (the API, the standby) only reads the events stored
        since its last look. An event whose id was allocated before that
        look and that committed after it is not seen: the known limit of
        ``max_event_id`` (see the docs).
        """
        # with max_event_id: SQLite may reuse the id of a deleted row
        key = (meta['id'], meta['max_event_id'])
        after = max(meta['max_event_id'], self._clean_upto.get(key, 0))
        late, seen = self.store.late_events(covers, after)
        if late:
            self._clean_upto.pop(key, None)
            return True
        if len(self._clean_upto) > 10000:
            self._clean_upto.clear()
        self._clean_upto[key] = seen
        return False

    def load_snapshot(self, meta: dict) -> records.Snapshot | None:
        """The snapshot of ``meta`` with its chain's deltas, or None.

        The returned snapshot's ``graph`` is the chain's full document
        with ``deltas`` (what ``graph_json.load`` reads); None when a
        snapshot of the chain was deleted meanwhile.
        """
        chain = meta.get('chain')
        if chain is None:
            by_id = {m['id']: m for m in self.snapshot_metas()}
            chain = chain_of(by_id[meta['id']], by_id) if (
                meta['id'] in by_id) else None
            if chain is None:
                return None
        ids = [m['id'] for m in chain]
        snapshots = self.store.get_snapshots(ids)
        if [s.id for s in snapshots] != ids:
            return None
        base, target = snapshots[0], snapshots[-1]
        graph = dict(base.graph)
        if len(snapshots) > 1:
            graph['deltas'] = [s.graph for s in snapshots[1:]]
        return dataclasses.replace(target, graph=graph)

    def _from_kept(self, meta: dict) -> tuple | None:
        """``(snapshot, (graph, id cache))`` for ``meta``, or None.

        The graph is a clone of the kept one: the kept graph is that of
        the snapshot ``meta`` names or of one before it in its chain,
        then moved on by the deltas in between (decoded alone). A
        snapshot of another chain is loaded whole for this question
        alone, and kept only when the question before it was on that
        chain too: the clone costs about a third of a load, a price an
        operator stepping through an incident pays once, and a run of
        questions at unrelated times never. None when a snapshot of the
        chain was deleted meanwhile.
        """
        chain = meta.get('chain') or []
        wanted = [(m['id'], m['max_event_id']) for m in chain]
        kept = self._kept
        if kept is None or wanted[:len(kept.chain)] != kept.chain:
            again = self._last_miss == wanted[:1]
            self._last_miss = wanted[:1]
            if again:
                self._kept = None  # its memory, before the next is built
            snapshot = self.load_snapshot(meta)
            if snapshot is None:
                return None
            built = graph_json.load(snapshot.graph)
            if not again:
                return snapshot, built
            kept = _Kept(wanted, *built)
        else:
            more = [i for i, _ in wanted[len(kept.chain):]]
            deltas = self.store.get_snapshots(more) if more else []
            if [d.id for d in deltas] != more:
                return None
            for delta in deltas:
                graph_json.apply_delta(kept.graph, kept.id_cache,
                                       delta.graph)
            kept.chain = wanted
            snapshot = records.Snapshot(
                id=meta['id'], covers=_covers(meta),
                max_event_id=meta['max_event_id'],
                event_count=meta['event_count'],
                processor=meta['processor'], graph=None)
        self._kept = kept
        return snapshot, graph_json.clone(kept.graph, kept.id_cache)

    def _earliest(self, first: records.OrderKey | None, metas: list
                  ) -> tuple:
        """The earliest replayable point.

        That is the first event (order key ``first``), or the oldest
        snapshot of ``metas`` when the events before it have expired.
        """
        snaps = [m for m in metas
                 if m['processor'] == self.processor_name]
        oldest = min(snaps, key=_covers) if snaps else None
        if oldest is not None and (first is None or first > _covers(oldest)):
            return _covers(oldest), True
        if first is None:
            return None, False
        return first, False

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
        if snapshot is not None and snapshot.parent_id is not None:
            snapshot = self.load_snapshot({'id': snapshot.id})
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
                 max_event_id: int | None = None,
                 track_changes: bool = False) -> ReplayResult:
        """The graph after every event at or before a target.

        The target is ``at_time``, the event ``event_id`` or the order
        key ``until``; without any it is the newest event. Only events
        with an id up to ``max_event_id`` (default: the largest id when
        the replay starts) are read, so the result, and a snapshot made
        from it, hold exactly a known set of events. ``track_changes``
        follows what changes in the graph from then on, so that
        :meth:`write_snapshot` can store only that.
        """
        if max_event_id is None:
            max_event_id = self.store.max_event_id()
        metas = self.snapshot_metas()
        earliest, expired = self._earliest(self.store.first_order_key(),
                                           metas)
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

        snapshot = built = None
        if use_snapshots or expired:
            for meta in self._usable(until, until_time, metas):
                if self.keep_base:
                    snapshot, built = self._from_kept(meta) or (None, None)
                else:
                    snapshot = self.load_snapshot(meta)
                if snapshot is not None:
                    break
        if snapshot is None and expired:
            snapshot = self._expired_base(until, until_time)
            if snapshot is None:
                raise errors.BeforeHistory(target, 'the oldest snapshot')

        if built is not None:
            proc = self.new_processor(built=built)
        else:
            proc = self.new_processor(snapshot.graph if snapshot else None)
        tracker = None
        if track_changes:
            tracker = graph_json.ChangeTracker(
                proc.graph, proc.id_cache,
                snapshot.id if snapshot else None,
                self._chain_stats(snapshot.id) if snapshot else (0, 0, 0))
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
            max_event_id=max_event_id, target=target, tracker=tracker)

    def save_snapshot(self, result: ReplayResult) -> int | None:
        """Store ``result``'s graph as a snapshot; None if nothing new."""
        if result.last is None or (
                result.snapshot_id is not None
                and result.last == result.base):
            return None
        return self.write_snapshot(result.processor, result.tracker,
                                   result.last, result.max_event_id,
                                   result.event_count)

    def _chain_stats(self, snapshot_id: int) -> tuple[int, int, int]:
        """(deltas since the full snapshot, their bytes, its bytes)."""
        by_id = {m['id']: m for m in self.snapshot_metas()}
        chain = chain_of(by_id[snapshot_id], by_id) if (
            snapshot_id in by_id) else None
        if not chain:
            return (0, 0, 0)
        return (len(chain) - 1,
                sum(m['data_bytes'] or 0 for m in chain[1:]),
                chain[0]['data_bytes'] or 0)

    def write_snapshot(self, proc, tracker: graph_json.ChangeTracker | None,
                       covers: records.OrderKey, max_event_id: int,
                       event_count: int) -> int:
        """Store the graph of ``proc``, as a delta when that pays.

        A delta (the changes ``tracker`` saw since its snapshot) is
        written while the deltas since the last full snapshot stay within
        ``[persistor] snapshot_delta_ratio`` of its size and
        ``snapshot_max_deltas`` in number; otherwise the whole graph.
        So the bytes written follow what changed, and a ``graph_at``
        reads at most about (1 + ratio) full snapshots. ``tracker`` then
        follows the changes since this new snapshot.
        """
        conf = self.conf.persistor
        count, delta_bytes, base_bytes = (
            tracker.chain if tracker is not None else (0, 0, 0))
        graph = proc.graph
        vertices = graph.num_vertices()
        edges = (tracker.edge_count() if tracker is not None
                 else graph_json.edge_count(graph))
        data = parent = None
        if (tracker is not None and tracker.base_id is not None
                and base_bytes and count < conf.snapshot_max_deltas
                and conf.snapshot_delta_ratio > 0):
            delta = tracker.delta(proc.name)
            snapshot = records.Snapshot(
                covers=covers, max_event_id=max_event_id,
                event_count=event_count, processor=proc.name, graph=delta,
                format_version=snapshot_codec.DELTA,
                vertex_count=vertices, edge_count=edges,
                parent_id=tracker.base_id)
            data = snapshot_codec.encode(snapshot)
            if (delta_bytes + len(data)
                    <= conf.snapshot_delta_ratio * base_bytes):
                parent = tracker.base_id
            else:
                data = None
        if data is None:
            snapshot = records.Snapshot(
                covers=covers, max_event_id=max_event_id,
                event_count=event_count, processor=proc.name,
                graph=graph_json.dump_snapshot(graph, proc.id_cache,
                                               proc.name),
                vertex_count=vertices, edge_count=edges)
            data = snapshot_codec.encode(snapshot)
        snapshot_id = self.store.save_snapshot(snapshot, data)
        if tracker is not None:
            tracker.reset(snapshot_id, (0, 0, len(data)) if parent is None
                          else (count + 1, delta_bytes + len(data),
                                base_bytes))
        return snapshot_id


@dataclasses.dataclass
class _Kept:
    """The graph of a snapshot, kept by a long-lived replayer.

    ``chain`` is its snapshot chain as ``(id, max_event_id)`` pairs (the
    full snapshot first; the pair because SQLite may reuse a deleted
    row's id). A later ``graph_at`` on this chain or a longer one clones
    it, after applying the deltas it lacks, instead of decoding the
    chain and building the graph again.
    """

    chain: list
    graph: object
    id_cache: dict


def chain_of(meta: dict, by_id: dict) -> list[dict] | None:
    """``meta``'s chain: its full snapshot first, ``meta`` last.

    None when a snapshot of the chain is gone, or was made by another
    processor, or the chain loops (a broken table).
    """
    chain = [meta]
    while chain[-1].get('parent_id') is not None:
        parent = by_id.get(chain[-1]['parent_id'])
        if (parent is None or parent['processor'] != meta['processor']
                or len(chain) > len(by_id)):
            return None
        chain.append(parent)
    chain.reverse()
    return chain


def _covers(meta: dict) -> records.OrderKey:
    return records.OrderKey(meta['collector_timestamp'],
                            meta['last_publisher_id'], meta['last_sequence'],
                            meta['last_event_id'])
