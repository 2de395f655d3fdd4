"""API keys and monthly quotas in PostgreSQL, shared by every memproxy replica.

The same records, secrets and rules as the SQLite :class:`proxy.auth.keys.KeyStore`
(only SHA-256 hashes are stored; ``mk_`` secrets; revoking twice is fine), for the
shared-state mode, where several processes serve the same tenants::

    store = PostgresKeyStore(pool)                 # a memory_core.postgres.connect() pool
    key, secret = store.create(tenant="acme")      # on any replica ...
    store.lookup(secret).tenant                    # ... found by every other: 'acme'

Every :meth:`~PostgresKeyStore.lookup` reads the database (one indexed query, no
cache), so a key revoked through one replica is refused by all of them on their next
request. :meth:`~PostgresKeyStore.consume` counts a request against the monthly quota
in one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE used < quota RETURNING``: the row
lock makes it atomic across replicas, so the quota is never exceeded.

The tables are created on first use (``migrate(pool, "auth", ...)``), not when the
object is made. A database that cannot be reached raises
:class:`memory_core.postgres.DatabaseError` (503 DATABASE_UNAVAILABLE): authentication
fails closed, never open.
"""

from __future__ import annotations

import hmac
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from memory_core.postgres import DatabaseError, migrate, redact
from proxy.auth.keys import ApiKey, current_month, hash_secret, looks_like_key, new_key, unknown_key

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

COMPONENT = "auth"

# Appended to, never edited (memory_core.postgres.migrate).
STEPS = [
    """CREATE TABLE memproxy_api_keys (
        id          TEXT PRIMARY KEY,
        hash        TEXT NOT NULL UNIQUE,
        prefix      TEXT NOT NULL,
        tenant      TEXT NOT NULL,
        name        TEXT,
        quota       INTEGER CHECK (quota IS NULL OR quota >= 1),
        created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        revoked_at  TIMESTAMPTZ
    )""",
    """CREATE TABLE memproxy_key_usage (
        key_id  TEXT NOT NULL,
        month   TEXT NOT NULL,
        used    INTEGER NOT NULL,
        PRIMARY KEY (key_id, month)
    )""",
    # proxy.auth.ratelimit.PostgresRateLimiter: one row per key and minute, the old ones
    # deleted lazily. (window_start, bucket) so that deleting old windows uses the key.
    """CREATE TABLE memproxy_rate_limits (
        window_start  BIGINT NOT NULL,
        bucket        TEXT NOT NULL,
        used          INTEGER NOT NULL,
        PRIMARY KEY (window_start, bucket)
    )""",
]

_COLUMNS = "id, prefix, tenant, name, quota, created_at, revoked_at"

T = TypeVar("T")


def _stamp(value: datetime | None) -> str | None:
    """A TIMESTAMPTZ as the SQLite store writes it: ``2026-01-31T12:00:00Z``."""
    return None if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(row: tuple[Any, ...]) -> ApiKey:
    id_, prefix, tenant, name, quota, created_at, revoked_at = row
    return ApiKey(id_, prefix, tenant, name, quota, _stamp(created_at), _stamp(revoked_at))


class AuthSchema:
    """Creates the auth tables once per process (on first use), then runs statements,
    turning every database failure into :class:`DatabaseError`. Shared by the key store
    and the rate limiter."""

    def __init__(self, pool: "ConnectionPool") -> None:
        import psycopg  # the pool exists, so psycopg does too

        self.pool = pool
        self._errors: type[Exception] = psycopg.Error
        self._ready = False
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return f"PostgreSQL {redact(getattr(self.pool, 'conninfo', ''))}"

    def ensure(self) -> None:
        """Create or update the auth tables (once per process; safe from many at once)."""
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                with self._failures():
                    migrate(self.pool, COMPONENT, STEPS)
                self._ready = True

    def run(self, work: Callable[[Any], T]) -> T:
        """``work(conn)`` on a pooled (autocommit) connection."""
        self.ensure()
        with self._failures(), self.pool.connection() as conn:
            return work(conn)

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except DatabaseError:
            raise
        except self._errors as exc:
            raise DatabaseError(
                f"the API key database ({self.location}) cannot be used: {type(exc).__name__}: {exc}. "
                "Requests that need a key are refused until it is back."
            ) from exc


