"""A fixed-window request limit per key and minute.

:class:`RateLimiter` keeps the counts in this process's memory (one server).
:class:`PostgresRateLimiter` keeps them in PostgreSQL, so that several replicas share
one limit: each hit is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE used < limit
RETURNING`` on the row of (this minute, this key), atomic across replicas, and the
minute comes from the database's clock, so replicas agree on when it turns. Rows of
past minutes are deleted lazily, once a minute per replica.

Both answer ``hit(key) -> (allowed, requests left this minute, seconds until the next)``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from proxy.auth.postgres_keys import AuthSchema


class Limiter(Protocol):
    per_minute: int

    def hit(self, key: str) -> tuple[bool, int, int]: ...


def _reset(now: float, window: int) -> int:
    return max(1, int((window + 1) * 60 - now))


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, requests left this minute, seconds until the next)."""
        now = self._clock()
        window = int(now // 60)
        reset = _reset(now, window)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            used = self._counts.get(key, 0)
            if used >= self.per_minute:
                return False, 0, reset
            self._counts[key] = used + 1
            return True, self.per_minute - used - 1, reset


# One statement, one row back whether or not the request is allowed: the minute's
# count after this hit (NULL: the limit was already reached) and the clock it used.
_HIT = """
WITH clock AS (SELECT COALESCE(%(now)s::float8, extract(epoch FROM clock_timestamp())::float8) AS now),
hit AS (
    INSERT INTO memproxy_rate_limits AS r (window_start, bucket, used)
    SELECT floor(clock.now / 60)::bigint, %(bucket)s, 1 FROM clock
    ON CONFLICT (window_start, bucket) DO UPDATE SET used = r.used + 1
    WHERE r.used < %(limit)s
    RETURNING used
)
SELECT (SELECT used FROM hit), clock.now FROM clock
"""


class PostgresRateLimiter:
    """The per-minute limit shared by every replica on one database.

    ``clock`` (seconds since the epoch) is for tests; by default the database's clock
    decides the minute, the same for every replica.
    """

    def __init__(self, pool: "ConnectionPool", per_minute: int, clock: Callable[[], float] | None = None,
                 *, schema: "AuthSchema | None" = None) -> None:
        from proxy.auth.postgres_keys import AuthSchema

        if per_minute < 1:
            raise ValueError("a rate limit is a positive number of requests per minute")
        self.per_minute = per_minute
        self._clock = clock
        self._db = schema or AuthSchema(pool)
        self._swept = -1  # the last minute whose older rows this replica deleted

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, requests left this minute, seconds until the next).
        Raises :class:`memory_core.postgres.DatabaseError` when the database is away."""
        params = {"now": self._clock() if self._clock is not None else None, "bucket": key,
                  "limit": self.per_minute}
        used, now = self._db.run(lambda conn: conn.execute(_HIT, params).fetchone())
        window = int(now // 60)
        if window > self._swept:
            self._swept = window
            self._db.run(lambda conn: conn.execute(
                "DELETE FROM memproxy_rate_limits WHERE window_start < %s", (window - 1,)))
        reset = _reset(now, window)
        if used is None:
            return False, 0, reset
        return True, self.per_minute - used, reset
