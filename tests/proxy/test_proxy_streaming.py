"""Streaming: Server-Sent Events as OpenAI sends them, and what happens when a stream ends
badly (upstream failure, client going away)."""

from __future__ import annotations

import json
import socket
import time

import httpx
import openai
import pytest

from proxy_harness import wait_for

USER = [{"role": "user", "content": "hello there friend"}]


def sse_events(text: str) -> list[str]:
    return [block.removeprefix("data: ") for block in text.split("\n\n") if block]


def test_streaming_with_the_openai_sdk(proxy):
    stream = proxy.openai().chat.completions.create(model="echo", messages=USER, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello there friend"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_the_wire_format_is_data_lines_then_done(proxy):
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions",
                      json={"model": "echo", "messages": USER, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    first = json.loads(events[0])
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    for event in events[:-1]:
        chunk = json.loads(event)
        assert "provider_specific_fields" not in chunk and "usage" not in chunk
        assert set(chunk["choices"][0]) == {"index", "delta", "logprobs", "finish_reason"}


def test_the_usage_chunk_comes_when_asked_for(proxy):
    stream = proxy.openai().chat.completions.create(
        model="echo", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert proxy.upstream.requests[-1]["stream_options"] == {"include_usage": True}


def test_each_chunk_is_flushed_as_it_arrives(upstream, start_proxy):
    proxy = start_proxy()
    upstream.chunk_delay_ms = 150
    try:
        arrivals = []
        with httpx.stream("POST", f"{proxy.url}/v1/chat/completions",
                          json={"model": "echo", "messages": USER, "stream": True}) as response:
            for line in response.iter_lines():
                if line:
                    arrivals.append(time.monotonic())
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        assert sum(1 for g in gaps if g > 0.1) >= 4  # spread out, not buffered to the end
    finally:
        upstream.chunk_delay_ms = 0


def test_memories_are_injected_and_the_exchange_written_after_the_stream(proxy):
    proxy.memory.remember("我不能吃辣", user_id="zhang")
    stream = proxy.openai().chat.completions.with_raw_response.create(
        model="echo", messages=USER, stream=True, user="zhang"
    )
    assert stream.headers["x-memory-injected"] == "1"
    list(stream.parse())
    (add,) = proxy.wait_for_adds()
    assert add["messages"][-1] == {"role": "assistant", "content": "echo: hello there friend"}
    assert "我不能吃辣" in proxy.upstream.requests[-1]["messages"][0]["content"]


def test_an_upstream_failure_before_the_stream_keeps_its_status(proxy):
    with pytest.raises(openai.RateLimitError) as caught:
        list(proxy.openai().chat.completions.create(model="fail-429", messages=USER, stream=True))
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"


def test_a_failure_after_the_stream_started_ends_it_with_an_error_event(proxy):
    started = time.monotonic()
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions",
                      json={"model": "stream-break", "messages": USER, "stream": True, "user": "u1"}) as response:
        events = sse_events(response.read().decode())
    assert time.monotonic() - started < 5
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["message"] and error["type"]
    proxy.settle()
    assert proxy.memory.adds == []  # a broken answer is not remembered


def test_the_sdk_raises_on_the_error_event(proxy):
    with pytest.raises(openai.APIError):
        list(proxy.openai().chat.completions.create(model="stream-break", messages=USER, stream=True))


def test_a_client_disconnecting_mid_stream_cancels_upstream_and_writes_nothing(upstream, start_proxy):
    proxy = start_proxy()
    upstream.chunk_delay_ms = 300
    upstream.streams_finished = 0
    try:
        body = json.dumps({"model": "echo", "messages": USER, "stream": True, "user": "u1"}).encode()
        request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        with socket.create_connection(("127.0.0.1", proxy.server.port)) as sock:
            sock.sendall(request)
            received = b""
            while b"data: " not in received:
                received += sock.recv(4096)
        # the client is gone after the first event; the upstream stream must stop early
        wait_for(lambda: upstream.streams_cancelled >= 1, timeout=5)
        proxy.settle(1.0)
        assert proxy.memory.adds == []
    finally:
        upstream.chunk_delay_ms = 0


def test_a_stream_the_upstream_closes_without_finishing_is_completed_and_remembered(proxy):
    with httpx.stream("POST", f"{proxy.url}/v1/chat/completions",
                      json={"model": "stream-cut", "messages": USER, "stream": True, "user": "u1"}) as response:
        events = sse_events(response.read().decode())

    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["choices"] == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]
    assert sum(1 for c in chunks for ch in c["choices"] if ch["finish_reason"]) == 1
    text = "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])
    assert text == "echo: hello there friend"
    [add] = proxy.wait_for_adds(1)
    assert add["messages"][-1] == {"role": "assistant", "content": "echo: hello there friend"}


def test_the_sdk_reads_a_completed_stream_as_a_normal_one(proxy):
    chunks = list(proxy.openai().chat.completions.create(model="stream-cut", messages=USER, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
