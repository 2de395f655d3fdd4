"""Every error code of /v1/memories, with its status and ``{"error": {"code", "message"}}``
body; malformed input of every kind is a 4xx with a clear message, never a 500, and
a refused request changes nothing."""

from __future__ import annotations

import httpx
import pytest


def error_of(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["message"]


@pytest.fixture
def memory(api, user_id):
    return api.post("/v1/memories", json={"content": "我不能吃辣", "userId": user_id, "tags": ["food"]}).json()


MISSING = "mem_" + "0" * 32


# -- UNAUTHORIZED -------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer mk_" + "x" * 40},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "mk_" + "x" * 40},
], ids=["no header", "unknown key", "empty bearer", "basic auth", "no scheme"])
def test_requests_without_a_valid_key_are_unauthorized(anonymous, headers):
    response = anonymous.get("/v1/memories", params={"userId": "u"}, headers=headers)
    message = error_of(response, 401, "UNAUTHORIZED")
    assert "mk_" + "x" * 40 not in message


def test_a_revoked_key_is_unauthorized(anonymous, key_store, new_key):
    tenant = new_key()
    key_store.revoke(tenant.key_id)

    response = anonymous.get("/v1/memories", params={"userId": "u"}, headers=tenant.headers)

    error_of(response, 401, "UNAUTHORIZED")


def test_mem0_style_token_auth_works_on_the_rest_api_too(anonymous, alice):
    response = anonymous.get("/v1/memories", params={"userId": "u"},
                             headers={"Authorization": f"Token {alice.key}"})
    assert response.status_code == 200


# -- MEMORY_NOT_FOUND ---------------------------------------------------------------


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/memories/{id}", None),
    ("PATCH", "/v1/memories/{id}", {"content": "x"}),
    ("DELETE", "/v1/memories/{id}", None),
    ("GET", "/v1/memories/{id}/history", None),
])
def test_unknown_ids_are_memory_not_found(api, method, path, body):
    response = api.request(method, path.format(id=MISSING), json=body)
    assert MISSING in error_of(response, 404, "MEMORY_NOT_FOUND")


def test_a_deleted_memory_is_not_found(api, memory):
    api.delete(f"/v1/memories/{memory['id']}")
    error_of(api.get(f"/v1/memories/{memory['id']}"), 404, "MEMORY_NOT_FOUND")
    error_of(api.delete(f"/v1/memories/{memory['id']}"), 404, "MEMORY_NOT_FOUND")


# -- CONTENT_TOO_LONG ---------------------------------------------------------------


def test_content_over_10000_characters_is_too_long_and_not_stored(api, user_id):
    response = api.post("/v1/memories", json={"content": "长" * 10_001, "userId": user_id})

    assert "10000" in error_of(response, 413, "CONTENT_TOO_LONG")
    assert api.get("/v1/memories", params={"userId": user_id}).json()["pagination"]["total"] == 0


def test_patching_in_too_long_content_leaves_the_memory_unchanged(api, memory):
    response = api.patch(f"/v1/memories/{memory['id']}", json={"content": "x" * 10_001})

    error_of(response, 413, "CONTENT_TOO_LONG")
    assert api.get(f"/v1/memories/{memory['id']}").json() == memory


def test_a_too_long_query_is_too_long(api, user_id):
    response = api.post("/v1/memories/search", json={"query": "q" * 10_001, "userId": user_id})
    error_of(response, 413, "CONTENT_TOO_LONG")


def test_a_too_long_message_is_too_long(api, user_id):
    response = api.post("/v1/memories", json={"messages": [{"role": "user", "content": "x" * 10_001}],
                                              "userId": user_id, "infer": False})
    error_of(response, 413, "CONTENT_TOO_LONG")


# -- INVALID_USER_ID ----------------------------------------------------------------


