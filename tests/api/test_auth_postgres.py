"""API keys, revocation, monthly quotas and rate limits in PostgreSQL, shared by
replicas: each replica is a store (and limiter) on a pool of its own, all on one real
database. Skips where no PostgreSQL can be started (tests/postgres_harness.py)."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

pytest.importorskip("psycopg_pool")

from memory_core.postgres import DatabaseError, connect  # noqa: E402
from proxy.auth import AuthConfig, Authenticator, InsecureBind, KeyStoreError, decide_open, stores  # noqa: E402
from proxy.auth.keys import hash_secret  # noqa: E402
from proxy.auth.postgres_keys import PostgresKeyStore  # noqa: E402
from proxy.auth.ratelimit import PostgresRateLimiter, RateLimiter  # noqa: E402
from proxy.errors import QuotaExceeded, RateLimited, Unauthorized  # noqa: E402
from tests.api.conftest import build_app  # noqa: E402


@pytest.fixture
def pools(postgres_url):
    """Two replicas' connection pools on one database."""
    opened = [connect(postgres_url, timeout=3.0), connect(postgres_url, timeout=3.0)]
    yield opened
    for pool in opened:
        pool.close()


@pytest.fixture
def replicas(pools):
    return [PostgresKeyStore(pool) for pool in pools]


