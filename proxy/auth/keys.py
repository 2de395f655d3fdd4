"""API keys: ``mk_`` + 40 random characters, stored only as SHA-256 hashes.

The store is one SQLite file in the data directory, shared by the server (which
reads it on every request) and ``memproxy keys`` (which writes it), so a key created
or revoked while the server runs takes effect on the next request. In the shared-state
mode the same records live in PostgreSQL instead (:mod:`proxy.auth.postgres_keys`,
picked by :func:`proxy.auth.stores.key_store`); both follow :class:`KeyStoreProtocol`::

    store = KeyStore(Path("data/keys.sqlite3"))
    key, secret = store.create(tenant="acme", name="backend")   # secret shown once
    store.lookup(secret).tenant                                  # 'acme'
    store.revoke(key.id)

A key is 238 bits of randomness, so an unsalted SHA-256 is as good as a password
hash here and lets a lookup find the row by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import string
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, runtime_checkable

KEY_PREFIX = "mk_"
_ALPHABET = string.ascii_letters + string.digits
_SECRET_CHARS = 40
_MIN_SECRET_CHARS = 32
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    name        TEXT,
    quota       INTEGER,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS key_usage (
    key_id  TEXT NOT NULL,
    month   TEXT NOT NULL,
    used    INTEGER NOT NULL,
    PRIMARY KEY (key_id, month)
);
"""


class KeyStoreError(ValueError):
    """A key command got something unusable (a bad tenant, an unknown key id)."""


@dataclass(frozen=True)
class ApiKey:
    """A key's record. The secret itself is never stored, so it is not here either."""

    id: str
    prefix: str
    tenant: str
    name: str | None
    quota: int | None
    created_at: str
    revoked_at: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@runtime_checkable
class KeyStoreProtocol(Protocol):
    """What the server and ``memproxy keys`` need from a key store (SQLite or PostgreSQL)."""

    @property
    def location(self) -> str: ...  # where the keys live, for logs (never a password)

    def create(self, tenant: str = "default", name: str | None = None,
               quota: int | None = None) -> tuple[ApiKey, str]: ...

    def list(self) -> list[ApiKey]: ...

    def revoke(self, key_id: str) -> ApiKey: ...

    def has_any_keys(self) -> bool: ...

    def has_active_keys(self) -> bool: ...

    def lookup(self, secret: str) -> ApiKey | None: ...

    def consume(self, key_id: str, quota: int | None, month: str | None = None) -> bool: ...

    def usage(self, key_id: str, month: str | None = None) -> int: ...

    def close(self) -> None: ...


def generate_secret() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_CHARS))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def looks_like_key(secret: str) -> bool:
    body = secret[len(KEY_PREFIX):]
    return (secret.startswith(KEY_PREFIX) and len(body) >= _MIN_SECRET_CHARS
            and all(c in _ALPHABET for c in body))


def current_month(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_new_key(tenant: str, quota: int | None) -> None:
    """Raise :class:`KeyStoreError` for a tenant or quota no key may have."""
    if not isinstance(tenant, str) or not TENANT_PATTERN.match(tenant):
        raise KeyStoreError("a tenant is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if quota is not None and quota < 1:
        raise KeyStoreError("a quota is a positive number of requests per month")


def new_key(tenant: str, name: str | None, quota: int | None) -> tuple[ApiKey, str]:
    """A checked new key record (created now) and its secret; nothing is stored yet."""
    check_new_key(tenant, quota)
    secret = generate_secret()
    key = ApiKey(id="key_" + secrets.token_hex(6), prefix=secret[:7], tenant=tenant,
                 name=name or None, quota=quota, created_at=_now(), revoked_at=None)
    return key, secret


def unknown_key(key_id: str) -> KeyStoreError:
    return KeyStoreError(f"no key with id {key_id!r} (see `memproxy keys list`)")


class KeyStore:
    """The SQLite file is opened on first use (not when the object is made), so building
    an app touches no file until it starts."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def _conn(self) -> sqlite3.Connection:
        # Callers hold self._lock.
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    # -- managing keys (memproxy keys ...) ---------------------------------------------

    def create(self, tenant: str = "default", name: str | None = None,
               quota: int | None = None) -> tuple[ApiKey, str]:
        """A new key for ``tenant``: its record and the secret, which is never shown again."""
        key, secret = new_key(tenant, name, quota)
        with self._lock:
            self._conn.execute(
                "INSERT INTO api_keys (id, hash, prefix, tenant, name, quota, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (key.id, hash_secret(secret), key.prefix, key.tenant, key.name, key.quota, key.created_at),
            )
        return key, secret

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, prefix, tenant, name, quota, created_at, revoked_at FROM api_keys"
                " ORDER BY created_at, id"
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id (``key_...``); revoking twice is fine."""
        with self._lock:
            self._conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", (_now(), key_id)
            )
            row = self._conn.execute(
                "SELECT id, prefix, tenant, name, quota, created_at, revoked_at FROM api_keys WHERE id = ?",
                (key_id,),
            ).fetchone()
        if row is None:
            raise unknown_key(key_id)
        return ApiKey(*row)

    def has_any_keys(self) -> bool:
        """Whether a key was ever created here (revoked ones count)."""
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone()
        return row is not None

    def has_active_keys(self) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone()
        return row is not None

    # -- serving requests ------------------------------------------------------------

    def lookup(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, or None."""
        if not looks_like_key(secret):
            return None
        digest = hash_secret(secret)
        with self._lock:
            row = self._conn.execute(
                "SELECT hash, id, prefix, tenant, name, quota, created_at, revoked_at FROM api_keys"
                " WHERE hash = ?",
                (digest,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        key = ApiKey(*row[1:])
        return None if key.revoked else key

    def consume(self, key_id: str, quota: int | None, month: str | None = None) -> bool:
        """Count one request of this month against the key; False (and nothing counted)
        when ``quota`` requests were already made this month."""
        month = month or current_month()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT used FROM key_usage WHERE key_id = ? AND month = ?", (key_id, month)
                ).fetchone()
                used = row[0] if row else 0
                if quota is not None and used >= quota:
                    self._conn.execute("ROLLBACK")
                    return False
                self._conn.execute(
                    "INSERT INTO key_usage (key_id, month, used) VALUES (?, ?, 1)"
                    " ON CONFLICT (key_id, month) DO UPDATE SET used = used + 1",
                    (key_id, month),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return True

    def usage(self, key_id: str, month: str | None = None) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT used FROM key_usage WHERE key_id = ? AND month = ?", (key_id, month or current_month())
            ).fetchone()
        return row[0] if row else 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