@pytest.mark.parametrize("user", [
    None, "", "   ", 123, ["alice"], {"id": "alice"}, True, "a" * 129, "bad\x00id", "line\nbreak",
], ids=["null", "empty", "blank", "number", "list", "object", "bool", "129 chars", "NUL", "newline"])
def test_post_needs_a_sane_user_id(api, user, user_id):
    body = {"content": "hello"} if user is None else {"content": "hello", "userId": user}

    error_of(api.post("/v1/memories", json=body), 400, "INVALID_USER_ID")


def test_snake_case_user_id_is_refused_with_a_hint(api):
    message = error_of(api.post("/v1/memories", json={"content": "hello", "user_id": "alice"}),
                       400, "INVALID_USER_ID")
    assert "userId" in message and "camelCase" in message


def test_search_needs_a_subject(api):
    error_of(api.post("/v1/memories/search", json={"query": "anything"}), 400, "INVALID_USER_ID")


@pytest.mark.parametrize("params", [{}, {"userId": ""}, {"tags": "food"}])
def test_list_needs_a_subject(api, params):
    error_of(api.get("/v1/memories", params=params), 400, "INVALID_USER_ID")


@pytest.mark.parametrize("params", [{}, {"userId": ""}])
def test_delete_all_needs_a_subject_and_deletes_nothing_without_one(api, memory, params):
    error_of(api.delete("/v1/memories", params=params), 400, "INVALID_USER_ID")
    assert api.get(f"/v1/memories/{memory['id']}").status_code == 200


# -- QUOTA_EXCEEDED -----------------------------------------------------------------


def test_a_key_over_its_monthly_quota_gets_quota_exceeded(anonymous, new_key):
    tenant = new_key(quota=2)
    for _ in range(2):
        assert anonymous.get("/v1/memories", params={"userId": "u"}, headers=tenant.headers).status_code == 200

    response = anonymous.get("/v1/memories", params={"userId": "u"}, headers=tenant.headers)

    assert "quota" in error_of(response, 429, "QUOTA_EXCEEDED")
    assert int(response.headers["Retry-After"]) > 0


# -- VALIDATION_ERROR and PAYLOAD_TOO_LARGE ------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b'"text"', b"null", b'{"content": NaN}',
                                 b"\xff\xfe", b"[" * 100_000])
