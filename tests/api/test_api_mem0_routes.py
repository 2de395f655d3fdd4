"""Mem0's platform routes on the wire, as shared/docs/mem0-compat.md records what the
released clients send: trailing slashes, ``Token`` auth, ping's org/project ids,
bare lists for 0.1.x, the 2.x ``filters`` dict literal, ``{"detail"}`` errors. One
store serves both APIs."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def mem0(live, alice):
    """An httpx client that talks like Mem0's SDK: ``Token`` auth, Mem0-User-ID header."""
    with httpx.Client(base_url=live.url, timeout=30, follow_redirects=False,
                      headers={"Authorization": f"Token {alice.key}", "Mem0-User-ID": "0" * 32}) as client:
        yield client


def detail_of(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body["detail"]


def add(mem0, user_id, text, **more):
    response = mem0.post("/v1/memories/", json={"messages": [{"role": "user", "content": text}],
                                                "user_id": user_id, **more})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def test_ping_answers_org_and_project_ids(mem0, alice):
    body = mem0.get("/v1/ping/").json()
    assert body["status"] == "ok"
    assert body["org_id"] and isinstance(body["org_id"], str)
    assert body["project_id"] == alice.name


def test_ping_with_a_wrong_key_is_401_with_a_detail(anonymous):
    response = anonymous.get("/v1/ping/", headers={"Authorization": "Token mk_" + "n" * 40})
    assert "invalid" in detail_of(response, 401)


def test_add_v1_ignores_the_fields_older_clients_add(mem0, user_id):
    response = mem0.post("/v1/memories/", json={
        "messages": [{"role": "user", "content": "我喜欢喝龙井茶"}, {"role": "assistant", "content": "好的"}],
        "user_id": user_id, "metadata": {"source": "chat"}, "output_format": "v1.1", "version": "v2",
        "async_mode": True, "org_id": "memproxy", "project_id": "whatever"})

    assert response.status_code == 200
    body = response.json()
    assert body["relations"] == []
    [event] = body["results"]
    assert (event["event"], event["memory"]) == ("ADD", "我喜欢喝龙井茶")
    assert event["id"].startswith("mem_")


def test_add_v3_takes_ids_inside_filters(mem0, user_id):
    response = mem0.post("/v3/memories/add/", json={"messages": [{"role": "user", "content": "I run marathons"}],
                                                    "filters": {"user_id": user_id}, "infer": False})
    assert [e["memory"] for e in response.json()["results"]] == ["I run marathons"]


def test_search_v1_answers_a_bare_list_unless_v1_1_is_asked(mem0, user_id):
    added = add(mem0, user_id, "我不能吃辣")

    bare = mem0.post("/v1/memories/search/", json={"query": "辣的菜", "user_id": user_id, "limit": 5})
    wrapped = mem0.post("/v1/memories/search/", json={"query": "辣的菜", "user_id": user_id,
                                                      "output_format": "v1.1"})

    assert isinstance(bare.json(), list)
    assert bare.json()[0]["id"] == added["id"]
    assert bare.json()[0]["memory"] == "我不能吃辣"
    assert 0 <= bare.json()[0]["score"] <= 1
    assert wrapped.json()["results"][0]["id"] == added["id"]


def test_search_v2_and_v3_answer_results_and_understand_filters(mem0, user_id):
    added = add(mem0, user_id, "I have a golden retriever", metadata={"topic": "pets"})
    add(mem0, user_id, "I have a broken bicycle", metadata={"topic": "things"})

    v2 = mem0.post("/v2/memories/search/", json={"query": "my dog", "filters": {"AND": [{"user_id": user_id}]},
                                                 "top_k": 1})
    v3 = mem0.post("/v3/memories/search/", json={"query": "what do I have?", "threshold": 0.0,
                                                 "filters": {"user_id": user_id, "topic": "pets"}})

    assert [r["id"] for r in v2.json()["results"]] == [added["id"]]
    assert [r["id"] for r in v3.json()["results"]] == [added["id"]]


def test_listing_in_each_generations_shape(mem0, user_id):
    first = add(mem0, user_id, "first")
    second = add(mem0, user_id, "second")

    v1 = mem0.get("/v1/memories/", params={"user_id": user_id, "org_id": "memproxy", "project_id": "x"}).json()
    v2 = mem0.post("/v2/memories/", json={"user_id": user_id}).json()
    v2_page = mem0.post("/v2/memories/", params={"page": 1, "page_size": 1}, json={"user_id": user_id}).json()
    v3 = mem0.post("/v3/memories/", params={"page": 2, "page_size": 1}, json={"filters": {"user_id": user_id}}).json()

    assert [m["id"] for m in v1] == [second["id"], first["id"]]
    assert [m["id"] for m in v2] == [second["id"], first["id"]]
    assert v2_page["count"] == 2 and [m["id"] for m in v2_page["results"]] == [second["id"]]
    assert v2_page["next"] and v2_page["previous"] is None
    assert v3["count"] == 2 and [m["id"] for m in v3["results"]] == [first["id"]]
    assert v3["next"] is None and v3["previous"]


def test_get_update_history_and_delete_one_memory(mem0, user_id):
    added = add(mem0, user_id, "I live in Berlin")
    path = f"/v1/memories/{added['id']}/"

    got = mem0.get(path).json()
    updated = mem0.put(path, json={"text": "I live in Munich", "metadata": {"moved": "2026"}}).json()
    history = mem0.get(f"/v1/memories/{added['id']}/history/").json()
    deleted = mem0.delete(path)

    assert got["memory"] == "I live in Berlin" and got["user_id"] == user_id and got["categories"] == []
    assert updated["memory"] == "I live in Munich" and updated["metadata"] == {"moved": "2026"}
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "I live in Berlin"), ("UPDATE", "I live in Berlin", "I live in Munich")]
    assert deleted.json() == {"message": "Memory deleted successfully!"}
    assert "not" in detail_of(mem0.get(path), 404).lower()


