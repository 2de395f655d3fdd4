"""POST /v1/chat/completions, driven with the official openai SDK against a live server."""

from __future__ import annotations

import httpx
import pytest

USER = [{"role": "user", "content": "给我推荐一些四川美食"}]


def test_a_request_without_subject_is_a_plain_proxy(proxy):
    raw = proxy.openai().chat.completions.with_raw_response.create(model="echo", messages=USER)
    answer = raw.parse()
    assert answer.choices[0].message.content == "echo: 给我推荐一些四川美食"
    assert answer.object == "chat.completion" and answer.usage.total_tokens > 0
    assert raw.headers["x-memory-status"] == "no-subject"
    assert raw.headers["x-memory-injected"] == "0"
    assert proxy.upstream.requests[-1]["messages"] == USER
    assert proxy.memory.searches == [] and proxy.memory.adds == []


def test_the_answer_is_openai_shaped_json_without_litellm_fields(proxy):
    body = httpx.post(f"{proxy.url}/v1/chat/completions", json={"model": "echo", "messages": USER}).json()
    assert set(body) <= {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "echo: 给我推荐一些四川美食", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"


def test_memories_are_injected_after_the_callers_system_prompt(proxy):
    first = proxy.memory.remember("我叫张三", user_id="zhang")
    second = proxy.memory.remember("我不能吃辣", user_id="zhang")
    proxy.memory.remember("someone else's fact", user_id="li")
    messages = [{"role": "system", "content": "You are a chef."}, *USER]

    raw = proxy.openai().chat.completions.with_raw_response.create(model="echo", messages=messages, user="zhang")

    sent = proxy.upstream.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "You are a chef."}
    assert sent[1]["role"] == "system" and "- 我不能吃辣\n- 我叫张三" in sent[1]["content"]
    assert "someone else" not in sent[1]["content"]
    assert sent[2:] == USER
    assert raw.headers["x-memory-status"] == "injected"
    assert raw.headers["x-memory-injected"] == "2"
    assert raw.headers["x-memory-ids"] == f"{second},{first}"
    assert proxy.memory.searches[-1]["query"] == "给我推荐一些四川美食"


def test_the_search_is_the_last_user_message_in_its_conversation(proxy):
    chat = [{"role": "user", "content": "我儿子每天放学都去踢球"}, {"role": "assistant", "content": "真棒"},
            {"role": "user", "content": "他们教练要求很严格"}, {"role": "assistant", "content": "严师出高徒"},
            {"role": "user", "content": "你觉得他能进球吗？"}]
    proxy.openai().chat.completions.create(model="echo", messages=chat, user="u1")
    search = proxy.memory.searches[-1]
    assert search["query"] == "你觉得他能进球吗？"
    assert search["context"] == ["我儿子每天放学都去踢球", "他们教练要求很严格"]


def test_without_a_system_prompt_the_memories_come_first(proxy):
    proxy.memory.remember("likes tea", user_id="u1")
    proxy.openai().chat.completions.create(model="echo", messages=USER, user="u1")
    sent = proxy.upstream.requests[-1]["messages"]
    assert sent[0]["role"] == "system" and "- likes tea" in sent[0]["content"]
    assert sent[1:] == USER


@pytest.mark.parametrize(
    "how",
    [
        {"extra_body": {"user_id": "u7"}},
        {"extra_headers": {"X-Memory-User-Id": "u7"}},
        {"user": "u7"},
    ],
)
def test_the_subject_comes_from_the_body_headers_or_openais_user_field(proxy, how):
    proxy.memory.remember("fact of u7", user_id="u7")
    proxy.openai().chat.completions.create(model="echo", messages=USER, **how)
    assert proxy.memory.searches[-1]["user_id"] == "u7"
    assert "fact of u7" in proxy.upstream.requests[-1]["messages"][0]["content"]


def test_agent_and_run_ids_scope_the_memory(proxy):
    proxy.openai().chat.completions.create(
        model="echo", messages=USER, extra_body={"user_id": "u", "agent_id": "chef", "run_id": "r1"}
    )
    search = proxy.memory.searches[-1]
    assert (search["user_id"], search["agent_id"], search["run_id"], search["tenant"]) == ("u", "chef", "r1", "default")


def test_memory_fields_are_removed_and_openai_fields_pass_through_untouched(proxy):
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    proxy.openai().chat.completions.create(
        model="echo",
        messages=USER,
        tools=tools,
        tool_choice="auto",
        response_format={"type": "json_object"},
        temperature=0.3,
        n=1,
        stop=["\n\n"],
        seed=7,
        logprobs=True,
        top_logprobs=2,
        max_tokens=50,
        user="u1",
        extra_body={"agent_id": "a", "memory": {"read": True, "limit": 3}, "api_base": "http://evil.invalid"},
    )
    sent = proxy.upstream.requests[-1]
    for key, value in {"tools": tools, "tool_choice": "auto", "response_format": {"type": "json_object"},
                       "temperature": 0.3, "n": 1, "stop": ["\n\n"], "seed": 7, "logprobs": True,
                       "top_logprobs": 2, "max_tokens": 50}.items():
        assert sent[key] == value, key
    for key in ("agent_id", "user_id", "memory", "api_base"):
        assert key not in sent
    assert proxy.memory.searches[-1]["limit"] == 3


