"""Who is calling: an API key from the ``Authorization`` header, mapped to its tenant.

Both ``Bearer mk_...`` (OpenAI SDKs, curl) and ``Token mk_...`` (Mem0's SDK) are
accepted. A well-formed memproxy key (``mk_`` + 40 characters) that is unknown or
revoked is refused, always.
In open mode (decided once at start-up, see :func:`proxy.auth.bind.decide_open`) a
request without a memproxy key is served as the default tenant; any other string
(the OpenAI SDK insists on some ``api_key``) counts as no key. Otherwise every
request needs an active key.

    auth = Authenticator(KeyStore(path), open_mode=True)   # or key_store(path, pool): PostgreSQL
    principal = await auth.principal(request)        # raises Unauthorized, QuotaExceeded ...
    await memory.search("...", user_id="alice", tenant=principal.tenant)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from starlette.requests import Request

from proxy.errors import QuotaExceeded, RateLimited, Unauthorized
from proxy.auth.keys import ApiKey, KeyStoreProtocol, current_month, looks_like_key
from proxy.auth.ratelimit import Limiter
from proxy.auth.stores import rate_limiter_for

log = logging.getLogger("proxy.auth")

_SCHEMES = ("bearer", "token")
_STATE_KEY = "principal"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="memproxy"'}


@dataclass(frozen=True)
class Principal:
    """The caller of one request. ``key_id`` is None when the server runs open."""

    tenant: str
    key_id: str | None = None
    key_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.key_id is None


def credentials(authorization: str | None) -> str | None:
    """The key in an ``Authorization`` header (``Bearer x`` or ``Token x``), else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() not in _SCHEMES:
        return None
    return value.strip() or None


class Authenticator:
    """Keys from ``store`` (SQLite or PostgreSQL). The rate limit is counted where the
    store keeps its records (in-process for SQLite, in the database for PostgreSQL, so
    replicas share it) unless ``limiter`` is given. ``clock`` is for tests; without it
    the in-process limiter uses ``time.time`` and the shared one the database's clock."""

    def __init__(self, store: KeyStoreProtocol, *, open_mode: bool, open_tenant: str = "default",
                 monthly_quota: int | None = None, rate_limit_per_minute: int | None = None,
                 clock: Callable[[], float] | None = None, limiter: Limiter | None = None) -> None:
        self.store = store
        self.open_mode = open_mode
        self.open_tenant = open_tenant
        self.monthly_quota = monthly_quota
        self._limiter = limiter if limiter is not None else rate_limiter_for(store, rate_limit_per_minute, clock)

    async def principal(self, request: Request, *, metered: bool = True) -> Principal:
        """The caller of ``request``, authenticated once per request (later calls reuse it).

        ``metered=False`` (ping) neither counts against the quota nor the rate limit.
        """
        known = request.scope.setdefault("state", {}).get(_STATE_KEY)
        if isinstance(known, Principal):
            return known
        found = await asyncio.to_thread(self.authenticate, request.headers.get("authorization"), metered)
        request.scope["state"][_STATE_KEY] = found
        return found

    def authenticate(self, authorization: str | None, metered: bool = True) -> Principal:
        """The synchronous core of :meth:`principal` (it touches the key store). A store that
        cannot be read raises (DatabaseError, 503): a request is never admitted without it."""
        secret = credentials(authorization)
        if secret is not None and self.open_mode and not looks_like_key(secret):
            secret = None  # open mode: a placeholder api_key ("sk-...", "mk_...", "none") is no key
        if secret is None:
            if self.open_mode:
                return self._admit("open", Principal(self.open_tenant), None, metered)
            raise Unauthorized("missing API key: send `Authorization: Bearer mk_...` "
                               "(create a key with `memproxy keys create`)", headers=_CHALLENGE)
        key = self.store.lookup(secret)
        if key is None:
            # Never echo what was sent: a near-miss key is still a secret.
            raise Unauthorized("invalid or revoked API key", headers=_CHALLENGE)
        return self._admit(key.id, Principal(key.tenant, key.id, key.name), key, metered)

    def _admit(self, bucket: str, principal: Principal, key: ApiKey | None, metered: bool) -> Principal:
        if not metered:
            return principal
        if self._limiter is not None:
            allowed, _, reset = self._limiter.hit(bucket)
            if not allowed:
                limit = str(self._limiter.per_minute)
                raise RateLimited(
                    f"more than {limit} requests in a minute with this key; retry in {reset} s",
                    headers={"Retry-After": str(reset), "X-RateLimit-Limit": limit,
                             "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
                )
        if key is not None:
            quota = key.quota if key.quota is not None else self.monthly_quota
            if not self.store.consume(key.id, quota):
                wait = _seconds_to_next_month()
                raise QuotaExceeded(
                    f"this key's monthly quota of {quota} requests is used up for {current_month()}; "
                    "it resets at the start of next month (UTC)",
                    headers={"Retry-After": str(wait)},
                )
        return principal


def _seconds_to_next_month(now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    return max(1, int((start - now).total_seconds()))
