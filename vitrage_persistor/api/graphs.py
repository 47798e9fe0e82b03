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

"""Replayed graphs for the API, a few kept per process.

An operator asking Vitrage's questions at one time sends several requests
for it (``topology show``, then ``alarm list``, then ``rca show``), so the
last few graphs are kept, keyed by the target *and* the largest event id
at the time of the request: a late event stored since then makes a new
key, so a kept graph is never stale. Replays run one at a time per
process (the processor holds a process-wide lock anyway).
"""

import collections
import datetime
import threading

import webob.exc
from oslo_config import cfg

from vitrage_persistor.replay import engine, errors

_KEPT = 4


class GraphCache:
    def __init__(self, conf: cfg.ConfigOpts, store, kept: int = _KEPT):
        self.replayer = engine.Replayer(
            conf, store, keep_base=conf.api.keep_snapshot_graph)
        self.store = store
        self.kept = kept
        self._lock = threading.Lock()
        self._graphs: collections.OrderedDict = collections.OrderedDict()

    def replay(self, parameter: str, at: datetime.datetime | None = None,
               event_id: int | None = None) -> engine.ReplayResult:
        """The graph at a time or event; errors name ``parameter``."""
        with self._lock:
            max_id = self.store.max_event_id()
            key = (at, event_id, max_id)
            result = self._graphs.get(key)
            if result is not None:
                self._graphs.move_to_end(key)
                return result
            try:
                result = self.replayer.graph_at(
                    at_time=at, event_id=event_id, max_event_id=max_id)
            except errors.EmptyHistory as exc:
                raise webob.exc.HTTPNotFound(detail=str(exc)) from None
            except (errors.BeforeHistory, errors.UnknownEvent) as exc:
                raise webob.exc.HTTPNotFound(
                    detail='%s: %s' % (parameter, exc)) from None
            except errors.ProcessorUnavailable as exc:
                raise webob.exc.HTTPServiceUnavailable(
                    detail='replay is not available here: %s'
                    % exc) from None
            self._graphs[key] = result
            while len(self._graphs) > self.kept:
                self._graphs.popitem(last=False)
            return result
