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

"""The warm standby: a graph kept current by tailing the event table.

``vitrage-persistor-replay follow`` starts from ``graph_at`` (newest
snapshot + tail), then reads new rows by id and applies them, so a
standby vitrage-graph (or the API) can take over with the current graph
at once. It writes a snapshot every ``[persistor] snapshot_interval``
(events, or seconds with an ``s`` suffix) or ``snapshot_cpu_budget``
seconds of processing, whichever comes first (``snapshot_policy``), and
on SIGUSR1 (and when it stops) it dumps its current graph to ``[replay]
dump_path``.

Ids are allocated when a row is inserted, not when it commits, so a
reader tailing by id can see id 12 before id 11 commits. The follower
keeps a *gap window*: the ids from the oldest one it has not seen (and
has not waited ``[replay] gap_timeout`` seconds for) up to the last one
it read. It remembers the ids it applied inside the window, and at most
every :data:`GAP_CHECK_INTERVAL` seconds it counts the rows of the window
in one query; only when the count differs from its own does it read the
window's ids and fetch the new rows. The cost of a poll is therefore one
count over an index range, not a list of missing ids: on Galera, where
``auto_increment_increment`` is the number of nodes and most ids are
never used (an id burnt by a duplicate or a rollback never shows up
either), that list held two thirds of every id read in the last
``gap_timeout`` seconds, and was sent back to the database on every poll.

Events are applied in replay order within each poll. An event whose
order key is before one already applied (a late arrival, or a gap that
filled in) is still applied at once, as vitrage-graph itself would have
done on arrival; the graph is then marked *out of order*, and before the
next snapshot it is rebuilt from the previous snapshot in the documented
order, so stored snapshots always equal ``graph_at``.

Snapshots are incremental: the follower tracks what changed in its graph
since the snapshot it last loaded or wrote, and writes only that until a
full snapshot is due again (``Replayer.write_snapshot``).
"""

import collections
import datetime
import itertools
import json
import os
import signal
import threading
import time

from oslo_config import cfg
from oslo_log import log

from vitrage_persistor.replay import (
    engine,
    errors,
    graph_json,
    snapshot_policy,
)
from vitrage_persistor.storage import api as storage_api
from vitrage_persistor.storage import records

LOG = log.getLogger(__name__)

# Seconds between two checks of the gap window (a count over an id range);
# a row that commits late is applied at most this much later than if it
# had committed in id order.
GAP_CHECK_INTERVAL = 0.5

