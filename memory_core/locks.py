"""Per-scope locks: changes to one subject's memories run one at a time (so two racing
adds of one fact store it once, and an update racing a delete cannot bring the memory
back), while different subjects proceed in parallel. A fixed pool of striped locks keeps
memory bounded however many users there are.

:class:`ScopeLocks` serialises within one process (the embedded store has one).
:class:`SharedScopeLocks` adds a PostgreSQL advisory lock per scope, so the same holds
across every process on one database (the shared-state mode)::

    locks = SharedScopeLocks("postgresql://...")
    with locks.hold(("acme", "alice", None, None)):
        ...  # no other process changes alice's memories meanwhile
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from typing import Hashable, Iterator

from memory_core.postgres import DatabaseError

# pg_advisory_lock's first key for scope locks ("mems"); the second is the scope's hash.
_SCOPE_LOCK = 0x6D656D73


class ScopeLocks:
    def __init__(self, stripes: int = 256) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        lock = self._locks[hash(key) % len(self._locks)]
        with lock:
            yield

    def close(self) -> None:
        pass


class SharedScopeLocks(ScopeLocks):
    """The in-process lock, then a session advisory lock on a connection of a small pool
    of its own (held for the change, given back unlocked). Different scopes may share a
    32-bit hash: then they wait for each other, which is only slower."""

    def __init__(self, url: str, *, pool_size: int = 4, stripes: int = 256) -> None:
        super().__init__(stripes)
        from memory_core.postgres import unopened_pool

        self._url = url
        self._pool = unopened_pool(url, max_size=pool_size, min_size=0)
        self._opened = False
        self._open_lock = threading.Lock()

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        import psycopg

        with super().hold(key):
            self._open()
            try:
                connection = self._pool.connection()
                conn = connection.__enter__()
                conn.execute("SELECT pg_advisory_lock(%s, %s)", (_SCOPE_LOCK, _hash(key)))
            except psycopg.Error as exc:
                raise DatabaseError(f"cannot lock a memory scope in PostgreSQL: {exc}") from exc
            try:
                yield
            finally:
                try:  # a connection that cannot unlock is broken: the server drops its locks with it
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_SCOPE_LOCK, _hash(key)))
                finally:
                    connection.__exit__(None, None, None)

    def _open(self) -> None:
        if not self._opened:
            with self._open_lock:
                if not self._opened:
                    from memory_core.postgres import open_pool

                    open_pool(self._pool)
                    self._opened = True

    def close(self) -> None:
        self._pool.close()


def _hash(key: Hashable) -> int:
    """A stable signed 32-bit hash of a scope key (Python's own hash differs per process)."""
    digest = hashlib.blake2b(repr(key).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)
