"""One tenant can never see or change another's memories: two keys, the same user id
in both tenants, and each key tries every route, REST and Mem0, on the other's
memories, with their exact ids. The answer is always "not found" or "nothing"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

NOT_FOUND = 404


@dataclass
class Side:
    tenant: object
    memory_id: str
    client: httpx.Client


@pytest.fixture
def shared_user():
    return f"same-user-{uuid.uuid4().hex[:6]}"


@pytest.fixture(params=["alice attacks mallory", "mallory attacks alice"])
def sides(request, live, alice, mallory, shared_user):
    """(owner, intruder): both tenants hold a memory of the same user id."""
    made = {}
    for tenant in (alice, mallory):
        client = httpx.Client(base_url=live.url, headers=tenant.headers, timeout=30)
        created = client.post("/v1/memories", json={"content": f"secret of {tenant.name}", "userId": shared_user,
                                                    "agentId": "bot", "tags": ["secret"]})
        assert created.status_code == 201
        made[tenant.name] = Side(tenant, created.json()["id"], client)
    owner, intruder = made[alice.name], made[mallory.name]
    if request.param == "mallory attacks alice":
        owner, intruder = intruder, owner
    yield owner, intruder
    for side in made.values():
        side.client.close()


def assert_untouched(owner: Side, shared_user: str) -> None:
    got = owner.client.get(f"/v1/memories/{owner.memory_id}")
    assert got.status_code == 200
    assert got.json()["content"] == f"secret of {owner.tenant.name}"
    assert got.json()["tags"] == ["secret"]
    assert [h["event"] for h in owner.client.get(f"/v1/memories/{owner.memory_id}/history").json()["items"]] == ["ADD"]


def test_rest_item_routes_answer_not_found_for_the_other_tenants_id(sides, shared_user):
    owner, intruder = sides
    item = f"/v1/memories/{owner.memory_id}"

    for method, path, body in [("GET", item, None), ("PATCH", item, {"content": "pwned"}),
                               ("PATCH", item, {"tags": ["pwned"]}), ("DELETE", item, None),
                               ("GET", item + "/history", None)]:
        response = intruder.client.request(method, path, json=body)
        assert response.status_code == NOT_FOUND, (method, path)
        assert response.json()["error"]["code"] == "MEMORY_NOT_FOUND"

    assert_untouched(owner, shared_user)


def test_rest_collection_routes_only_ever_see_the_callers_tenant(sides, shared_user):
    owner, intruder = sides

    listed = intruder.client.get("/v1/memories", params={"userId": shared_user, "agentId": "bot",
                                                         "tags": "secret"}).json()
    found = intruder.client.post("/v1/memories/search", json={"query": "secret", "userId": shared_user,
                                                              "threshold": 0, "limit": 100}).json()
    by_agent = intruder.client.post("/v1/memories/search", json={"query": "secret", "agentId": "bot",
                                                                 "threshold": 0, "limit": 100}).json()
    deleted = intruder.client.delete("/v1/memories", params={"userId": shared_user}).json()

    assert [m["id"] for m in listed["items"]] == [intruder.memory_id]
    assert listed["pagination"]["total"] == 1
    assert [r["id"] for r in found["results"]] == [intruder.memory_id]
    assert [r["id"] for r in by_agent["results"]] == [intruder.memory_id]
    assert deleted == {"success": True, "deleted": 1}          # its own memory, not the owner's
    assert_untouched(owner, shared_user)


def test_mem0_routes_answer_not_found_for_the_other_tenants_id(sides, shared_user):
    owner, intruder = sides
    token = {"Authorization": f"Token {intruder.tenant.key}"}
    item = f"/v1/memories/{owner.memory_id}/"

    for method, path, body in [("GET", item, None), ("PUT", item, {"text": "pwned"}), ("DELETE", item, None),
                               ("GET", item + "history/", None),
                               ("PUT", "/v1/batch/", {"memories": [{"memory_id": owner.memory_id, "text": "x"}]}),
                               ("DELETE", "/v1/batch/", {"memories": [{"memory_id": owner.memory_id}]})]:
        response = intruder.client.request(method, path, json=body, headers=token)
        assert response.status_code == NOT_FOUND, (method, path)
        assert "detail" in response.json()

    assert_untouched(owner, shared_user)


def test_mem0_collection_routes_only_ever_see_the_callers_tenant(sides, shared_user):
    owner, intruder = sides
    c = intruder.client
    token = {"Authorization": f"Token {intruder.tenant.key}"}
    mine = [intruder.memory_id]

    assert [m["id"] for m in c.get("/v1/memories/", params={"user_id": shared_user}, headers=token).json()] == mine
    assert [m["id"] for m in c.post("/v2/memories/", json={"user_id": shared_user}, headers=token).json()] == mine
    assert [m["id"] for m in c.post("/v3/memories/", json={"filters": {"agent_id": "bot"}},
                                    headers=token).json()["results"]] == mine
    for path in ("/v1/memories/search/", "/v2/memories/search/", "/v3/memories/search/"):
        found = c.post(path, json={"query": "secret", "user_id": shared_user, "threshold": 0,
                                   "output_format": "v1.1"}, headers=token).json()["results"]
        assert [r["id"] for r in found] == mine, path
    entities = c.get("/v1/entities/", headers=token).json()["results"]
    assert {(e["type"], e["name"], e["total_memories"]) for e in entities} == {("user", shared_user, 1),
                                                                                ("agent", "bot", 1)}
    assert c.get("/v1/ping/", headers=token).json()["project_id"] == intruder.tenant.name

    c.delete("/v2/entities/user/" + shared_user + "/", headers=token)
    c.delete("/v1/memories/", params={"agent_id": "bot"}, headers=token)
    c.delete("/v1/memories/", params={"filters": str({"user_id": shared_user})}, headers=token)

    assert_untouched(owner, shared_user)
    assert c.get(f"/v1/memories/{intruder.memory_id}").status_code == NOT_FOUND   # its own is gone
