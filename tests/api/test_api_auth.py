"""API keys and tenants: keys stored only as hashes and compared in constant time,
never logged; ``Bearer`` and ``Token`` auth; the open-mode rule; quotas and rate limits."""

from __future__ import annotations

import logging
import re
import uuid

import httpx
import pytest

from proxy.auth import AuthConfig, Authenticator, InsecureBind, KeyStore, KeyStoreError, credentials, decide_open, is_loopback
from proxy.auth import keys as keys_module
from tests.api.conftest import build_app


@pytest.fixture
def store(tmp_path):
    s = KeyStore(tmp_path / "keys.sqlite3")
    yield s
    s.close()


def client_for(app, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://memproxy", headers=headers)


# -- the key store ------------------------------------------------------------------


def test_a_key_is_mk_and_at_least_32_random_characters(store):
    _, secret = store.create(tenant="acme")
    _, other = store.create(tenant="acme")

    assert re.fullmatch(r"mk_[A-Za-z0-9]{32,}", secret)
    assert secret != other


def test_only_a_hash_of_the_key_is_stored(store, tmp_path):
    _, secret = store.create(tenant="acme", name="backend")
    store.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("keys.sqlite3*"))

    assert secret.encode() not in stored
    assert secret[3:].encode() not in stored
    assert keys_module.hash_secret(secret).encode() in stored


def test_lookup_finds_the_key_and_its_tenant(store):
    key, secret = store.create(tenant="acme", name="backend", quota=10)

    found = store.lookup(secret)

    assert (found.id, found.tenant, found.name, found.quota) == (key.id, "acme", "backend", 10)


@pytest.mark.parametrize("attempt", ["", "mk_", "mk_short", "sk-something", "mk_" + "x" * 40])
def test_lookup_of_anything_else_finds_nothing(store, attempt):
    store.create(tenant="acme")
    assert store.lookup(attempt) is None


def test_lookup_compares_hashes_in_constant_time(store, monkeypatch):
    _, secret = store.create(tenant="acme")
    calls = []
    real = keys_module.hmac.compare_digest
    monkeypatch.setattr(keys_module.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))

    assert store.lookup(secret) is not None
    assert calls == [(keys_module.hash_secret(secret),) * 2]


def test_a_revoked_key_is_not_found(store):
    key, secret = store.create(tenant="acme")
    store.revoke(key.id)
    assert store.lookup(secret) is None
    assert store.list()[0].revoked


def test_revoking_an_unknown_key_is_an_error(store):
    with pytest.raises(KeyStoreError):
        store.revoke("key_nope")


@pytest.mark.parametrize("tenant", ["", " ", "a b", "../etc", "x" * 65, "-leading", "tab\t"])
def test_tenant_names_are_checked(store, tenant):
    with pytest.raises(KeyStoreError):
        store.create(tenant=tenant)


def test_usage_is_counted_per_key_and_month_up_to_the_quota(store):
    key, _ = store.create(tenant="acme")

    assert [store.consume(key.id, 2, month="2026-01") for _ in range(3)] == [True, True, False]
    assert store.consume(key.id, 2, month="2026-02")
    assert store.usage(key.id, "2026-01") == 2


@pytest.mark.parametrize("header,expected", [
    ("Bearer mk_abc", "mk_abc"), ("bearer mk_abc", "mk_abc"), ("Token mk_abc", "mk_abc"),
    ("  Token   mk_abc  ", "mk_abc"), ("Basic mk_abc", None), ("mk_abc", None), ("Bearer", None), (None, None),
])
def test_credentials_come_from_bearer_or_token_headers(header, expected):
    assert credentials(header) == expected


