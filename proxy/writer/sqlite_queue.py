"""The embedded write queue: one SQLite file in the data directory, owned by one process.

A queued exchange is committed before the chat's background task returns, so it survives
a crash or restart and is processed after it. Jobs of one subject are taken oldest first,
one at a time; a job that keeps failing moves to ``dead_letters`` with its last error,
where ``memproxy dead-letters`` (and ``GET /readyz``) show it.

All calls are short statements, serialised by one lock: they come from the event loop's
thread and from the worker threads that run a chat's background write.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from proxy.writer.queue import Job

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_subject ON jobs (subject, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    failed_at REAL NOT NULL
);
"""


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def locked(self: "WriteQueue", *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class WriteQueue:
    """The :class:`~proxy.writer.queue.JobQueue` of one process: nothing else reads the
    file, so a job handed out by ``ready`` needs no claim (the caller passes the subjects
    it runs as ``busy``) and claims never expire."""

    lease_seconds: float | None = None
    poll_interval = 1.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit: every statement is its own durable transaction
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process crash
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    @_locked
    def put(self, subject: str, payload: dict[str, Any], now: float | None = None) -> int:
        now = time.time() if now is None else now
        cursor = self._db.execute(
            "INSERT INTO jobs (subject, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
            (subject, json.dumps(payload, ensure_ascii=False), now, now),
        )
        return int(cursor.lastrowid or 0)

    @_locked
    def ready(self, now: float, busy: Iterable[str] = (), limit: int = 16) -> list[Job]:
        """The oldest job of each subject that is due and not ``busy``, oldest first."""
        skip = set(busy)
        rows = self._db.execute(
            """SELECT j.id, j.subject, j.payload, j.attempts FROM jobs j
               JOIN (SELECT MIN(id) AS id FROM jobs GROUP BY subject) head ON j.id = head.id
               WHERE j.next_attempt_at <= ? ORDER BY j.id""",
            (now,),
        )
        jobs = []
        for job_id, subject, payload, attempts in rows:
            if subject in skip:
                continue
            jobs.append(Job(job_id, subject, json.loads(payload), attempts))
            if len(jobs) >= limit:
                break
        return jobs

    @_locked
    def next_due(self) -> float | None:
        """When the earliest waiting head of a subject becomes due."""
        row = self._db.execute(
            """SELECT MIN(j.next_attempt_at) FROM jobs j
               JOIN (SELECT MIN(id) AS id FROM jobs GROUP BY subject) head ON j.id = head.id"""
        ).fetchone()
        return row[0] if row else None

    def renew(self, job_ids: Iterable[int]) -> set[int]:
        return set(job_ids)

    def release(self, job_ids: Iterable[int]) -> None:
        pass

    def watch(self, callback: Callable[[], None] | None) -> None:
        pass  # only this process writes the file: its own submit wakes the writer

    @_locked
    def done(self, job_id: int) -> None:
        self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    @_locked
    def retry(self, job_id: int, error: str, at: float) -> None:
        self._db.execute(
            "UPDATE jobs SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
            (error, at, job_id),
        )

    @_locked
    def bury(self, job_id: int, error: str, now: float | None = None) -> None:
        """Move a job that will not succeed to the dead letters, in one transaction."""
        now = time.time() if now is None else now
        with _transaction(self._db):
            self._db.execute(
                """INSERT INTO dead_letters (id, subject, payload, attempts, last_error, created_at, failed_at)
                   SELECT id, subject, payload, attempts + 1, ?, created_at, ? FROM jobs WHERE id = ?""",
                (error, now, job_id),
            )
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    @_locked
    def counts(self) -> dict[str, int]:
        pending = self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        dead = self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        return {"pending": int(pending), "dead_letters": int(dead)}

    @_locked
    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id, subject, payload, attempts, last_error, created_at, failed_at FROM dead_letters "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        keys = ("id", "subject", "payload", "attempts", "last_error", "created_at", "failed_at")
        letters = [dict(zip(keys, row)) for row in rows]
        for letter in letters:
            letter["payload"] = json.loads(letter["payload"])
        return letters

    @_locked
    def close(self) -> None:
        self._db.close()


class _transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")
