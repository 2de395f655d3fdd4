"""Where keys, quotas and rate limits live, chosen in one place.

Embedded (no database): the SQLite key store in the data directory and an in-process
rate limiter. Shared-state mode (a PostgreSQL pool): both in the database, so every
replica sees the same keys, revocations, quotas and limits::

    store = key_store(config.keys_path, pool)            # pool: memory_core.postgres.connect(...) or None
    auth = Authenticator(store, open_mode=False, rate_limit_per_minute=600)   # limiter follows the store

psycopg is imported only when a pool is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from proxy.auth.keys import KeyStore, KeyStoreProtocol
from proxy.auth.ratelimit import Limiter, RateLimiter

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool


def key_store(keys_path: Path | str, pool: "ConnectionPool | None" = None) -> KeyStoreProtocol:
    """:class:`~proxy.auth.postgres_keys.PostgresKeyStore` on ``pool`` when there is one,
    else the SQLite :class:`~proxy.auth.keys.KeyStore` at ``keys_path``. Neither touches
    its database before first use."""
    if pool is not None:
        from proxy.auth.postgres_keys import PostgresKeyStore

        return PostgresKeyStore(pool)
    return KeyStore(Path(keys_path))


def rate_limiter(per_minute: int | None, pool: "ConnectionPool | None" = None,
                 clock: Callable[[], float] | None = None) -> Limiter | None:
    """None without a limit; else one counted in PostgreSQL (shared by replicas) when
    there is a ``pool``, or in this process. ``clock`` is for tests; without one the
    shared limiter uses the database's clock."""
    if not per_minute:
        return None
    if pool is not None:
        from proxy.auth.ratelimit import PostgresRateLimiter

        return PostgresRateLimiter(pool, per_minute, clock)
    return RateLimiter(per_minute, clock) if clock is not None else RateLimiter(per_minute)


def rate_limiter_for(store: KeyStoreProtocol, per_minute: int | None,
                     clock: Callable[[], float] | None = None) -> Limiter | None:
    """The rate limiter that goes with ``store``: shared when the keys are in PostgreSQL."""
    from proxy.auth.postgres_keys import PostgresKeyStore

    pool = store.pool if isinstance(store, PostgresKeyStore) else None
    return rate_limiter(per_minute, pool, clock)