class PostgresKeyStore:
    """:class:`proxy.auth.keys.KeyStoreProtocol` on PostgreSQL. ``close`` leaves the pool
    open: whoever opened it closes it."""

    def __init__(self, pool: "ConnectionPool") -> None:
        self.pool = pool
        self._db = AuthSchema(pool)

    @property
    def location(self) -> str:
        return self._db.location

    # -- managing keys (memproxy keys ...) ---------------------------------------------

    def create(self, tenant: str = "default", name: str | None = None,
               quota: int | None = None) -> tuple[ApiKey, str]:
        """A new key for ``tenant``: its record and the secret, which is never shown again."""
        key, secret = new_key(tenant, name, quota)
        row = self._db.run(lambda conn: conn.execute(
            "INSERT INTO memproxy_api_keys (id, hash, prefix, tenant, name, quota)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING created_at",
            (key.id, hash_secret(secret), key.prefix, key.tenant, key.name, key.quota),
        ).fetchone())
        return replace(key, created_at=_stamp(row[0])), secret

    def list(self) -> list[ApiKey]:
        rows = self._db.run(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM memproxy_api_keys ORDER BY created_at, id").fetchall())
        return [_key(row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id (``key_...``); revoking twice is fine."""
        row = self._db.run(lambda conn: conn.execute(
            "UPDATE memproxy_api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = %s"
            f" RETURNING {_COLUMNS}",
            (key_id,),
        ).fetchone())
        if row is None:
            raise unknown_key(key_id)
        return _key(row)

    def has_any_keys(self) -> bool:
        """Whether a key was ever created here (revoked ones count)."""
        return self._db.run(lambda conn: conn.execute(
            "SELECT 1 FROM memproxy_api_keys LIMIT 1").fetchone()) is not None

    def has_active_keys(self) -> bool:
        return self._db.run(lambda conn: conn.execute(
            "SELECT 1 FROM memproxy_api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone()) is not None

    # -- serving requests ------------------------------------------------------------

    def lookup(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, or None. Reads the database every time."""
        if not looks_like_key(secret):
            return None
        digest = hash_secret(secret)
        row = self._db.run(lambda conn: conn.execute(
            f"SELECT hash, {_COLUMNS} FROM memproxy_api_keys WHERE hash = %s", (digest,)).fetchone())
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        key = _key(row[1:])
        return None if key.revoked else key

    def consume(self, key_id: str, quota: int | None, month: str | None = None) -> bool:
        """Count one request of this month against the key; False (and nothing counted)
        when ``quota`` requests were already made this month, by any replica."""
        if quota is not None and quota < 1:
            return False
        row = self._db.run(lambda conn: conn.execute(
            "INSERT INTO memproxy_key_usage AS u (key_id, month, used) VALUES (%s, %s, 1)"
            " ON CONFLICT (key_id, month) DO UPDATE SET used = u.used + 1"
            " WHERE %s::integer IS NULL OR u.used < %s::integer"
            " RETURNING used",
            (key_id, month or current_month(), quota, quota),
        ).fetchone())
        return row is not None

    def usage(self, key_id: str, month: str | None = None) -> int:
        row = self._db.run(lambda conn: conn.execute(
            "SELECT used FROM memproxy_key_usage WHERE key_id = %s AND month = %s",
            (key_id, month or current_month()),
        ).fetchone())
        return row[0] if row else 0

    # -- moving an embedded key store in (memproxy import) ------------------------------

    def import_key(self, record: dict[str, Any]) -> None:
        """Store an exported key record (its hash, never a secret) under its own id,
        replacing one with that id (a revocation on either side is kept)."""
        self._db.run(lambda conn: conn.execute(
            "INSERT INTO memproxy_api_keys (id, hash, prefix, tenant, name, quota, created_at, revoked_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, prefix = EXCLUDED.prefix,"
            " tenant = EXCLUDED.tenant, name = EXCLUDED.name, quota = EXCLUDED.quota,"
            " created_at = EXCLUDED.created_at,"
            " revoked_at = COALESCE(memproxy_api_keys.revoked_at, EXCLUDED.revoked_at)",
            (record["id"], record["hash"], record["prefix"], record["tenant"], record.get("name"),
             record.get("quota"), record["created_at"], record.get("revoked_at")),
        ))

    def import_usage(self, key_id: str, month: str, used: int) -> None:
        """A month of a key's exported quota use (the larger count wins on a re-run)."""
        self._db.run(lambda conn: conn.execute(
            "INSERT INTO memproxy_key_usage AS u (key_id, month, used) VALUES (%s, %s, %s)"
            " ON CONFLICT (key_id, month) DO UPDATE SET used = GREATEST(u.used, EXCLUDED.used)",
            (key_id, month, used),
        ))

    def close(self) -> None:
        """Nothing to release: the pool belongs to whoever opened it."""
