"""The shared write queue: one PostgreSQL table that every memproxy replica drains.

    pool = memory_core.postgres.connect(url)
    queue = PostgresWriteQueue(pool, replica="web-1:7", lease_seconds=30)

Order per subject. Each subject's oldest job is marked ``is_head``; only a head can be
claimed, so job N+1 of a subject never starts before job N is done or buried. The mark
moves under a per-subject advisory lock that ``put``, ``done`` and ``bury`` take for
their (short) transaction: a put of a subject that has no jobs makes the new job its
head, ``done``/``bury`` delete a head and mark the next job. Claims (``ready``) never
take that lock.

Claims are leases. ``ready`` is one ``UPDATE`` of the rows a ``SELECT ... FOR UPDATE SKIP
LOCKED`` picked among the due heads with no live claim: replicas racing for one head
serialise on its row lock, and the one that waited re-checks the claim condition on the
row's new version (READ COMMITTED) and skips it. A claim sets ``claimed_by`` (this queue
instance) and ``claimed_until`` (database time, so replicas' clocks need not agree); the
writer renews the claims of the jobs it runs. A replica that dies stops renewing; once
its lease has run out another replica claims the job (its failed-attempt count kept) and
runs it again: delivery is at least once.

``done``, ``retry`` and ``bury`` act only on a job this instance still holds: one whose
lease passed to another replica is that replica's now (its outcome counts; this one's
write ran once more than needed, which at-least-once allows).

When a job becomes claimable (a new head, a released claim) the queue ``NOTIFY``-s; with
``listen=True``, ``watch`` runs a thread that ``LISTEN``-s on a connection of its own, so
another replica's job wakes this writer at once rather than at its next poll (every
``poll_interval``).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from memory_core.postgres import migrate

from proxy.writer.queue import Job

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

log = logging.getLogger("proxy.writer")

JOBS = "memproxy_write_jobs"
DEAD = "memproxy_write_dead_letters"
CHANNEL = "memproxy_write_jobs"
_SUBJECT_LOCK = 0x6D657771  # "mewq": the first key of the per-subject advisory locks

COMPONENT = "write_queue"
# Released steps are never edited, only appended to.
SCHEMA = [
    f"""CREATE TABLE {JOBS} (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        last_error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        is_head BOOLEAN NOT NULL,
        claimed_by TEXT,
        claimed_until TIMESTAMPTZ
    )""",
    f"CREATE INDEX {JOBS}_subject ON {JOBS} (subject, id)",
    f"CREATE INDEX {JOBS}_heads ON {JOBS} (id) WHERE is_head",
    f"""CREATE TABLE {DEAD} (
        id BIGINT PRIMARY KEY,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        failed_at DOUBLE PRECISION NOT NULL
    )""",
]

_LOCK_SUBJECT = f"SELECT pg_advisory_xact_lock({_SUBJECT_LOCK}, hashtext(%s))"
_LOCK_SUBJECT_OF = (f"SELECT pg_advisory_xact_lock({_SUBJECT_LOCK}, hashtext(subject)) FROM {JOBS} "
                    "WHERE id = %s AND claimed_by = %s")

# Under the subject's lock, in a statement after it: its snapshot sees every earlier put.
_PUT = f"""
WITH new AS (
    INSERT INTO {JOBS} (subject, payload, next_attempt_at, created_at, is_head)
    VALUES (%(subject)s, %(payload)s, %(now)s, %(now)s,
            NOT EXISTS (SELECT 1 FROM {JOBS} WHERE subject = %(subject)s))
    RETURNING id, is_head
), notified AS (SELECT pg_notify('{CHANNEL}', '') FROM new WHERE is_head)
SELECT id, (SELECT count(*) FROM notified) FROM new"""

_UNCLAIMED = "(claimed_until IS NULL OR claimed_until < statement_timestamp())"

_CLAIM = f"""
WITH picked AS (
    SELECT id FROM {JOBS}
    WHERE is_head AND next_attempt_at <= %(now)s AND {_UNCLAIMED} AND subject <> ALL(%(busy)s::text[])
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {JOBS} j
SET claimed_by = %(claimant)s, claimed_until = statement_timestamp() + %(lease)s * interval '1 second'
FROM picked WHERE j.id = picked.id
RETURNING j.id, j.subject, j.payload, j.attempts"""

_NEXT_DUE = f"SELECT MIN(next_attempt_at) FROM {JOBS} WHERE is_head AND {_UNCLAIMED}"

# After the head ``gone`` left (done or buried), the subject's next job is its head. The
# snapshot still holds the deleted row, hence ``id <> gone.id``.
_PROMOTE_NEXT = f"""
successor AS (
    SELECT MIN(j.id) AS id FROM {JOBS} j JOIN gone ON j.subject = gone.subject AND j.id <> gone.id
), promoted AS (
    UPDATE {JOBS} SET is_head = true FROM successor WHERE {JOBS}.id = successor.id RETURNING {JOBS}.id
), notified AS (SELECT pg_notify('{CHANNEL}', '') FROM promoted)"""

_DONE = f"""
WITH gone AS (DELETE FROM {JOBS} WHERE id = %(id)s AND claimed_by = %(claimant)s RETURNING id, subject),
{_PROMOTE_NEXT}
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM notified)"""

_BURY = f"""
WITH gone AS (DELETE FROM {JOBS} WHERE id = %(id)s AND claimed_by = %(claimant)s RETURNING *),
buried AS (
    INSERT INTO {DEAD} (id, subject, payload, attempts, last_error, created_at, failed_at)
    SELECT id, subject, payload, attempts + 1, %(error)s, created_at, %(now)s FROM gone RETURNING id
),
{_PROMOTE_NEXT}
SELECT (SELECT count(*) FROM buried), (SELECT count(*) FROM notified)"""


class PostgresWriteQueue:
    """The :class:`~proxy.writer.queue.JobQueue` that several replicas share.

    ``pool`` is :func:`memory_core.postgres.connect`'s (autocommit connections); the
    queue does not close it. ``replica`` names this process in ``claimed_by`` (a random
    suffix tells two instances of one name apart). Creates its tables on first use.
    """

    def __init__(self, pool: "ConnectionPool", replica: str, lease_seconds: float = 30.0, *,
                 poll_interval: float = 0.5, listen: bool = True) -> None:
        self._pool = pool
        self.replica = replica
        self.claimant = f"{replica}/{secrets.token_hex(4)}"
        self.lease_seconds: float | None = lease_seconds
        self.poll_interval = poll_interval
        self._listen = listen
        self._listener: _Listener | None = None
        migrate(pool, COMPONENT, SCHEMA)

    def put(self, subject: str, payload: dict[str, Any], now: float | None = None) -> int:
        now = time.time() if now is None else now
        params = {"subject": subject, "payload": json.dumps(payload, ensure_ascii=False), "now": now}
        with self._pool.connection() as conn, conn.transaction():  # committed on return
            conn.execute(_LOCK_SUBJECT, (subject,))
            return int(conn.execute(_PUT, params).fetchone()[0])

    def ready(self, now: float, busy: Iterable[str] = (), limit: int = 16) -> list[Job]:
        if limit <= 0:
            return []
        params = {"now": now, "busy": list(busy), "limit": limit, "claimant": self.claimant,
                  "lease": self.lease_seconds}
        with self._pool.connection() as conn:
            rows = conn.execute(_CLAIM, params).fetchall()
        return sorted((Job(int(i), s, json.loads(p), int(a)) for i, s, p, a in rows), key=lambda job: job.id)

    def next_due(self) -> float | None:
        with self._pool.connection() as conn:
            return conn.execute(_NEXT_DUE).fetchone()[0]

    def renew(self, job_ids: Iterable[int]) -> set[int]:
        ids = list(job_ids)
        if not ids:
            return set()
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"UPDATE {JOBS} SET claimed_until = statement_timestamp() + %s * interval '1 second' "
                "WHERE id = ANY(%s) AND claimed_by = %s RETURNING id",
                (self.lease_seconds, ids, self.claimant)).fetchall()
        return {int(row[0]) for row in rows}

    def release(self, job_ids: Iterable[int]) -> None:
        ids = list(job_ids)
        if not ids:
            return
        with self._pool.connection() as conn:
            conn.execute(
                f"WITH freed AS (UPDATE {JOBS} SET claimed_by = NULL, claimed_until = NULL "
                "WHERE id = ANY(%s) AND claimed_by = %s RETURNING id) "
                f"SELECT pg_notify('{CHANNEL}', '') FROM freed LIMIT 1",
                (ids, self.claimant))

    def done(self, job_id: int) -> None:
        if not self._settle(_DONE, {"id": job_id, "claimant": self.claimant}):
            self._lost(job_id, "done")

    def retry(self, job_id: int, error: str, at: float) -> None:
        with self._pool.connection() as conn:
            updated = conn.execute(
                f"UPDATE {JOBS} SET attempts = attempts + 1, last_error = %s, next_attempt_at = %s, "
                "claimed_by = NULL, claimed_until = NULL WHERE id = %s AND claimed_by = %s",
                (error, at, job_id, self.claimant)).rowcount
        if not updated:
            self._lost(job_id, "retry")

    def bury(self, job_id: int, error: str, now: float | None = None) -> None:
        """Move a job that will not succeed to the dead letters, in one transaction."""
        now = time.time() if now is None else now
        if not self._settle(_BURY, {"id": job_id, "claimant": self.claimant, "error": error, "now": now}):
            self._lost(job_id, "bury")

    def counts(self) -> dict[str, int]:
        with self._pool.connection() as conn:
            pending, dead = conn.execute(
                f"SELECT (SELECT COUNT(*) FROM {JOBS}), (SELECT COUNT(*) FROM {DEAD})").fetchone()
        return {"pending": int(pending), "dead_letters": int(dead)}

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        keys = ("id", "subject", "payload", "attempts", "last_error", "created_at", "failed_at")
        with self._pool.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(keys)} FROM {DEAD} ORDER BY id DESC LIMIT %s",
                                (limit,)).fetchall()
        letters = [dict(zip(keys, row)) for row in rows]
        for letter in letters:
            letter["payload"] = json.loads(letter["payload"])
        return letters

    def import_dead_letter(self, letter: dict[str, Any]) -> None:
        """Keep an exported dead letter (``memproxy import``) under a fresh id from the jobs'
        sequence, so it can never collide with a job buried later; one already imported
        (same subject, payload and times) is skipped, so an import can run again."""
        payload = json.dumps(letter["payload"], ensure_ascii=False)
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {DEAD} (id, subject, payload, attempts, last_error, created_at, failed_at)"
                f" SELECT nextval(pg_get_serial_sequence('{JOBS}', 'id')), %s, %s, %s, %s, %s, %s"
                f" WHERE NOT EXISTS (SELECT 1 FROM {DEAD} WHERE subject = %s AND payload = %s"
                " AND created_at = %s AND failed_at = %s)",
                (letter["subject"], payload, int(letter["attempts"]), letter.get("last_error"),
                 float(letter["created_at"]), float(letter["failed_at"]),
                 letter["subject"], payload, float(letter["created_at"]), float(letter["failed_at"])))

    def watch(self, callback: Callable[[], None] | None) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if callback is not None and self._listen:
            self._listener = _Listener(self._pool, callback)

    def close(self) -> None:
        self.watch(None)

    def _settle(self, statement: str, params: dict[str, Any]) -> int:
        """Run ``done``'s or ``bury``'s statement under the job's subject lock; how many
        jobs it removed (0: the claim is no longer ours)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(_LOCK_SUBJECT_OF, (params["id"], self.claimant))
            return int(conn.execute(statement, params).fetchone()[0])

    def _lost(self, job_id: int, what: str) -> None:
        log.warning("memory write %d: %s not recorded, its claim had passed to another replica "
                    "(this one did not renew it within %.0fs); that replica runs it", job_id, what,
                    self.lease_seconds)


class _Listener:
    """``LISTEN`` on a connection of its own, in a daemon thread; calls ``callback`` on each
    notification, and once after every (re)connect for anything missed meanwhile."""

    def __init__(self, pool: "ConnectionPool", callback: Callable[[], None]) -> None:
        conninfo = pool.conninfo
        self._conninfo = conninfo() if callable(conninfo) else conninfo
        self._kwargs = {"connect_timeout": 10, **(pool.kwargs or {}), "autocommit": True}
        self._callback = callback
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memproxy-queue-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        import psycopg

        backoff = 0.5
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._conninfo, **self._kwargs) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 0.5
                    self._callback()
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=0.25, stop_after=1):
                            self._callback()
            except Exception as exc:  # the database went away: polling still runs meanwhile
                if self._stopped.is_set():
                    return
                log.warning("write queue: lost the LISTEN connection (%s); reconnecting in %.1fs", exc, backoff)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 30.0)
