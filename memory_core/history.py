"""The history of every memory: one SQLite row per ADD / UPDATE / DELETE event.

WAL mode and a busy timeout, so readers never block the writer and concurrent
processes wait instead of failing with "database is locked". In the shared-state mode
(``MemoryConfig.database_url``) the same rows live in PostgreSQL instead
(:mod:`memory_core.history_postgres`); :func:`open_history` picks one.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memory_core.config import MemoryConfig

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id          TEXT PRIMARY KEY,
    memory_id   TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    old_memory  TEXT,
    new_memory  TEXT,
    event       TEXT NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
    actor_id    TEXT,
    role        TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT,
    is_deleted  INTEGER NOT NULL DEFAULT 0,
    seq         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS history_memory ON history (tenant, memory_id, seq);
-- record() numbers events with MAX(seq) + 1: without this index, a scan of the whole table
-- per write (27 ms at 30k events, 240 ms at 300k on 2 cores).
CREATE INDEX IF NOT EXISTS history_seq ON history (seq);
"""


class HistoryStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                     timeout=30.0)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    def record(self, events: list[dict[str, Any]]) -> None:
        """Append events atomically: each has memory_id, tenant, event, old_memory,
        new_memory, actor_id, role, created_at, updated_at."""
        if not events:
            return
        rows = [
            (
                uuid.uuid4().hex, e["memory_id"], e["tenant"], e.get("old_memory"),
                e.get("new_memory"), e["event"], e.get("actor_id"), e.get("role"),
                e["created_at"], e.get("updated_at"), 1 if e["event"] == "DELETE" else 0,
            )
            for e in events
        ]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                seq = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM history").fetchone()[0]
                self._conn.executemany(
                    "INSERT INTO history (id, memory_id, tenant, old_memory, new_memory, event,"
                    " actor_id, role, created_at, updated_at, is_deleted, seq)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [row + (seq + i + 1,) for i, row in enumerate(rows)],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def import_events(self, events: list[dict[str, Any]]) -> None:
        """Append exported events (each with its ``id``) in the order given, skipping ids
        already recorded: an interrupted import can simply run again."""
        if not events:
            return
        rows = [
            (
                str(e["id"]), e["memory_id"], e["tenant"], e.get("old_memory"), e.get("new_memory"), e["event"],
                e.get("actor_id"), e.get("role"), e["created_at"], e.get("updated_at"),
                int(bool(e["is_deleted"])) if e.get("is_deleted") is not None else int(e["event"] == "DELETE"),
            )
            for e in events
        ]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                seq = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM history").fetchone()[0]
                known = {r[0] for r in self._conn.execute(
                    f"SELECT id FROM history WHERE id IN ({','.join('?' * len(rows))})", [r[0] for r in rows])}
                fresh = [r for r in dict((r[0], r) for r in rows).values() if r[0] not in known]
                self._conn.executemany(
                    "INSERT INTO history (id, memory_id, tenant, old_memory, new_memory, event,"
                    " actor_id, role, created_at, updated_at, is_deleted, seq)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [row + (seq + i + 1,) for i, row in enumerate(fresh)],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def for_memory(self, memory_id: str, tenant: str) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(
                "SELECT id, memory_id, old_memory, new_memory, event, actor_id, role,"
                " created_at, updated_at, is_deleted FROM history"
                " WHERE tenant = ? AND memory_id = ? ORDER BY seq",
                (tenant, memory_id),
            )
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        for r in rows:
            r["is_deleted"] = bool(r["is_deleted"])
        return rows

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM history")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_history(cfg: "MemoryConfig") -> Any:
    """The history store ``cfg`` names: PostgreSQL with a ``database_url``, else SQLite at
    ``resolved_history_path``."""
    url = cfg.database
    if url is None:
        return HistoryStore(cfg.resolved_history_path)
    from memory_core.history_postgres import PostgresHistoryStore  # psycopg only in the shared mode

    return PostgresHistoryStore(url)