def test_keys_never_reach_the_log(live, alice, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "mk_" + "Q" * 40
    with httpx.Client(base_url=live.url) as client:
        client.get("/v1/memories", params={"userId": "u"}, headers=alice.headers)
        client.get("/v1/memories", params={"userId": "u"}, headers={"Authorization": f"Bearer {wrong}"})
        client.get("/v1/ping/", headers={"Authorization": f"Token {wrong}"})

    assert alice.key not in caplog.text
    assert wrong not in caplog.text


# -- the open-mode rule -------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.8.9.10"])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", ""])
def test_non_loopback_addresses(host):
    assert not is_loopback(host)


def test_without_keys_a_loopback_server_runs_open_and_says_so(store, caplog):
    caplog.set_level(logging.WARNING)
    assert decide_open("127.0.0.1", store, AuthConfig()) is True
    assert "OPEN" in caplog.text


def test_without_keys_a_public_server_refuses_to_start(store):
    with pytest.raises(InsecureBind, match="memproxy keys create"):
        decide_open("0.0.0.0", store, AuthConfig())


def test_an_explicit_allow_open_lets_a_public_server_run_open_with_a_warning(store, caplog):
    caplog.set_level(logging.WARNING)
    assert decide_open("0.0.0.0", store, AuthConfig(allow_open=True)) is True
    assert "OPEN" in caplog.text


def test_with_keys_a_public_server_starts_and_never_runs_open(store):
    store.create(tenant="acme")
    assert decide_open("0.0.0.0", store, AuthConfig()) is False


def test_a_key_store_whose_keys_are_all_revoked_still_requires_keys_at_start_up(store):
    key, _ = store.create(tenant="acme")
    store.revoke(key.id)
    assert decide_open("127.0.0.1", store, AuthConfig()) is False


def test_auth_open_says_it_explicitly_either_way(store):
    assert decide_open("127.0.0.1", store, AuthConfig(open=False)) is False
    store.create(tenant="acme")
    assert decide_open("127.0.0.1", store, AuthConfig(open=True)) is True
    with pytest.raises(InsecureBind, match="auth.open is true"):
        decide_open("0.0.0.0", store, AuthConfig(open=True))


async def test_an_open_server_serves_requests_without_a_key_as_the_default_tenant(store, api_memory):
    app = build_app(api_memory, Authenticator(store, open_mode=True))
    user = f"open-{uuid.uuid4().hex[:8]}"
    async with client_for(app) as anonymous:
        created = await anonymous.post("/v1/memories", json={"content": "open mode works", "userId": user})
        pinged = await anonymous.get("/v1/ping/", headers={"Authorization": "Token m0-anything"})
        placeholder = await anonymous.get("/v1/memories", params={"userId": user},
                                          headers={"Authorization": "Bearer sk-anything"})

    assert created.status_code == 201
    assert pinged.json()["project_id"] == "default"
    assert [m["content"] for m in placeholder.json()["items"]] == ["open mode works"]


async def test_creating_a_key_never_changes_a_running_open_server(store, api_memory):
    app = build_app(api_memory, Authenticator(store, open_mode=True))
    user = f"open-{uuid.uuid4().hex[:8]}"
    _, secret = store.create(tenant="acme")
    async with client_for(app) as anonymous, client_for(app, secret) as keyed:
        assert (await anonymous.post("/v1/memories", json={"content": "still open", "userId": user})).status_code == 201
        assert (await keyed.get("/v1/memories", params={"userId": user})).json()["items"] == []  # acme's own


async def test_revoking_the_last_key_never_opens_a_closed_server(store, api_memory):
    key, secret = store.create(tenant="acme")
    app = build_app(api_memory, Authenticator(store, open_mode=False))
    async with client_for(app, secret) as keyed:
        assert (await keyed.post("/v1/memories", json={"content": "mine", "userId": "u"})).status_code == 201
        memory_id = (await keyed.get("/v1/memories", params={"userId": "u"})).json()["items"][0]["id"]
    store.revoke(key.id)

    async with client_for(app) as anonymous, client_for(app, secret) as revoked:
        assert (await anonymous.get(f"/v1/memories/{memory_id}")).status_code == 401
        assert (await revoked.post("/v1/memories", json={"content": "more", "userId": "u"})).status_code == 401


async def test_a_revoked_key_is_refused_by_an_open_server_too(store, api_memory):
    key, secret = store.create(tenant="acme")
    app = build_app(api_memory, Authenticator(store, open_mode=True))
    store.revoke(key.id)
    async with client_for(app, secret) as revoked:
        response = await revoked.post("/v1/memories", json={"content": "x", "userId": "u"})
    assert response.status_code == 401


# -- quotas and rate limits -----------------------------------------------------------


async def test_the_configured_monthly_quota_applies_to_keys_without_their_own(store, api_memory):
    _, secret = store.create(tenant="acme")
    app = build_app(api_memory, Authenticator(store, open_mode=False, monthly_quota=1))
    async with client_for(app, secret) as client:
        first = await client.get("/v1/memories", params={"userId": "u"})
        second = await client.get("/v1/memories", params={"userId": "u"})

    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]["code"]) == (429, "QUOTA_EXCEEDED")


async def test_ping_does_not_count_against_the_quota(store, api_memory):
    _, secret = store.create(tenant="acme", quota=1)
    app = build_app(api_memory, Authenticator(store, open_mode=False))
    async with client_for(app, secret) as client:
        for _ in range(3):
            assert (await client.get("/v1/ping/")).status_code == 200
        assert (await client.get("/v1/memories", params={"userId": "u"})).status_code == 200


async def test_the_rate_limit_answers_rate_limited_with_retry_after(store, api_memory):
    _, secret = store.create(tenant="acme")
    app = build_app(api_memory, Authenticator(store, open_mode=False, rate_limit_per_minute=2,
                                                         clock=lambda: 600.0))
    async with client_for(app, secret) as client:
        statuses = [(await client.get("/v1/memories", params={"userId": "u"})).status_code for _ in range(3)]
        limited = await client.get("/v1/memories", params={"userId": "u"})

    assert statuses == [200, 200, 429]
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert limited.headers["Retry-After"] == "60"
    assert limited.headers["X-RateLimit-Limit"] == "2"
