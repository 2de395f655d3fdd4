"""The history of every memory in PostgreSQL, shared by every process (the shared-state mode).

The same rows and methods as the SQLite :class:`memory_core.history.HistoryStore`: one
row per ADD / UPDATE / DELETE event, appended atomically, read back oldest first::

    history = PostgresHistoryStore(url="postgresql://memproxy:secret@db/memproxy")
    history.record([{"memory_id": pid, "tenant": "acme", "event": "ADD", "new_memory": "likes tea",
                     "created_at": "2026-01-01T00:00:00.000000Z"}])
    history.for_memory(pid, "acme")

Events are numbered by an identity column, so concurrent writers never read a MAX(seq)
and never collide. The table is ``memproxy_history`` (``migrate(pool, "history", ...)``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from memory_core.postgres import DatabaseError, connect, migrate, redact

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

COMPONENT = "history"

# Appended to, never edited (memory_core.postgres.migrate).
STEPS = [
    """CREATE TABLE memproxy_history (
        seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        memory_id   TEXT NOT NULL,
        tenant      TEXT NOT NULL,
        old_memory  TEXT,
        new_memory  TEXT,
        event       TEXT NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
        actor_id    TEXT,
        role        TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT,
        is_deleted  BOOLEAN NOT NULL DEFAULT false
    );
    CREATE INDEX memproxy_history_memory ON memproxy_history (tenant, memory_id, seq)""",
]

_INSERT = ("INSERT INTO memproxy_history (id, memory_id, tenant, old_memory, new_memory, event, actor_id, role,"
           " created_at, updated_at, is_deleted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
_READ = ["id", "memory_id", "old_memory", "new_memory", "event", "actor_id", "role", "created_at", "updated_at",
         "is_deleted"]


class PostgresHistoryStore:
    """:class:`memory_core.history.HistoryStore` in PostgreSQL; thread-safe (a pool).

    Give it a ``url`` (it opens and closes its own small pool) or a ``pool`` from
    :func:`memory_core.postgres.connect` (shared, left open).
    """

    def __init__(self, url: str | None = None, *, pool: ConnectionPool | None = None, pool_size: int = 4) -> None:
        if (url is None) == (pool is None):
            raise ValueError("PostgresHistoryStore needs exactly one of url or pool")
        import psycopg
        from psycopg_pool import PoolTimeout

        self._unavailable: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError,
                                                          PoolTimeout)
        self._where = redact(url if url is not None else getattr(pool, "conninfo", ""))
        self._own_pool = pool is None
        self._pool = pool if pool is not None else connect(url, max_size=pool_size)  # type: ignore[arg-type]
        try:
            with self._failures():
                migrate(self._pool, COMPONENT, STEPS)
        except BaseException:
            self.close()
            raise

    def record(self, events: list[dict[str, Any]]) -> None:
        """Append events atomically: each has memory_id, tenant, event, old_memory,
        new_memory, actor_id, role, created_at, updated_at."""
        if not events:
            return
        rows = [(uuid.uuid4().hex, *_fields(e)) for e in events]
        with self._transaction() as conn, conn.cursor() as cur:
            cur.executemany(_INSERT, rows)

    def import_events(self, events: list[dict[str, Any]]) -> None:
        """Append exported events (each with its ``id``) in the order given, skipping ids
        already recorded: an interrupted import can simply run again."""
        if not events:
            return
        rows = [(str(e["id"]), *_fields(e)) for e in events]
        with self._transaction() as conn, conn.cursor() as cur:
            cur.executemany(_INSERT + " ON CONFLICT (id) DO NOTHING", rows)

    def for_memory(self, memory_id: str, tenant: str) -> list[dict[str, Any]]:
        with self._failures(), self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(_READ)} FROM memproxy_history WHERE tenant = %s AND memory_id = %s ORDER BY seq",
                (_stored(tenant), memory_id)).fetchall()
        out = [dict(zip(_READ, r)) for r in rows]
        for r in out:
            r["old_memory"], r["new_memory"] = _loaded(r["old_memory"]), _loaded(r["new_memory"])
        return out

    def reset(self) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM memproxy_history")

    def close(self) -> None:
        if self._own_pool:
            self._pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[Connection[Any]]:
        with self._failures(), self._pool.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except self._unavailable as exc:
            raise DatabaseError(f"PostgreSQL at {self._where} failed: {exc}") from exc


def _fields(e: dict[str, Any]) -> tuple[Any, ...]:
    return (e["memory_id"], _stored(e["tenant"]), _stored(e.get("old_memory")), _stored(e.get("new_memory")),
            e["event"], e.get("actor_id"), e.get("role"), e["created_at"], e.get("updated_at"),
            bool(e["is_deleted"]) if e.get("is_deleted") is not None else e["event"] == "DELETE")


# PostgreSQL text cannot hold U+0000, which a memory's text may: such a text (or one that
# starts with the marker) is stored as the marker and its UTF-8 in hex, and read back.
_MARK = "\ue000"


def _stored(text: str | None) -> str | None:
    if text is None or ("\x00" not in text and not text.startswith(_MARK)):
        return text
    return _MARK + text.encode("utf-8").hex()


def _loaded(text: str | None) -> str | None:
    if text is None or not text.startswith(_MARK):
        return text
    try:
        return bytes.fromhex(text[1:]).decode("utf-8")
    except ValueError:
        return text


__all__ = ["PostgresHistoryStore"]
