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

"""Counters of the write path and the periodic INFO line that shows them.

Operators watch one line per ``[persistor] stats_interval``: what was
stored, what was a redelivery, what went to quarantine and why, how many
batches and requeues, and how far commits trail the collector clock.
"""

import collections
import threading

from oslo_log import log
from oslo_utils import timeutils

LOG = log.getLogger(__name__)


class Stats:
    """Thread-safe counters; :meth:`snapshot_and_reset` feeds the log."""

    def __init__(self):
        self._lock = threading.Lock()
        self.totals = collections.Counter()
        self.total_reasons = collections.Counter()
        self._reset_interval()

    def _reset_interval(self):
        self.interval = collections.Counter()
        self.quarantine_reasons = collections.Counter()
        self.lag_max = 0.0
        self.lag_sum = 0.0
        self.lag_n = 0

    def _add(self, **counts):
        for key, value in counts.items():
            self.interval[key] += value
            self.totals[key] += value

    def committed(self, result, events, reasons, committed_at=None) -> None:
        """Record one committed batch.

        ``events`` are the EventRecords of the batch: their
        ``collector_timestamp`` gives the lag to ``committed_at``.
        """
        now = committed_at or timeutils.utcnow()
        with self._lock:
            self._add(stored=result.stored, duplicates=result.duplicates,
                      quarantined=sum(reasons.values()), batches=1,
                      conflicting_duplicates=result.conflicts,
                      deadlock_retries=result.retries)
            self.quarantine_reasons.update(reasons)
            self.total_reasons.update(reasons)
            for event in events:
                lag = (now - event.collector_timestamp).total_seconds()
                self.lag_sum += lag
                self.lag_n += 1
                if lag > self.lag_max:
                    self.lag_max = lag

    def quarantined_outside(self, source: str, result, reasons: dict
                            ) -> None:
        """Rows stored by the dispatcher guard or the dead-letter drain."""
        with self._lock:
            n = sum(reasons.values())
            self._add(quarantined=n)
            if source == 'dead_letter':
                self._add(dead_lettered=n)
            self.quarantine_reasons.update(reasons)
            self.total_reasons.update(reasons)

    def requeued(self, n_messages: int) -> None:
        with self._lock:
            self._add(requeued_batches=1, requeued_messages=n_messages)

    def snapshot_and_reset(self) -> dict:
        with self._lock:
            snap = {
                'interval': dict(self.interval),
                'totals': dict(self.totals),
                'quarantine_reasons': dict(self.quarantine_reasons),
                'total_reasons': dict(self.total_reasons),
                'lag_avg': self.lag_sum / self.lag_n if self.lag_n else 0.0,
                'lag_max': self.lag_max,
            }
            self._reset_interval()
        return snap

    def report(self) -> dict:
        """The running totals, as an agent report stores them."""
        with self._lock:
            return {'totals': dict(self.totals),
                    'quarantine_reasons': dict(self.total_reasons)}

    def log_line(self) -> dict:
        """Log the interval's line; return the snapshot it showed."""
        snap = self.snapshot_and_reset()
        iv, tot = snap['interval'], snap['totals']
        reasons = ', '.join('%s=%d' % kv for kv in
                            sorted(snap['quarantine_reasons'].items()))
        LOG.info('persistor stats: stored %d (total %d), duplicates %d '
                 '(redeliveries), quarantined %d%s (total %d), '
                 'dead-lettered %d, conflicting duplicates %d, batches %d, '
                 'requeued %d batches, deadlock retries %d, commit lag avg '
                 '%.3fs max %.3fs',
                 iv.get('stored', 0), tot.get('stored', 0),
                 iv.get('duplicates', 0), iv.get('quarantined', 0),
                 ' [%s]' % reasons if reasons else '',
                 tot.get('quarantined', 0), iv.get('dead_lettered', 0),
                 iv.get('conflicting_duplicates', 0), iv.get('batches', 0),
                 iv.get('requeued_batches', 0),
                 iv.get('deadlock_retries', 0), snap['lag_avg'],
                 snap['lag_max'])
        return snap


class Reporter:
    """A daemon thread that logs :class:`Stats` every ``interval`` s.

    With ``publish``, it also hands the running totals to that callable
    (the agent stores them in ``agent_report`` for ``/v1/status``); a
    failure there is logged and never stops the reporting.
    """

    def __init__(self, stats: Stats, interval: float, publish=None):
        self._stats = stats
        self._interval = interval
        self._publish = publish
        self._stop = threading.Event()
        self._thread = None

    def start(self) -> None:
        if self._interval <= 0:
            return
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='persistor-stats')
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self._interval):
            self.report()

    def report(self) -> None:
        self._stats.log_line()
        if self._publish is None:
            return
        try:
            self._publish(self._stats.report())
        except Exception as exc:
            LOG.warning('could not store this agent\'s counters (%s: %s)',
                        type(exc).__name__, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
