"""A fixed-window request limit per key and minute, kept in the server's memory."""

from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, requests left this minute, seconds until the next)."""
        now = self._clock()
        window = int(now // 60)
        reset = max(1, int((window + 1) * 60 - now))
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            used = self._counts.get(key, 0)
            if used >= self.per_minute:
                return False, 0, reset
            self._counts[key] = used + 1
            return True, self.per_minute - used - 1, reset