def run_together(workers: list) -> None:
    """Start every callable at the same moment in threads of their own; re-raise the first failure."""
    barrier = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def go(work):
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failures.append(exc)

    threads = [threading.Thread(target=go, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if failures:
        raise failures[0]


# -- keys across replicas -------------------------------------------------------------


def test_a_key_created_on_one_replica_authenticates_on_the_other(replicas):
    a, b = replicas
    key, secret = a.create(tenant="acme", name="backend", quota=10)

    found = b.lookup(secret)

    assert (found.id, found.tenant, found.name, found.quota) == (key.id, "acme", "backend", 10)
    assert found.created_at == key.created_at
    assert [k.id for k in b.list()] == [key.id]


def test_a_key_revoked_on_one_replica_is_refused_by_the_other_on_its_next_lookup(replicas):
    a, b = replicas
    key, secret = a.create(tenant="acme")
    assert b.lookup(secret) is not None

    a.revoke(key.id)

    assert b.lookup(secret) is None
    assert b.list()[0].revoked
    assert not b.has_active_keys()
    assert b.has_any_keys()


def test_only_a_hash_of_the_key_is_stored(replicas, pools):
    _, secret = replicas[0].create(tenant="acme", name="backend")
    with pools[0].connection() as conn:
        rows = conn.execute("SELECT t::text FROM memproxy_api_keys AS t").fetchall()
    stored = " ".join(r[0] for r in rows)

    assert secret not in stored and secret[3:] not in stored
    assert hash_secret(secret) in stored


def test_the_postgres_store_keeps_the_sqlite_stores_rules(replicas):
    store = replicas[0]
    with pytest.raises(KeyStoreError, match="no key with id 'key_nope'"):
        store.revoke("key_nope")
    for tenant in ["", "a b", "../etc", "x" * 65, "-leading"]:
        with pytest.raises(KeyStoreError, match="a tenant is"):
            store.create(tenant=tenant)
    with pytest.raises(KeyStoreError, match="a quota is"):
        store.create(tenant="acme", quota=0)

    first, secret = store.create(tenant="acme")
    second, _ = store.create(tenant="beta")
    assert [k.id for k in store.list()] == [first.id, second.id]
    assert store.revoke(first.id).revoked_at == store.revoke(first.id).revoked_at  # twice is fine
    assert store.has_active_keys()
    for attempt in ["", "mk_", "mk_short", "sk-something", "mk_" + "x" * 40, secret]:
        assert store.lookup(attempt) is None  # the last one is revoked
    assert first.created_at.endswith("Z") and len(first.created_at) == len("2026-01-31T12:00:00Z")


def test_usage_is_counted_per_key_and_month_up_to_the_quota(replicas):
    a, b = replicas
    key, _ = a.create(tenant="acme")

    assert [s.consume(key.id, 2, month="2026-01") for s in (a, b, a)] == [True, True, False]
    assert b.consume(key.id, 2, month="2026-02")
    assert b.consume(key.id, None, month="2026-02")  # no quota: always counted
    assert (a.usage(key.id, "2026-01"), b.usage(key.id, "2026-02"), a.usage(key.id, "2025-12")) == (2, 2, 0)


def test_the_quota_is_never_exceeded_by_concurrent_requests_from_two_replicas(replicas):
    key, _ = replicas[0].create(tenant="acme")
    quota, attempts = 37, 10
    admitted: list[bool] = []
    lock = threading.Lock()

    def requests(store):
        def work():
            for _ in range(attempts):
                ok = store.consume(key.id, quota, month="2026-03")
                with lock:
                    admitted.append(ok)
        return work

    run_together([requests(store) for store in replicas for _ in range(8)])

    assert len(admitted) == 2 * 8 * attempts
    assert admitted.count(True) == quota
    assert replicas[1].usage(key.id, "2026-03") == quota


# -- the shared rate limit --------------------------------------------------------------


def test_the_shared_rate_limit_allows_exactly_n_per_minute_across_replicas(pools):
    clock = [600.0]
    limiters = [PostgresRateLimiter(pool, 25, clock=lambda: clock[0]) for pool in pools]
    results: list[tuple[bool, int, int]] = []
    lock = threading.Lock()

    def requests(limiter):
        def work():
            for _ in range(6):
                hit = limiter.hit("key_a")
                with lock:
                    results.append(hit)
        return work

    run_together([requests(limiter) for limiter in limiters for _ in range(8)])

    allowed = [r for r in results if r[0]]
    assert len(results) == 96 and len(allowed) == 25
    assert sorted(r[1] for r in allowed) == list(range(25))  # every count given out once
    assert all(r == (False, 0, 60) for r in results if not r[0])
    assert limiters[0].hit("key_b")[:2] == (True, 24)  # per key
    clock[0] = 661.5  # the next minute
    assert limiters[1].hit("key_a") == (True, 24, 58)


def test_the_shared_rate_limit_matches_the_in_process_one_on_one_replica(pools):
    clock = lambda: 1_000_030.0  # noqa: E731
    shared, local = PostgresRateLimiter(pools[0], 3, clock), RateLimiter(3, clock)

    assert [shared.hit("k") for _ in range(5)] == [local.hit("k") for _ in range(5)]


def test_the_database_clock_decides_the_minute_by_default(pools):
    a, b = (PostgresRateLimiter(pool, 2) for pool in pools)

    first, second, third = a.hit("k"), b.hit("k"), a.hit("k")

    assert first[:2] == (True, 1) and 1 <= first[2] <= 60
    if third[2] <= first[2]:  # the same minute (it may just have turned)
        assert second[:2] == (True, 0)
        assert third == (False, 0, third[2])


def test_past_minutes_are_deleted_lazily(pools):
    clock = [600.0]
    limiter = PostgresRateLimiter(pools[0], 5, clock=lambda: clock[0])
    limiter.hit("a"), limiter.hit("b")
    clock[0] = 60.0 * 12
    limiter.hit("a")
    with pools[0].connection() as conn:
        windows = conn.execute("SELECT window_start, bucket FROM memproxy_rate_limits ORDER BY 1, 2").fetchall()
    assert windows == [(12, "a")]


# -- the Authenticator and the open-mode rule on PostgreSQL ----------------------------------


def test_the_factory_picks_sqlite_without_a_pool_and_postgres_with_one(pools, tmp_path):
    from proxy.auth import KeyStore

    assert isinstance(stores.key_store(tmp_path / "keys.sqlite3"), KeyStore)
    assert isinstance(stores.key_store(tmp_path / "keys.sqlite3", pools[0]), PostgresKeyStore)
    assert stores.rate_limiter(None, pools[0]) is None
    assert isinstance(stores.rate_limiter(10), RateLimiter)
    assert isinstance(stores.rate_limiter(10, pools[0]), PostgresRateLimiter)
    auth = Authenticator(PostgresKeyStore(pools[0]), open_mode=False, rate_limit_per_minute=5)
    assert isinstance(auth._limiter, PostgresRateLimiter)  # the limit follows the store


def test_the_authenticator_admits_refuses_and_meters_on_the_postgres_stores(replicas):
    a, b = replicas
    clock = lambda: 6_000.0  # noqa: E731
    auths = [Authenticator(s, open_mode=False, monthly_quota=4, rate_limit_per_minute=3, clock=clock)
             for s in replicas]
    key, secret = a.create(tenant="acme", name="backend")
    header = f"Bearer {secret}"

    principal = auths[1].authenticate(header)
    assert (principal.tenant, principal.key_id, principal.key_name) == ("acme", key.id, "backend")
    assert auths[0].authenticate(f"Token {secret}").tenant == "acme"
    assert auths[1].authenticate(header, metered=False).tenant == "acme"  # ping: not counted
    auths[0].authenticate(header)
    with pytest.raises(RateLimited) as limited:  # 3 a minute, counted across both replicas
        auths[1].authenticate(header)
    assert limited.value.headers["X-RateLimit-Limit"] == "3"
    with pytest.raises(Unauthorized):
        auths[0].authenticate(None)

    quota_key, quota_secret = b.create(tenant="beta", quota=2)
    free = [Authenticator(s, open_mode=False, monthly_quota=4) for s in replicas]
    free[0].authenticate(f"Bearer {quota_secret}")
    free[1].authenticate(f"Bearer {quota_secret}")
    with pytest.raises(QuotaExceeded, match="monthly quota of 2"):  # the key's own quota wins
        free[0].authenticate(f"Bearer {quota_secret}")

    b.revoke(key.id)
    with pytest.raises(Unauthorized, match="invalid or revoked"):
        free[0].authenticate(header)


def test_the_open_mode_decision_is_the_same_on_postgres(replicas):
    a, b = replicas
    assert decide_open("127.0.0.1", b, AuthConfig()) is True
    with pytest.raises(InsecureBind, match="memproxy keys create"):
        decide_open("0.0.0.0", b, AuthConfig())

    key, _ = a.create(tenant="acme")
    assert decide_open("0.0.0.0", b, AuthConfig()) is False

    a.revoke(key.id)  # every key revoked: still closed
    assert decide_open("127.0.0.1", b, AuthConfig()) is False
    assert decide_open("127.0.0.1", b, AuthConfig(open=True)) is True


async def test_a_key_revoked_through_one_replica_gets_401_from_the_other_over_http(replicas, api_memory):
    a, b = replicas
    key, secret = a.create(tenant=f"t{uuid.uuid4().hex[:8]}")
    app = build_app(api_memory, Authenticator(b, open_mode=False))
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://memproxy",
                                 headers=headers) as client:
        assert (await client.get("/v1/memories", params={"userId": "u"})).status_code == 200
        a.revoke(key.id)
        assert (await client.get("/v1/memories", params={"userId": "u"})).status_code == 401


def test_memproxy_keys_manages_the_postgres_keys_in_the_shared_state_mode(postgres_url, replicas, tmp_path):
    import argparse
    import io
    import json
    from types import SimpleNamespace

    from pydantic import SecretStr

    from proxy.keys_cli import add_keys_commands, run_keys_command

    config = SimpleNamespace(keys_path=tmp_path / "keys.sqlite3", memory=SimpleNamespace(tenant="default"),
                             auth=AuthConfig(), database=SimpleNamespace(url=SecretStr(postgres_url)))

    def memproxy(*argv):
        parser = argparse.ArgumentParser(prog="memproxy")
        add_keys_commands(parser.add_subparsers(dest="command", required=True))
        out, err = io.StringIO(), io.StringIO()
        return run_keys_command(config, parser.parse_args(list(argv)), out, err), out.getvalue(), err.getvalue()

    code, out, _ = memproxy("keys", "create", "--tenant", "acme", "--json")
    created = json.loads(out)
    assert code == 0 and replicas[1].lookup(created["key"]).tenant == "acme"
    assert not config.keys_path.exists()  # nothing in SQLite
    assert memproxy("keys", "revoke", created["id"])[0] == 0
    assert replicas[1].lookup(created["key"]) is None
    assert memproxy("keys", "revoke", "key_nope")[:2] == (1, "")


# -- a database that goes away: fail closed ------------------------------------------------


async def test_a_database_that_goes_away_makes_authentication_fail_closed(postgres_server, postgres_url,
                                                                           api_memory):
    pool = connect(postgres_url, timeout=1.0)
    try:
        store = PostgresKeyStore(pool)
        _, secret = store.create(tenant="acme")
        closed = Authenticator(store, open_mode=False)
        opened = Authenticator(store, open_mode=True, rate_limit_per_minute=100)
        assert closed.authenticate(f"Bearer {secret}").tenant == "acme"

        postgres_server.psql(f"DROP DATABASE {urlsplit(postgres_url).path.lstrip('/')} WITH (FORCE);")

        for _ in range(2):  # a broken pooled connection, then no connection at all
            with pytest.raises(DatabaseError, match="API key database"):
                closed.authenticate(f"Bearer {secret}")
        with pytest.raises(DatabaseError):
            opened.authenticate(f"Bearer {secret}")  # an open server refuses the key too, never admits it
        with pytest.raises(DatabaseError):
            opened.authenticate(None)  # the shared rate limit cannot be counted: refused
        with pytest.raises(DatabaseError):
            decide_open("127.0.0.1", store, AuthConfig())  # never "no keys, so open"

        app = build_app(api_memory, closed)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://memproxy",
                                     headers={"Authorization": f"Bearer {secret}"}) as client:
            response = await client.get("/v1/memories", params={"userId": "u"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert secret not in response.text
    finally:
        pool.close()