parse_interval = snapshot_policy.parse_interval


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Follower:
    """Keeps one graph current; see the module docstring."""

    def __init__(self, conf: cfg.ConfigOpts, replayer: engine.Replayer,
                 install_signals: bool = True):
        self.conf = conf
        self.replayer = replayer
        self.store = replayer.store
        self.policy = snapshot_policy.SnapshotPolicy.from_conf(conf)
        self.stop_event = threading.Event()
        self.dump_requested = threading.Event()
        self.install_signals = install_signals
        self.processor = None
        self.tracker: graph_json.ChangeTracker | None = None
        self.last_key: records.OrderKey | None = None
        self.last_id = 0
        self.event_count = 0
        # The gap window: every id <= floor is applied or given up on;
        # window_ids are the ids above it that were applied; marks are
        # (last_id, when it was read), to expire the window's floor.
        self.floor = 0
        self.window_ids: set[int] = set()
        self._window_order: collections.deque = collections.deque()
        self._marks: collections.deque = collections.deque()
        self._gap_checked_at = 0.0
        self.gaps_filled = 0
        self.out_of_order = False
        self.lags = collections.deque(maxlen=20000)
        self.applied = 0
        self.snapshots = 0
        # events read and not applied yet: the rest of a batch stopped at
        # the CPU budget, applied first by the next poll
        self._pending: list[records.StoredEvent] = []
        self._status_at = 0.0

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        max_id = self.store.max_event_id()
        try:
            result = self.replayer.graph_at(max_event_id=max_id,
                                            track_changes=True)
        except errors.EmptyHistory:
            # A standby may well start before the first event: wait.
            self.processor = self.replayer.new_processor()
            self.tracker = graph_json.ChangeTracker(
                self.processor.graph, self.processor.id_cache, None)
            self.last_id = self.floor = max_id
            LOG.info('standby starts on an empty event table')
            return
        self.processor = result.processor
        self.tracker = result.tracker
        self.last_key = result.last
        self.last_id = self.floor = max_id
        self.event_count = result.event_count
        # its CPU time is not known: the next snapshot comes by count
        self.policy.applied(result.applied)
        LOG.info('standby starts at event %d with %d events replayed '
                 'after snapshot %s', max_id, result.applied,
                 result.snapshot_id)

    def run(self, max_seconds: float | None = None) -> None:
        if self.install_signals:
            signal.signal(signal.SIGUSR1,
                          lambda *a: self.dump_requested.set())
            signal.signal(signal.SIGTERM, lambda *a: self.stop_event.set())
        if self.processor is None:
            self.start()
        deadline = None if max_seconds is None else (
            time.monotonic() + max_seconds)
        down_since = None
        try:
            while not self.stop_event.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    break
                if self.dump_requested.is_set():
                    self.dump_requested.clear()
                    self.dump()
                try:
                    applied = self.poll()
                    self.maybe_snapshot()
                except storage_api.UNAVAILABLE as exc:
                    if down_since is None:
                        down_since = time.monotonic()
                        LOG.warning('database unavailable; the standby '
                                    'keeps its graph at event %d and tries '
                                    'again every %ss: %s', self.last_id,
                                    self.conf.replay.poll_interval,
                                    str(exc).splitlines()[0])
                    self.stop_event.wait(self.conf.replay.poll_interval)
                    continue
                if down_since is not None:
                    LOG.warning('database back after %.0fs; the standby '
                                'goes on from event %d',
                                time.monotonic() - down_since, self.last_id)
                    down_since = None
                self.write_status()
                if not applied:
                    self.stop_event.wait(self.conf.replay.poll_interval)
        finally:
            self.dump()

    def stop(self) -> None:
        self.stop_event.set()

    # -- tailing -----------------------------------------------------------

    @property
    def open_gaps(self) -> int:
        """Ids in the gap window not seen yet (most never will be)."""
        return self.last_id - self.floor - len(self.window_ids)

    def poll(self) -> int:
        """Apply whatever is new; return how many events were applied.

        Every read comes before the first change to the follower's state,
        so a database error leaves it as it was, for the next poll.
        """
        batch, self._pending = self._pending, []
        if not batch:
            batch = self._read()
            if not batch:
                return 0
            if self.last_key is not None and (
                    batch[0].order_key < self.last_key):
                self.out_of_order = True
        cpu = time.thread_time()
        # in order, the events after a stop all come after the snapshot's
        # key: they wait for the next poll (out of order, the snapshot
        # replays up to the largest key applied, so all are applied now)
        stop = None if self.out_of_order else self._stop_at_budget(cpu)
        done = self.processor.apply(batch, private_payloads=True, stop=stop)
        self.policy.applied(done, time.thread_time() - cpu)
        batch, self._pending = batch[:done], batch[done:]
        wall = _utcnow()
        for event in batch:
            self.lags.append(
                (wall - event.collector_timestamp).total_seconds())
        if self.last_key is None or batch[-1].order_key > self.last_key:
            self.last_key = batch[-1].order_key
        self.applied += len(batch)
        self.event_count += len(batch)
        return len(batch)

    def _stop_at_budget(self, since: float):
        return lambda: self.policy.over_budget(time.thread_time() - since)

    def _read(self) -> list[records.StoredEvent]:
        """The new rows and the late ones of the gap window, in order."""
        # up to where the next snapshot is due, not a page past it
        size = self.policy.chunk(self.conf.replay.page_size)
        page = list(itertools.islice(self.store.iter_events_by_id(
            after_id=self.last_id, page_size=size), size))
        now = time.monotonic()
        filled = self._fill_gaps(now, page)
        for event in page:
            self.window_ids.add(event.id)
            self._window_order.append(event.id)
        for event in filled:
            self.window_ids.add(event.id)
        self.gaps_filled += len(filled)
        if page:
            self.last_id = page[-1].id
            self._marks.append((self.last_id, now))
        self._advance_floor(now)
        return sorted(page + filled, key=lambda e: e.order_key)

    def _fill_gaps(self, now: float, page: list
                   ) -> list[records.StoredEvent]:
        """Rows that committed late inside the window, not applied yet.

        ``page`` is what this poll read above ``last_id``: counted as
        seen, not applied yet.
        """
        last_id = page[-1].id if page else self.last_id
        seen = len(self.window_ids) + len(page)
        if last_id - self.floor == seen or \
                now - self._gap_checked_at < GAP_CHECK_INTERVAL:
            return []
        count = self.store.count_events_between(self.floor, last_id)
        if count == seen:
            self._gap_checked_at = now
            return []
        in_page = {event.id for event in page}
        new = [i for i in self.store.event_ids_between(self.floor, last_id)
               if i not in self.window_ids and i not in in_page]
        filled = self.store.get_events_by_ids(new)
        self._gap_checked_at = now
        return filled

    def _advance_floor(self, now: float) -> None:
        """Raise the floor past what was waited for long enough.

        Everything up to the ``last_id`` of a poll more than
        ``gap_timeout`` seconds ago is given up on; then the floor moves
        over the ids seen in a row above it.
        """
        timeout = self.conf.replay.gap_timeout
        floor = self.floor
        while self._marks and now - self._marks[0][1] > timeout:
            floor = max(floor, self._marks.popleft()[0])
        while floor + 1 in self.window_ids:
            floor += 1
        if floor == self.floor:
            return
        self.floor = floor
        order = self._window_order
        while order and order[0] <= floor:
            self.window_ids.discard(order.popleft())
        if self.window_ids and min(self.window_ids) <= floor:
            # rows filled in late are not in _window_order
            self.window_ids = {i for i in self.window_ids if i > floor}
        if not self.window_ids:
            self._window_order.clear()

    # -- snapshots, dumps, status -----------------------------------------

    def snapshot_due(self) -> bool:
        return self.policy.due()

    def maybe_snapshot(self, force: bool = False) -> int | None:
        if not (force or self.snapshot_due()) or self.last_key is None:
            return None
        if self.open_gaps:
            LOG.debug('snapshot postponed: %d event ids not seen yet',
                      self.open_gaps)
            return None
        if self.out_of_order:
            result = self.replayer.graph_at(until=self.last_key,
                                            max_event_id=self.last_id,
                                            track_changes=True)
            if self.tracker is not None:
                self.tracker.stop()
            self.processor, self.tracker = result.processor, result.tracker
            self.out_of_order = False
            LOG.info('graph rebuilt in replay order after late events '
                     '(%d events after snapshot %s)', result.applied,
                     result.snapshot_id)
        snapshot_id = self.replayer.write_snapshot(
            self.processor, self.tracker, self.last_key, self.last_id,
            self.event_count)
        self.snapshots += 1
        self.policy.reset()
        LOG.info('snapshot %d covers event %d', snapshot_id,
                 self.last_key.id)
        if self.conf.persistor.event_ttl:
            from vitrage_persistor.replay import retention
            retention.expire(self.conf, self.replayer)
        return snapshot_id

    def lag_stats(self) -> dict:
        lags = sorted(self.lags)
        if not lags:
            return {'p50': None, 'p99': None, 'max': None}

        def pick(q):
            return lags[min(len(lags) - 1, int(q * len(lags)))]
        return {'p50': pick(0.50), 'p99': pick(0.99), 'max': lags[-1]}

    def status(self) -> dict:
        return {
            'last_event_id': self.last_id,
            'last_collector_timestamp':
                self.last_key.collector_timestamp.isoformat()
                if self.last_key else None,
            'applied': self.applied, 'snapshots': self.snapshots,
            'pending_gaps': self.open_gaps,
            'gaps_filled': self.gaps_filled,
            'out_of_order': self.out_of_order,
            'lag_seconds': self.lag_stats(),
            'written_at': _utcnow().isoformat(),
        }

    def _write_json(self, path: str, document: dict) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = '%s.tmp.%d' % (path, os.getpid())
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(document, f, sort_keys=True, default=str)
        os.replace(tmp, path)

    def write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._status_at >= 1.0:
            self._status_at = now
            self._write_json(self.conf.replay.status_path, self.status())

    def dump(self) -> str | None:
        """Write the current graph (snapshot JSON form) for a failover."""
        if self.processor is None:
            return None
        # the status says every id up to last_id is in the graph: the
        # rest of a batch stopped at the CPU budget goes in first
        while self._pending:
            self.poll()
        document = self.processor.to_document()
        document['standby'] = self.status()
        path = self.conf.replay.dump_path
        self._write_json(path, document)
        LOG.info('current graph dumped to %s', path)
        return path