def test_update_with_metadata_only_keeps_the_text(mem0, user_id):
    added = add(mem0, user_id, "keep this text")
    updated = mem0.put(f"/v1/memories/{added['id']}/", json={"metadata": {"k": "v"}}).json()
    assert (updated["memory"], updated["metadata"]) == ("keep this text", {"k": "v"})


@pytest.mark.parametrize("params", [
    lambda u: {"user_id": u},
    lambda u: {"filters": str({"user_id": u})},          # what the 2.x SDK sends
    lambda u: {"filters": '{"user_id": "%s"}' % u},      # JSON works too
])
def test_delete_all_by_query_ids_or_filters_literal(mem0, user_id, params):
    add(mem0, user_id, "one")
    add(mem0, user_id, "two")

    response = mem0.delete("/v1/memories/", params=params(user_id))

    assert response.status_code == 200 and "message" in response.json()
    assert mem0.get("/v1/memories/", params={"user_id": user_id}).json() == []


@pytest.mark.parametrize("params", [{}, {"filters": "{}"}, {"filters": "__import__('os').system('x')"},
                                    {"filters": "[1, 2]"}, {"filters": "{'user_id': '*'}"}, {"app_id": "x"}])
def test_delete_all_without_a_usable_subject_is_400(mem0, params):
    detail_of(mem0.delete("/v1/memories/", params=params), 400)


def test_entities_list_and_delete(mem0, new_key, live):
    tenant = new_key()
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Token {tenant.key}"}) as client:
        add(client, "ann", "ann's memory", agent_id="tutor")
        add(client, "bob", "bob's memory")

        listed = client.get("/v1/entities/").json()
        assert {(e["type"], e["name"], e["total_memories"]) for e in listed["results"]} == {
            ("user", "ann", 1), ("user", "bob", 1), ("agent", "tutor", 1)}
        assert listed["count"] == 3

        assert client.delete("/v2/entities/user/ann/").status_code == 200
        assert client.delete("/v2/entities/agent/tutor/").status_code == 200   # nothing left: still fine
        assert [e["name"] for e in client.get("/v1/entities/").json()["results"]] == ["bob"]
        detail_of(client.delete("/v2/entities/planet/mars/"), 400)


def test_batch_update_and_delete(mem0, user_id):
    a = add(mem0, user_id, "alpha")
    b = add(mem0, user_id, "beta")

    updated = mem0.put("/v1/batch/", json={"memories": [{"memory_id": a["id"], "text": "ALPHA"}]})
    refused = mem0.request("DELETE", "/v1/batch/", json={"memories": [{"memory_id": b["id"]},
                                                                      {"memory_id": "mem_" + "0" * 32}]})
    deleted = mem0.request("DELETE", "/v1/batch/", json={"memories": [{"memory_id": a["id"]},
                                                                      {"memory_id": b["id"]}]})

    assert updated.status_code == 200
    detail_of(refused, 404)
    assert deleted.status_code == 200
    assert mem0.get("/v1/memories/", params={"user_id": user_id}).json() == []