def test_bodies_that_are_not_a_json_object_are_refused(api, raw):
    response = api.post("/v1/memories", content=raw, headers={"Content-Type": "application/json"})
    error_of(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("body,field", [
    ({"content": 42}, "content"),
    ({"content": ["a"]}, "content"),
    ({"content": "x", "tags": "food"}, "tags"),
    ({"content": "x", "tags": [1, 2]}, "tags"),
    ({"content": "x", "tags": [""]}, "tag"),
    ({"content": "x", "tags": ["t" * 65]}, "tag"),
    ({"content": "x", "tags": [f"t{i}" for i in range(33)]}, "tags"),
    ({"content": "x", "metadata": ["not", "an", "object"]}, "metadata"),
    ({"content": "x", "metadata": {"bad key!": 1}}, "metadata"),
    ({"content": "x", "metadata": {"blob": "y" * 20_000}}, "metadata"),
    ({"content": "x", "agentId": 7}, "agentId"),
    ({"content": "x", "surprise": True}, "surprise"),
    ({"content": "   "}, "content"),
    ({}, "content"),
    ({"content": "x", "messages": [{"role": "user", "content": "y"}]}, "content"),
    ({"messages": []}, "messages"),
    ({"messages": "hello"}, "messages"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "role"),
    ({"messages": [{"role": "user", "content": 5}]}, "content"),
    ({"messages": [{"role": "user", "content": "hi"}], "infer": "yes"}, "infer"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_malformed_create_bodies_are_validation_errors(api, user_id, body, field):
    response = api.post("/v1/memories", json={"userId": user_id, **body})

    assert field in error_of(response, 400, "VALIDATION_ERROR")
    assert api.get("/v1/memories", params={"userId": user_id}).json()["pagination"]["total"] == 0


@pytest.mark.parametrize("body,field", [
    ({"query": ""}, "query"),
    ({"query": "   "}, "query"),
    ({"query": 5}, "query"),
    ({"query": "x", "limit": 0}, "limit"),
    ({"query": "x", "limit": 101}, "limit"),
    ({"query": "x", "limit": "5"}, "limit"),
    ({"query": "x", "limit": 2.5}, "limit"),
    ({"query": "x", "limit": True}, "limit"),
    ({"query": "x", "threshold": -0.01}, "threshold"),
    ({"query": "x", "threshold": 1.01}, "threshold"),
    ({"query": "x", "threshold": "0.5"}, "threshold"),
    ({"query": "x", "tags": "food"}, "tags"),
    ({"query": "x", "context": "earlier"}, "context"),
    ({"query": "x", "context": [5]}, "context"),
    ({"query": "x", "context": ["a"] * 21}, "context"),
    ({"query": "x", "context": ["a" * 10_001]}, "context"),
])
def test_malformed_searches_are_validation_errors(api, user_id, body, field):
    response = api.post("/v1/memories/search", json={"userId": user_id, **body})
    assert field in error_of(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("params,field", [
    ({"page": 0}, "page"),
    ({"page": -1}, "page"),
    ({"page": "abc"}, "page"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"user_id": "x"}, "user_id"),
])
def test_malformed_list_queries_are_validation_errors(api, user_id, params, field):
    response = api.get("/v1/memories", params={"userId": user_id, **params})
    assert field in error_of(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("body", [{}, {"content": ""}, {"content": None, "tags": None}, {"tags": "x"},
                                  {"metadata": 5}, {"userId": "someone-else"}])
def test_malformed_patches_change_nothing(api, memory, body):
    response = api.patch(f"/v1/memories/{memory['id']}", json=body)

    error_of(response, 400, "VALIDATION_ERROR")
    assert api.get(f"/v1/memories/{memory['id']}").json() == memory


@pytest.mark.parametrize("bad_id", ["abc", "mem_123", "mem_" + "z" * 32, "x" * 10_000, "记忆", "mem_%00",
                                    "..", "%2e%2e"])
def test_malformed_ids_are_refused_on_every_item_route(api, bad_id):
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/history")):
        response = api.request(method, f"/v1/memories/{bad_id}{suffix}",
                               json={"content": "x"} if method == "PATCH" else None)
        assert 400 <= response.status_code < 500, (method, bad_id, response.text)
        assert response.status_code != 500


def test_path_traversal_ids_never_reach_a_handler(api):
    for path in ("/v1/memories/..%2F..%2Fetc%2Fpasswd", "/v1/memories/%2e%2e%2fx/history"):
        assert api.get(path).status_code == 404


def test_an_oversized_body_is_refused_before_it_is_read(api, user_id):
    response = api.post("/v1/memories", content=b'{"content": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                        headers={"Content-Type": "application/json"})
    error_of(response, 413, "PAYLOAD_TOO_LARGE")


def test_every_error_body_has_the_same_shape(api):
    responses = [
        api.post("/v1/memories", content=b"nope"),
        api.get(f"/v1/memories/{MISSING}"),
        api.get("/v1/memories"),
        api.post("/v1/memories", json={"content": "x" * 10_001, "userId": "u"}),
    ]
    for response in responses:
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()["error"]) == {"code", "message"}


# -- MEMORY_UNAVAILABLE ----------------------------------------------------------------


async def test_while_the_memory_store_loads_requests_get_503_and_ping_still_answers(key_store, new_key):
    import httpx

    from proxy.auth import Authenticator
    from tests.api.conftest import build_app

    tenant = new_key()
    app = build_app(lambda: None, Authenticator(key_store, open_mode=False))   # memory not loaded yet
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://memproxy",
                                 headers=tenant.headers) as client:
        loading = await client.get("/v1/memories", params={"userId": "u"})
        ping = await client.get("/v1/ping/")

    assert "not ready" in error_of(loading, 503, "MEMORY_UNAVAILABLE")
    assert loading.headers["Retry-After"] == "5"
    assert ping.status_code == 200


def deep(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_metadata_the_store_cannot_read_back_is_a_400_and_the_user_stays_usable(api, user_id, memory):
    created = api.post("/v1/memories", json={"content": "x", "userId": user_id, "metadata": deep(126)})
    patched = api.patch(f"/v1/memories/{memory['id']}", json={"metadata": deep(126)})

    error_of(created, 400, "VALIDATION_ERROR")
    error_of(patched, 400, "VALIDATION_ERROR")
    listed = api.get("/v1/memories", params={"userId": user_id})
    assert listed.status_code == 200 and [m["id"] for m in listed.json()["items"]] == [memory["id"]]
    assert api.post("/v1/memories/search", json={"query": "x", "userId": user_id}).status_code == 200
    assert api.get(f"/v1/memories/{memory['id']}").json()["metadata"] == memory["metadata"]


@pytest.mark.parametrize("body", [
    {"content": "x", "metadata": {"k": "\ud800"}},
    {"content": "x", "tags": ["\ud800"]},
    {"content": "hi \ud800"},
])
def test_a_lone_surrogate_is_a_400(api, user_id, body):
    import json

    raw = json.dumps({**body, "userId": user_id})  # ensure_ascii: the surrogate travels as \ud800
    response = api.post("/v1/memories", content=raw, headers={"Content-Type": "application/json"})
    error_of(response, 400, "VALIDATION_ERROR")


# -- METHOD_NOT_ALLOWED: Allow names every method of the path, in the family's shape ----


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/v1/memories", {"GET", "HEAD", "POST", "DELETE"}),
    ("POST", f"/v1/memories/{MISSING}", {"GET", "HEAD", "PATCH", "DELETE"}),
    ("PUT", f"/v1/memories/{MISSING}/history", {"GET", "HEAD"}),
])
def test_a_wrong_method_is_a_405_whose_allow_header_lists_every_method_of_the_path(api, method, path, allowed):
    response = api.request(method, path)
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["allow"].split(", ")) == allowed


@pytest.mark.parametrize("method, path, allowed", [
    ("PATCH", "/v1/memories/", {"GET", "HEAD", "POST", "DELETE"}),
    ("POST", f"/v1/memories/{MISSING}/", {"GET", "HEAD", "PUT", "DELETE"}),
    ("POST", "/v1/batch/", {"PUT", "DELETE"}),
])
def test_a_wrong_method_on_a_mem0_route_is_a_405_in_mem0s_shape(api, method, path, allowed):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED" and response.json()["detail"]
    assert set(response.headers["allow"].split(", ")) == allowed


# -- INTERNAL_ERROR: a bug is a 500 in the family's shape, its details stay in the log ----


class _Broken:
    """A memory store whose every call fails the way a bug would."""

    def __getattr__(self, name):
        async def fail(*args, **kwargs):
            raise RuntimeError("secret internals of the bug")
        return fail


def test_a_bug_answers_500_in_each_familys_shape_without_its_details(key_store, alice):
    from proxy.auth import Authenticator
    from tests.api.conftest import LiveServer, build_app

    with LiveServer(build_app(_Broken(), Authenticator(key_store, open_mode=False))) as server:
        with httpx.Client(base_url=server.url, headers=alice.headers) as client:
            rest = client.get("/v1/memories", params={"userId": "u1"})
            mem0 = client.get("/v1/memories/", params={"user_id": "u1"})  # same connection, kept open
    error_of(rest, 500, "INTERNAL_ERROR")
    assert mem0.status_code == 500 and mem0.json()["code"] == "INTERNAL_ERROR"
    assert "secret internals" not in rest.text + mem0.text


def test_a_path_no_route_serves_is_a_404_in_the_shape_of_its_family(api):
    error_of(api.get(f"/v1/memories/{MISSING}/history/extra"), 404, "NOT_FOUND")
    mem0 = api.get("/v1/memories/a%2Fb/c/")
    assert mem0.status_code == 404 and mem0.json()["code"] == "NOT_FOUND" and mem0.json()["detail"]
