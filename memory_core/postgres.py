"""PostgreSQL, for state that several processes share (the shared-state mode).

One small surface used by every PostgreSQL-backed part (memory_core's vector store
and history, the proxy's write queue and keys):

    pool = connect("postgresql://memproxy:secret@db:5432/memproxy")
    migrate(pool, "history", ["CREATE TABLE history (...)", "ALTER TABLE history ADD ..."])
    with pool.connection() as conn:
        conn.execute("SELECT 1")

Schemas are versioned per component in ``memproxy_migrations``: ``migrate`` applies the
steps not yet applied, in order, each in its own transaction, under one advisory lock,
so two replicas that start at the same moment apply each step exactly once. Steps are
only ever appended: a released step is never edited.

psycopg (3) is imported here only, when a pool is opened: the embedded mode never
loads it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Sequence

from memory_core.errors import MemoryCoreError

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key: every memproxy migration, of any component, takes it.
_MIGRATION_LOCK = 0x6D656D70  # "memp"

_LEDGER = """
CREATE TABLE IF NOT EXISTS memproxy_migrations (
    component  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)"""


class DatabaseError(MemoryCoreError):
    """The database cannot be reached or used; the message says what to check."""

    code = "DATABASE_UNAVAILABLE"
    status = 503


def connect(url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 10.0,
            vectors: bool = False) -> "ConnectionPool":
    """An open pool of autocommit connections to ``url`` (a libpq URI or DSN).

    ``vectors=True`` registers pgvector's types on every connection (needs the
    ``vector`` extension, which :func:`ensure_vector_extension` creates). Raises
    :class:`DatabaseError` when no connection can be made within ``timeout``.
    """
    pool = unopened_pool(url, min_size=min_size, max_size=max_size, timeout=timeout, vectors=vectors)
    open_pool(pool, timeout)
    return pool


def unopened_pool(url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 10.0,
                  vectors: bool = False) -> "ConnectionPool":
    """:func:`connect`'s pool before it connects: made at configuration time, opened by
    :func:`open_pool` when the server starts (no connection is made before)."""
    try:
        import psycopg
        from psycopg_pool import ConnectionPool
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise DatabaseError(f"PostgreSQL needs psycopg: pip install 'psycopg[binary,pool]' ({exc})") from exc

    try:  # before the pool, whose own log lines would quote the unparsable text
        from psycopg.conninfo import conninfo_to_dict

        conninfo_to_dict(url)
    except Exception:
        raise DatabaseError(
            f"the database URL {redact(url)} cannot be parsed. Percent-encode special characters in the "
            "user and password (/ as %2F, @ as %40, % as %25), or leave the password out of the URL and "
            "set PGPASSWORD") from None

    def configure(conn: "psycopg.Connection") -> None:
        conn.autocommit = True
        if vectors:
            from pgvector.psycopg import register_vector

            register_vector(conn)

    return ConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout,
                          configure=configure, open=False, name="memproxy")


def open_pool(pool: "ConnectionPool", timeout: float = 10.0) -> None:
    """Connect ``pool``; :class:`DatabaseError` (saying what to check) when it cannot."""
    try:
        pool.open(wait=True, timeout=timeout)
    except Exception as exc:
        pool.close()
        raise DatabaseError(
            f"cannot connect to PostgreSQL at {redact(pool.conninfo)}: {exc}. "
            "Check the database URL, that the server runs and that it accepts this user."
        ) from exc


def ensure_vector_extension(pool: "ConnectionPool") -> None:
    """``CREATE EXTENSION vector`` (under the migration lock), or a clear error."""
    with pool.connection() as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except Exception as exc:
                raise DatabaseError(
                    f"the pgvector extension is not available in this PostgreSQL ({exc}). "
                    "Install pgvector on the server (managed services ship it), or have a "
                    "superuser run CREATE EXTENSION vector once."
                ) from exc


def migrate(pool: "ConnectionPool", component: str, steps: Sequence[str]) -> int:
    """Apply ``steps[v:]`` for ``component`` (``v`` = how many are already applied);
    return how many were applied now. Idempotent and safe to run from several
    processes at once."""
    import psycopg

    try:
        return _migrate(pool, component, steps)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"could not create or upgrade memproxy's {component} tables: {type(exc).__name__}: {exc}. The database "
            "user needs the right to create tables in its schema (or run `memproxy migrate` once as one that has it)"
        ) from exc


def _migrate(pool: "ConnectionPool", component: str, steps: Sequence[str]) -> int:
    applied = 0
    with pool.connection() as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(_LEDGER)
        for version, step in enumerate(steps, start=1):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                done = conn.execute(
                    "SELECT 1 FROM memproxy_migrations WHERE component = %s AND version = %s",
                    (component, version),
                ).fetchone()
                if done:
                    continue
                conn.execute(step)
                conn.execute("INSERT INTO memproxy_migrations (component, version) VALUES (%s, %s)",
                             (component, version))
                applied += 1
                log.info("database: %s schema step %d applied", component, version)
    return applied


def schema_version(pool: "ConnectionPool", component: str) -> int:
    """How many of ``component``'s steps the database has (0 before the first start)."""
    with pool.connection() as conn:
        exists = conn.execute("SELECT to_regclass('memproxy_migrations')").fetchone()[0]
        if exists is None:
            return 0
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM memproxy_migrations WHERE component = %s",
                           (component,)).fetchone()
        return int(row[0])


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs. Plain string work, so a
    password libpq would mis-parse (an unescaped ``/``, ``@`` or ``%``) is hidden too."""
    if "://" in url:
        scheme, rest = url.split("://", 1)
        authority_end = len(rest)
        for stop in ("/", "?"):
            at = rest.rfind("@")
            cut = rest.find(stop, at + 1 if at >= 0 else 0)
            if cut >= 0:
                authority_end = min(authority_end, cut)
        authority, tail = rest[:authority_end], rest[authority_end:]
        if "@" in authority:
            userinfo, host = authority.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            authority = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
        tail = re.sub(r"(?i)(password=)[^&]*", r"\1***", tail)
        return f"{scheme}://{authority}{tail}"
    # key=value conninfo
    return re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)
