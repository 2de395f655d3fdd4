"""MemproxyChat: Mem0's proxy-client shape (``client.chat.completions.create(...,
user_id=...)``) against a live memproxy, plain and streaming, sync and async."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from memproxy_stack import Stack
from proxy.client import AsyncMemproxyChat, MemproxyChat


def wait_for_memory(chat: MemproxyChat, user_id: str, text: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in chat.memories.list(user_id=user_id, limit=100)["items"]:
            if item["content"] == text:
                return item
        time.sleep(0.05)
    raise AssertionError(f"{text!r} was never remembered for {user_id}")


def test_a_chat_is_remembered_and_recalled_for_the_user(stack: Stack, user_id: str) -> None:
    with MemproxyChat(stack.url) as chat:
        first = chat.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "I am vegetarian"}], user_id=user_id)
        assert first.choices[0].message.content == "echo: I am vegetarian"
        remembered = wait_for_memory(chat, user_id, "I am vegetarian")

        answer = chat.chat.completions.with_memory(
            model="echo", messages=[{"role": "user", "content": "What should I eat tonight?"}], user_id=user_id)
        assert answer.memory.status == "injected"
        assert remembered["id"] in answer.memory.ids and answer.memory.injected >= 1
        assert answer.memory.write is True
        assert answer.response.choices[0].message.content == "echo: What should I eat tonight?"
    system = [m for m in stack.upstream.requests[-1]["messages"] if m["role"] == "system"]
    assert "I am vegetarian" in system[0]["content"]
    assert "user_id" not in stack.upstream.requests[-1]  # memproxy's field never reaches the model


def test_streaming_yields_chunks_as_the_openai_sdk_does(stack: Stack, user_id: str) -> None:
    with MemproxyChat(base_url=stack.url + "/v1") as chat:
        stream = chat.chat.completions.create(model="echo", stream=True, user_id=user_id,
                                              messages=[{"role": "user", "content": "你好，我叫李雷"}])
        pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == "echo: 你好，我叫李雷"


def test_memory_controls_and_mem0_spelling_of_the_host(stack: Stack, user_id: str) -> None:
    with MemproxyChat(host=stack.url) as chat:
        answer = chat.chat.completions.with_memory(
            model="echo", messages=[{"role": "user", "content": "private note"}], user_id=user_id,
            memory={"read": False, "write": False})
    assert answer.memory.status == "off" and answer.memory.write is False


def test_upstream_errors_are_the_openai_sdks_exceptions(stack: Stack) -> None:
    with MemproxyChat(stack.url, max_retries=0) as chat:
        with pytest.raises(openai.InternalServerError):
            chat.chat.completions.create(model="fail-500", messages=[{"role": "user", "content": "hi"}],
                                         user_id="someone")
        with pytest.raises(openai.NotFoundError) as raised:
            chat.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.code == "model_not_found"


def recording_http_client(seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={
            "id": "c1", "object": "chat.completion", "created": 0, "model": "echo",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]})

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_without_a_key_no_authorization_header_is_sent() -> None:
    seen: list[httpx.Request] = []
    chat = MemproxyChat("http://memproxy.test", http_client=recording_http_client(seen))
    chat.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}], user_id="u1")
    assert "authorization" not in seen[0].headers
    assert json.loads(seen[0].content)["user_id"] == "u1"


def test_a_key_is_sent_as_a_bearer_token() -> None:
    seen: list[httpx.Request] = []
    chat = MemproxyChat("http://memproxy.test", api_key="mk_abc", http_client=recording_http_client(seen))
    chat.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}])
    assert seen[0].headers["authorization"] == "Bearer mk_abc"
    assert str(seen[0].url) == "http://memproxy.test/v1/chat/completions"


async def test_the_async_chat_client_streams_too(stack: Stack, user_id: str) -> None:
    async with AsyncMemproxyChat(stack.url) as chat:
        stream = await chat.chat.completions.create(model="echo", stream=True, user_id=user_id,
                                                    messages=[{"role": "user", "content": "async hello"}])
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
        assert text == "echo: async hello"
        plain = await chat.chat.completions.with_memory(model="echo", user_id=user_id,
                                                        messages=[{"role": "user", "content": "again"}])
        assert plain.response.choices[0].message.content == "echo: again"
