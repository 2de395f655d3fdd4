"""MemoryClient and AsyncMemoryClient against a live memproxy: every method, and errors
raised as typed exceptions carrying the API's code."""

from __future__ import annotations

import httpx
import pytest

from memproxy_stack import Stack
from proxy.client import (APIConnectionError, AsyncMemoryClient, AuthenticationError, ContentTooLongError,
                          InvalidUserIdError, MemoryClient, MemoryNotFoundError, QuotaExceededError, RateLimitError,
                          ValidationError)
from proxy.client.errors import error_from_response


@pytest.fixture
def client(stack: Stack):
    with MemoryClient(stack.url) as memories:
        yield memories


def test_add_get_update_history_and_delete_one_memory(client: MemoryClient, user_id: str) -> None:
    added = client.add("我叫张三，不能吃辣", user_id=user_id, tags=["profile"], metadata={"source": "test"})
    assert added["content"] == "我叫张三，不能吃辣"
    assert added["userId"] == user_id and added["tags"] == ["profile"]

    assert client.get(added["id"])["content"] == "我叫张三，不能吃辣"
    updated = client.update(added["id"], content="我叫张三，能吃一点辣")
    assert updated["content"] == "我叫张三，能吃一点辣"
    events = [row["event"] for row in client.history(added["id"])]
    assert events[:2] == ["ADD", "UPDATE"]

    assert client.delete(added["id"])["id"] == added["id"]
    with pytest.raises(MemoryNotFoundError) as raised:
        client.get(added["id"])
    assert raised.value.code == "MEMORY_NOT_FOUND" and raised.value.status == 404


def test_search_returns_the_best_match_first_with_a_score(client: MemoryClient, user_id: str) -> None:
    for text in ("Lives in Lyon", "Is allergic to peanuts", "Plays the cello"):
        client.add(text, user_id=user_id)
    hits = client.search("peanut allergy", user_id=user_id, limit=2)
    assert hits[0]["content"] == "Is allergic to peanuts"
    assert len(hits) <= 2 and isinstance(hits[0]["score"], float)


def test_a_search_can_carry_the_conversation_before_it(client: MemoryClient, user_id: str) -> None:
    for text in ("My daughter is in the city piano competition next month",
                 "My son is in the school football tournament next month"):
        client.add(text, user_id=user_id)
    hits = client.search("What should I pack for the competition day?", user_id=user_id, threshold=0,
                         context=["My son plays football after school every day", "His coach is really strict"])
    best = max(hits, key=lambda hit: hit["score"])
    assert best["content"] == "My son is in the school football tournament next month"


def test_list_pages_through_a_users_memories_and_delete_all_clears_them(client: MemoryClient, user_id: str) -> None:
    for i in range(3):
        client.add(f"fact number {i}", user_id=user_id, tags=["even"] if i % 2 == 0 else None)
    first = client.list(user_id=user_id, page=1, limit=2)
    assert len(first["items"]) == 2
    assert first["pagination"]["total"] == 3 and first["pagination"]["totalPages"] == 2
    assert len(client.list(user_id=user_id, page=2, limit=2)["items"]) == 1
    assert len(client.list(user_id=user_id, tags=["even"])["items"]) == 2

    client.delete_all(user_id=user_id)
    assert client.list(user_id=user_id)["items"] == []


def test_messages_are_stored_as_memories(client: MemoryClient, user_id: str) -> None:
    result = client.add(messages=[{"role": "user", "content": "I moved to Kyoto last spring"}],
                        user_id=user_id, infer=False)
    assert [r["event"] for r in result["results"]] == ["ADD"]
    assert client.list(user_id=user_id)["items"][0]["content"] == "I moved to Kyoto last spring"


def test_api_errors_become_typed_exceptions_with_the_api_code(client: MemoryClient, user_id: str) -> None:
    with pytest.raises(InvalidUserIdError) as raised:
        client.add("no subject")
    assert raised.value.code == "INVALID_USER_ID" and raised.value.status == 400
    assert isinstance(raised.value, ValidationError)

    with pytest.raises(ContentTooLongError) as too_long:
        client.add("x" * 20_000, user_id=user_id)
    assert too_long.value.code == "CONTENT_TOO_LONG"

    with pytest.raises(MemoryNotFoundError):
        client.delete("mem_" + "0" * 32)


def test_arguments_that_cannot_work_are_refused_before_any_request(client: MemoryClient) -> None:
    with pytest.raises(ValueError):
        client.add("text", messages=[{"role": "user", "content": "both"}], user_id="u")
    with pytest.raises(ValueError):
        client.delete_all()
    with pytest.raises(ValueError):
        client.update("mem_x")


def test_an_unreachable_server_raises_a_connection_error() -> None:
    with MemoryClient("http://127.0.0.1:9", timeout=2) as offline:
        with pytest.raises(APIConnectionError):
            offline.list(user_id="u")


def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(401, json={"error": {"code": "UNAUTHORIZED", "message": "unknown key"}})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = MemoryClient("http://memproxy.test/v1/", api_key="mk_secret", http_client=http)
    with pytest.raises(AuthenticationError) as raised:
        client.get("mem_1")
    assert seen == ["Bearer mk_secret"]
    assert raised.value.code == "UNAUTHORIZED" and "unknown key" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (404, {"error": {"code": "MEMORY_NOT_FOUND", "message": "gone"}}, MemoryNotFoundError, "MEMORY_NOT_FOUND"),
        (429, {"error": {"code": "QUOTA_EXCEEDED", "message": "quota"}}, QuotaExceededError, "QUOTA_EXCEEDED"),
        (429, {"error": {"code": "RATE_LIMITED", "message": "slow down"}}, RateLimitError, "RATE_LIMITED"),
        (400, {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}},
         ValidationError, "invalid_request_error"),
        (404, {"detail": "Memory not found"}, MemoryNotFoundError, None),
    ],
)
def test_every_error_shape_of_the_server_is_understood(status, body, kind, code) -> None:
    error = error_from_response(httpx.Response(status, json=body))
    assert isinstance(error, kind) and error.code == code and error.status == status
    assert error.message


async def test_the_async_client_has_the_same_methods(stack: Stack, user_id: str) -> None:
    async with AsyncMemoryClient(stack.url) as client:
        added = await client.add("Prefers green tea", user_id=user_id)
        assert (await client.get(added["id"]))["content"] == "Prefers green tea"
        assert (await client.search("tea", user_id=user_id))[0]["id"] == added["id"]
        await client.update(added["id"], tags=["drinks"])
        assert (await client.list(user_id=user_id, tags=["drinks"]))["pagination"]["total"] == 1
        assert [row["event"] for row in await client.history(added["id"])][:2] == ["ADD", "UPDATE"]
        await client.delete(added["id"])
        with pytest.raises(MemoryNotFoundError):
            await client.get(added["id"])
        await client.add("another", user_id=user_id)
        await client.delete_all(user_id=user_id)
        assert (await client.list(user_id=user_id))["items"] == []