def test_memory_can_be_turned_off_per_request(proxy):
    proxy.memory.remember("likes tea", user_id="u1")
    raw = proxy.openai().chat.completions.with_raw_response.create(
        model="echo", messages=USER, user="u1", extra_headers={"X-Memory-Read": "false", "X-Memory-Write": "0"}
    )
    assert raw.headers["x-memory-status"] == "off" and raw.headers["x-memory-write"] == "off"
    assert proxy.upstream.requests[-1]["messages"] == USER
    proxy.settle()
    assert proxy.memory.adds == []


def test_the_exchange_is_written_after_the_answer(proxy):
    raw = proxy.openai().chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "我叫张三，我不能吃辣"}], user="zhang"
    )
    assert raw.headers["x-memory-write"] == "on"
    (add,) = proxy.wait_for_adds()
    assert add["user_id"] == "zhang" and add["tenant"] == "default"
    assert add["messages"] == [
        {"role": "user", "content": "我叫张三，我不能吃辣"},
        {"role": "assistant", "content": "echo: 我叫张三，我不能吃辣"},
    ]


def test_only_the_latest_user_turns_are_written(proxy):
    history = [
        {"role": "user", "content": "old question"},
        {"role": "assistant", "content": "old answer"},
        {"role": "user", "content": [{"type": "text", "text": "new part one"}]},
        {"role": "user", "content": "new part two"},
    ]
    proxy.openai().chat.completions.create(model="echo", messages=history, user="u1")
    assert [m["content"] for m in proxy.wait_for_adds()[0]["messages"]] == ["new part one", "new part two", "echo: new part two"]


def test_a_failing_memory_store_skips_memory_but_answers(proxy):
    proxy.memory.fail_search = RuntimeError("store is down")
    raw = proxy.openai().chat.completions.with_raw_response.create(model="echo", messages=USER, user="u1")
    assert raw.parse().choices[0].message.content == "echo: 给我推荐一些四川美食"
    assert raw.headers["x-memory-status"] == "skipped"
    assert proxy.upstream.requests[-1]["messages"] == USER


def test_a_slow_memory_search_is_abandoned_after_the_timeout(start_proxy):
    proxy = start_proxy(injection={"timeout": 0.1})
    proxy.memory.search_delay = 2
    raw = proxy.openai().chat.completions.with_raw_response.create(model="echo", messages=USER, user="u1")
    assert raw.headers["x-memory-status"] == "skipped"


def test_the_injected_memories_fit_the_token_budget_best_first(start_proxy):
    proxy = start_proxy(injection={"max_tokens": 40})
    for i in range(20):
        proxy.memory.remember(f"fact number {i} is a fairly long sentence about the user", user_id="u1")
    raw = proxy.openai().chat.completions.with_raw_response.create(model="echo", messages=USER, user="u1")
    injected = int(raw.headers["x-memory-injected"])
    assert 0 < injected < 20
    system = proxy.upstream.requests[-1]["messages"][0]["content"]
    assert "fact number 19" in system and "fact number 0 " not in system


def test_models_lists_the_configured_names(proxy):
    models = proxy.openai().models.list()
    assert [m.id for m in models.data][:2] == ["echo", "fail-400"]
    assert models.data[0].object == "model"


def test_health_and_readiness(proxy):
    assert httpx.get(f"{proxy.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{proxy.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["write_queue"] == {"pending": 0, "dead_letters": 0}


def test_readiness_fails_while_memory_is_not_ready(start_proxy):
    from fake_memory import FakeMemory

    class Broken(FakeMemory):
        async def ready(self) -> bool:
            raise RuntimeError("embedder not loaded")

    proxy = start_proxy(memory=Broken())
    ready = httpx.get(f"{proxy.url}/readyz")
    assert ready.status_code == 503
    assert "embedder not loaded" in ready.json()["memory"]


@pytest.mark.parametrize("user", ["u" * 129, "u" * 256, "alice\r\nX-Injected: 1", "tab\there"])
def test_a_subject_id_memory_would_reject_is_a_400_at_the_request(proxy, user):
    response = httpx.post(f"{proxy.url}/v1/chat/completions",
                          json={"model": "echo", "messages": [{"role": "user", "content": "hi"}], "user": user})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("user", "invalid_user_id")
    assert proxy.upstream.requests == []


def test_the_longest_subject_id_memory_accepts_is_served(proxy):
    response = httpx.post(f"{proxy.url}/v1/chat/completions",
                          json={"model": "echo", "messages": [{"role": "user", "content": "hi"}], "user": "u" * 128})
    assert response.status_code == 200 and response.headers["X-Memory-Write"] == "on"
