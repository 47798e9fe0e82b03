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
