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

"""Shared identity between the driver hook and the collector hook.

A driver returns the very dict objects that Vitrage later hands to the
processor (``make_pickleable`` mutates and returns its input entities, and
driver_exec passes that list on). So when both hooks are on, the driver
hook registers each event it published here, and the collector hook skips
an event it finds here: each event is published exactly once.
"""

import collections
import threading


class PublishedRegistry:
    """Bounded set of events, by object identity.

    The registry keeps a reference to each event, so ``id()`` cannot be
    reused by another object while the entry exists. Entries that never
    reach the collector (a driver that raised after enriching) are evicted
    oldest first once ``size`` is reached.
    """

    def __init__(self, size: int):
        self.size = size
        self._items = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, event: dict) -> None:
        with self._lock:
            self._items[id(event)] = event
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def claim(self, event: dict) -> bool:
        """True (once) if the driver hook already published ``event``."""
        with self._lock:
            return self._items.pop(id(event), None) is event

    def __len__(self) -> int:
        return len(self._items)
