"""Per-scope locks: adds to one subject run one at a time (so two racing adds of one
fact store it once), while different subjects proceed in parallel. A fixed pool of
striped locks keeps memory bounded however many users there are."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Hashable, Iterator


class ScopeLocks:
    def __init__(self, stripes: int = 256) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        lock = self._locks[hash(key) % len(self._locks)]
        with lock:
            yield
