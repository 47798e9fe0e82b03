#!/usr/bin/env python3
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

"""Benchmark: the standby's gap handling with Galera's interleaved ids.

A writer inserts ``--rate`` events/s numbered as one node of a three-node
Galera cluster numbers them (1, 4, 7, ...: two ids in three never used)
into an event table of its own, while a follower tails it with
``poll_interval`` 0.1 s and ``gap_timeout`` 30 s. It prints the time a
poll spends in the database, and how many ids it keeps, once the window
is full (after ``gap_timeout``), for:

* ``id list``: the previous follower, which remembered every missing id
  and asked for all of them by id on every poll (its code is copied here);
* ``window``: :class:`vitrage_persistor.replay.follow.Follower`, which
  counts the rows of its id window at most every 0.5 s.

The graph is left out (a stand-in processor applies nothing): what is
measured is the database work of tailing. Usage::

    python tools/bench/follow_gaps.py [--rate 1000] [--seconds 45] \
        [--db postgresql+psycopg2://postgres@127.0.0.1/postgres]
"""

import argparse
import itertools
import statistics
import sys
import threading
import time
import uuid

import sqlalchemy as sa
from oslo_utils import timeutils

from vitrage_persistor import service
from vitrage_persistor.replay import follow
from vitrage_persistor.storage import api, event_blocks, migration
from vitrage_persistor.tests.common import records as test_records


class NullProcessor:
    def apply(self, events, private_payloads=False, stop=None):
        return len(events)


class NullReplayer:
    def __init__(self, store):
        self.store = store


class IdListFollower(follow.Follower):
    """The follower's poll before the gap window (main at c0b2133)."""

    def poll(self):
        size = self.conf.replay.page_size
        page = list(itertools.islice(self.store.iter_events_by_id(
            after_id=self.last_id, page_size=size), size))
        now = time.monotonic()
        expected = self.last_id + 1
        for event in page:
            for missing in range(expected, event.id):
                self.id_gaps[missing] = now
            expected = event.id + 1
        if page:
            self.last_id = page[-1].id
        filled = []
        if self.id_gaps:
            with self.store._reader() as conn:  # one IN list, as it was
                filled = [api._stored_event(r) for r in conn.execute(
                    sa.select(api.EVENT).where(api.EVENT.c.id.in_(
                        sorted(self.id_gaps))))]
            for event in filled:
                self.id_gaps.pop(event.id, None)
            timeout = self.conf.replay.gap_timeout
            for gap, seen in list(self.id_gaps.items()):
                if now - seen > timeout:
                    del self.id_gaps[gap]
        return len(page) + len(filled)

    @property
    def kept(self):
        return len(self.id_gaps)


class WindowFollower(follow.Follower):
    @property
    def kept(self):
        return len(self.window_ids) + len(self._marks)


def make_conf(url, gap_timeout):
    conf = service.make_conf()
    conf([], project='vitrage-persistor', default_config_files=[])
    conf.set_override('connection', url, group='database')
    conf.set_override('gap_timeout', gap_timeout, group='replay')
    conf.set_override('poll_interval', 0.1, group='replay')
    conf.set_override('page_size', 2000, group='replay')
    return conf


def measure(cls, conf, store, rate, seconds):
    with store.engine.begin() as conn:
        conn.execute(api.EVENT.delete())
    follower = cls(conf, NullReplayer(store), install_signals=False)
    follower.id_gaps = {}
    follower.processor = NullProcessor()
    stop = threading.Event()
    sequence = itertools.count()

    def write():
        next_at = time.monotonic()
        step = 0.1
        while not stop.is_set():
            rows = []
            now = timeutils.utcnow()
            for _ in range(int(rate * step)):
                i = next(sequence)
                rows.append(dict(api._event_row(
                    test_records.make_event(i), now), id=1 + 3 * i))
            with store.engine.begin() as conn:
                conn.execute(api.EVENT.insert(), rows)
                event_blocks.note(conn, 'bench', [
                    (r['id'], r['collector_timestamp']) for r in rows])
            next_at += step
            stop.wait(max(0, next_at - time.monotonic()))
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    t0 = time.monotonic()
    samples = []
    while time.monotonic() - t0 < seconds:
        start = time.monotonic()
        follower.poll()
        spent = time.monotonic() - start
        if start - t0 > conf.replay.gap_timeout + 2:
            samples.append((spent, follower.kept))
        time.sleep(max(0, conf.replay.poll_interval - spent))
    stop.set()
    writer.join(10)
    times = sorted(s for s, _ in samples)
    return {'polls': len(times),
            'mean_ms': 1000 * statistics.fmean(times),
            'p99_ms': 1000 * times[int(0.99 * (len(times) - 1))],
            'kept': max(k for _, k in samples),
            'behind': next(sequence) * 3 - follower.last_id}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rate', type=int, default=1000)
    ap.add_argument('--seconds', type=float, default=45)
    ap.add_argument('--gap-timeout', type=float, default=30)
    ap.add_argument('--db', default='postgresql+psycopg2://postgres@'
                    '127.0.0.1/postgres',
                    help='a server URL; a database of its own is made there')
    args = ap.parse_args()
    server = sa.engine.make_url(args.db)
    name = 'vp_bench_gaps_%s' % uuid.uuid4().hex[:8]
    admin = sa.create_engine(server, isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.exec_driver_sql('CREATE DATABASE %s' % name)
    try:
        conf = make_conf(server.set(database=name).render_as_string(
            hide_password=False), args.gap_timeout)
        store = api.Store(conf)
        migration.upgrade(store)
        results = {label: measure(cls, conf, store, args.rate, args.seconds)
                   for label, cls in (('id list', IdListFollower),
                                      ('window', WindowFollower))}
        store.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE %s' % name)
        admin.dispose()
    print('%d ev/s numbered 1, 4, 7, ... on %s, gap_timeout %g s, poll '
          'every 0.1 s; polls after the window filled:'
          % (args.rate, server.get_backend_name(), args.gap_timeout))
    for label, r in results.items():
        print('  %-8s %4d polls, %7.1f ms mean, %7.1f ms p99 per poll, '
              '%6d ids kept, %5d ids behind the writer at the end'
              % (label, r['polls'], r['mean_ms'], r['p99_ms'], r['kept'],
                 r['behind']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
