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

"""When the warm standby writes its next snapshot.

A ``graph_at`` loads the newest snapshot before its target, then applies
the events in between through Vitrage's processor: what the standby
spent on those same events. So the standby writes a snapshot when any of
these is reached since the last one:

* ``[persistor] snapshot_interval`` events, or seconds with an ``s``
  suffix;
* ``[persistor] snapshot_cpu_budget`` seconds of the processor's CPU
  time. A replay then applies at most about that much processing after
  its snapshot, whatever the graph's size or the events' kind: at
  30,000 vertices a zone's snapshot event costs Vitrage 0.17 s, an
  instance's 0.1 ms.

:meth:`SnapshotPolicy.chunk` says how many events to apply next so that
a snapshot lands on the limit instead of a page later: the events left
in the interval, and those the budget left allows at the rate measured
so far.
"""

import math
import time


def parse_interval(text: str) -> tuple[int | None, float | None]:
    """``"10000"`` -> (10000 events, None); ``"300s"`` -> (None, 300.0)."""
    text = str(text).strip().lower()
    try:
        if text.endswith('s'):
            seconds = float(text[:-1])
            if seconds <= 0:
                raise ValueError(text)
            return None, seconds
        events = int(text)
        if events <= 0:
            raise ValueError(text)
        return events, None
    except ValueError:
        raise ValueError('bad [persistor] snapshot_interval %r: use a '
                         'number of events ("10000") or of seconds '
                         '("300s")' % text) from None


class SnapshotPolicy:
    """Counts what was applied since the last snapshot; says when."""

    def __init__(self, every_events: int | None,
                 every_seconds: float | None, cpu_budget: float = 0.0,
                 clock=time.monotonic):
        self.every_events = every_events
        self.every_seconds = every_seconds
        self.cpu_budget = cpu_budget
        self._clock = clock
        # CPU seconds per event over the last interval, for chunk()
        self.cost_per_event: float | None = None
        self.reset()

    @classmethod
    def from_conf(cls, conf) -> 'SnapshotPolicy':
        events, seconds = parse_interval(conf.persistor.snapshot_interval)
        return cls(events, seconds, conf.persistor.snapshot_cpu_budget)

    def reset(self) -> None:
        """A snapshot was written (or the graph loaded from one)."""
        if getattr(self, 'events', 0) and self.cpu_seconds > 0:
            self.cost_per_event = self.cpu_seconds / self.events
        self.events = 0
        self.cpu_seconds = 0.0
        self.started = self._clock()

    def applied(self, events: int, cpu_seconds: float = 0.0) -> None:
        self.events += events
        self.cpu_seconds += cpu_seconds

    def due(self) -> bool:
        if not self.events:
            return False
        if self.every_events is not None and (
                self.events >= self.every_events):
            return True
        if self.every_seconds is not None and (
                self._clock() - self.started >= self.every_seconds):
            return True
        return bool(self.cpu_budget) and self.cpu_seconds >= self.cpu_budget

    def chunk(self, page_size: int) -> int:
        """How many events to read and apply next (at least one).

        A limit already reached (a snapshot postponed, say while ids are
        missing) limits nothing: the next snapshot comes as soon as it
        can, and the standby goes on a page at a time meanwhile.
        """
        size = page_size
        if self.every_events is not None and self.events < self.every_events:
            size = min(size, self.every_events - self.events)
        if self.cpu_budget and self.cpu_seconds < self.cpu_budget:
            cost = (self.cpu_seconds / self.events if self.events
                    and self.cpu_seconds > 0 else self.cost_per_event)
            if cost:
                left = self.cpu_budget - self.cpu_seconds
                size = min(size, math.ceil(left / cost))
        return max(1, size)

    def over_budget(self, cpu_seconds: float) -> bool:
        """Whether ``cpu_seconds`` more would spend the CPU budget.

        For a caller that stops applying events there, so that a costly
        event is the last one before a snapshot rather than somewhere in
        the tail of the replays after it. False when the budget was
        already spent before (see :meth:`chunk`).
        """
        return (bool(self.cpu_budget)
                and self.cpu_seconds < self.cpu_budget
                <= self.cpu_seconds + cpu_seconds)
