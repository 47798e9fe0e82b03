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

"""Shared trace, oracle and store loading for functional replay tests."""

import random

from vitrage_persistor.replay import canonical, engine
from vitrage_persistor.tests.common import replay_base, trace
from vitrage_persistor.tests.functional import fixtures as func_fixtures

ROUNDS, SCALE = 320, 3
_CACHE: dict = {}


def long_trace() -> list[dict]:
    if 'trace' not in _CACHE:
        _CACHE['trace'] = trace.build_trace(rounds=ROUNDS, scale=SCALE)
    return _CACHE['trace']


def cut_points() -> list[int]:
    n = len(long_trace())
    # Even cuts end on the second event of a same-timestamp pair.
    return sorted({300, (n // 3) & ~1, (n // 2) & ~1, (4 * n // 5) & ~1,
                   n & ~1})


def live(conf) -> dict:
    """The oracle's canonical graphs at every cut point (computed once)."""
    if 'live' not in _CACHE:
        _CACHE['live'] = trace.live_graphs(conf, long_trace(), cut_points())
    return _CACHE['live']


class ReplayDBTestCase(func_fixtures.OpportunisticDB,
                       replay_base.ReplayTestCase):
    def setUp(self):
        super().setUp()
        self.replayer = engine.Replayer(self.conf, self.store)

    def store_trace(self, events=None, start=0, shuffle=True):
        """Store events in batches, shuffled unless told otherwise.

        Shuffled, the row ids do not follow the replay order.
        """
        recs = trace.to_records(events if events is not None
                                else long_trace(), start)
        batches = [recs[i:i + 400] for i in range(0, len(recs), 400)]
        if shuffle:
            random.Random(3).shuffle(batches)
        for batch in batches:
            self.store.add_batch(batch)
        return len(recs)

    def event_id_of(self, index: int) -> int:
        for event in self.store.iter_events():
            if event.sequence == index:
                return event.id
        raise AssertionError('no event %d' % index)

    def assertSameGraph(self, expected, result):
        got = canonical.canonical(result.graph, result.processor.id_cache)
        diffs = canonical.differences(expected, got)
        self.assertEqual([], diffs)
        self.assertEqual(expected, got)
