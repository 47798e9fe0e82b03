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

"""Logging that a burst of failures cannot turn into a flood."""

import time


class RateLimitedLog:
    """Log one warning per ``interval`` seconds, with the count suppressed."""

    def __init__(self, logger, interval: float):
        self.logger = logger
        self.interval = interval
        self._last = None
        self._suppressed = 0

    def __call__(self, msg: str, *args) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            self._suppressed += 1
            return
        suppressed, self._suppressed = self._suppressed, 0
        self._last = now
        fmt = '%s (%%d similar messages suppressed)' % msg
        self.logger.warning(fmt, *args, suppressed)