@pytest.mark.parametrize("bad", [{"metadata": {"a.b": 1}}, {"text": "x" * 10_001}])
def test_a_batch_update_with_one_bad_entry_changes_nothing(mem0, user_id, bad):
    a = add(mem0, user_id, "alpha")
    b = add(mem0, user_id, "beta")

    refused = mem0.put("/v1/batch/", json={"memories": [{"memory_id": a["id"], "text": "ALPHA"},
                                                        {"memory_id": b["id"], **bad}]})

    assert refused.status_code in (400, 413)
    assert isinstance(refused.json()["detail"], str)
    assert mem0.get(f"/v1/memories/{a['id']}/").json()["memory"] == "alpha"
    assert [h["event"] for h in mem0.get(f"/v1/memories/{a['id']}/history/").json()] == ["ADD"]


@pytest.mark.parametrize("method,path", [("POST", "/v1/feedback/"), ("POST", "/v1/exports/"),
                                         ("POST", "/v1/summary/"), ("GET", "/v2/profiles/settings/")])
def test_platform_features_memproxy_lacks_answer_501_with_a_detail(mem0, method, path):
    assert "does not implement" in detail_of(mem0.request(method, path, json={}), 501)


def test_errors_are_details_with_mem0s_statuses(mem0, user_id, new_key, live):
    detail_of(mem0.post("/v1/memories/", content=b"{oops", headers={"Content-Type": "application/json"}), 400)
    detail_of(mem0.post("/v1/memories/", json={"messages": "hi"}), 400)                 # no subject
    detail_of(mem0.post("/v1/memories/", json={"messages": 5, "user_id": user_id}), 400)
    detail_of(mem0.post("/v1/memories/", json={"messages": "x" * 10_001, "user_id": user_id}), 400)
    detail_of(mem0.post("/v1/memories/search/", json={"user_id": user_id}), 400)          # no query
    detail_of(mem0.post("/v3/memories/search/", json={"query": "x", "filters": {"OR": [{"user_id": "a"},
                                                                                        {"user_id": "b"}]}}), 400)
    detail_of(mem0.get("/v1/memories/not-an-id/"), 400)
    detail_of(mem0.get("/v1/memories/mem_" + "0" * 32 + "/"), 404)

    limited = new_key(quota=1)
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Token {limited.key}"}) as client:
        client.get("/v1/memories/", params={"user_id": "u"})
        # Mem0's SDK turns a 413 into MemoryQuotaExceededError.
        assert "quota" in detail_of(client.get("/v1/memories/", params={"user_id": "u"}), 413)


def test_one_store_serves_both_apis(mem0, api, user_id):
    via_rest = api.post("/v1/memories", json={"content": "added through REST", "userId": user_id}).json()
    via_mem0 = add(mem0, user_id, "added through Mem0")

    mem0_view = mem0.get("/v1/memories/", params={"user_id": user_id}).json()
    rest_view = api.get("/v1/memories", params={"userId": user_id}).json()["items"]

    assert {m["id"] for m in mem0_view} == {via_rest["id"], via_mem0["id"]}
    assert {m["id"] for m in rest_view} == {via_rest["id"], via_mem0["id"]}
    assert api.get(f"/v1/memories/{via_mem0['id']}").json()["content"] == "added through Mem0"
    assert mem0.get(f"/v1/memories/{via_rest['id']}/").json()["memory"] == "added through REST"


@pytest.mark.parametrize("raw", [
    b"", b"{", b"[]", b'"x"', b"null", b'{"messages": null, "user_id": "u"}', b'{"query": ["x"], "user_id": "u"}',
    b'{"user_id": 5, "messages": "x"}', b'{"filters": "user_id=u", "query": "x"}',
    b'{"top_k": "many", "query": "x", "user_id": "u"}', b'{"memories": "all"}', b'{"text": 7}',
])
@pytest.mark.parametrize("method,path", [
    ("POST", "/v1/memories/"), ("POST", "/v3/memories/add/"), ("POST", "/v1/memories/search/"),
    ("POST", "/v2/memories/search/"), ("POST", "/v3/memories/search/"), ("POST", "/v2/memories/"),
    ("POST", "/v3/memories/"), ("PUT", "/v1/batch/"), ("DELETE", "/v1/batch/"),
    ("PUT", "/v1/memories/mem_" + "0" * 32 + "/"),
])
def test_odd_bodies_never_cause_a_500_and_refusals_are_details(mem0, method, path, raw):
    response = mem0.request(method, path, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("filters", ["[" * 1500 + "]" * 1500, '{"a": ' * 600 + "1" + "}" * 600,
                                     "{'a': " * 600 + "1" + "}" * 600])  # all under the 4096-character limit
def test_a_filters_parameter_nested_too_deep_is_a_400(mem0, filters):
    response = mem0.request("DELETE", "/v1/memories/", params={"filters": filters})
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["detail"], str)
