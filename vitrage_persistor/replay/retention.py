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

"""Snapshot-aware expiry of old events (``[persistor] event_ttl``).

Every time inside the retention window ``[now - event_ttl, now]`` must
stay answerable. So expiry picks the *base*: the newest usable snapshot
(same processor, not undermined by late arrivals) that covers no event
after ``now - event_ttl``. Any time T in the window then replays from the
base or a newer snapshot plus events after it, so expiry deletes:

* the events the base holds (order key at or before what it covers and
  id at most its ``max_event_id``; late arrivals are not in it and stay);
* the snapshots older than the base, which nothing can use any more --
  except the chain an incremental snapshot that is kept (the base
  included) is a delta of: it is loaded through them.

Without such a snapshot nothing is deleted: take one first (the warm
standby does it every ``snapshot_interval``, or run
``vitrage-persistor-replay snapshot``).
"""

import dataclasses
import datetime

from oslo_config import cfg
from oslo_log import log

from vitrage_persistor.replay import engine

LOG = log.getLogger(__name__)


@dataclasses.dataclass
class ExpiryResult:
    cutoff: datetime.datetime | None
    base_snapshot: int | None
    deleted_events: int = 0
    deleted_snapshots: int = 0
    reason: str = ''


def expire(conf: cfg.ConfigOpts, replayer: engine.Replayer,
           now: datetime.datetime | None = None) -> ExpiryResult:
    ttl = conf.persistor.event_ttl
    if not ttl:
        return ExpiryResult(None, None, reason='[persistor] event_ttl is 0: '
                            'events are kept forever')
    if now is None:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    cutoff = now - datetime.timedelta(seconds=ttl)
    store = replayer.store
    usable = replayer.usable_snapshots(until_time=cutoff, limit=1)
    if not usable:
        LOG.warning('no snapshot at or before %s: nothing expired', cutoff)
        return ExpiryResult(cutoff, None, reason='no usable snapshot at or '
                            'before %s; take one first' % cutoff)
    base = usable[0]
    covers = engine._covers(base)
    events = store.delete_events_covered(covers, base['max_event_id'])
    metas = store.list_snapshots()
    by_id = {m['id']: m for m in metas}
    needed = set()
    for meta in metas:
        if engine._covers(meta) >= covers:
            for link in engine.chain_of(meta, by_id) or [meta]:
                needed.add(link['id'])
    older = [m['id'] for m in metas
             if engine._covers(m) < covers and m['id'] not in needed]
    snapshots = store.delete_snapshots(older)
    LOG.info('expired %d events and %d snapshots before snapshot %d (%s)',
             events, snapshots, base['id'], covers.collector_timestamp)
    return ExpiryResult(cutoff, base['id'], events, snapshots)
