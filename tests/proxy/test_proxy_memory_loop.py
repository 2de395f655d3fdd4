"""The whole loop with the real memory_core (offline embedder, raw mode): a fact said in
one conversation reaches the model in the next, through the official openai SDK."""

from __future__ import annotations

import time
from typing import Any, Iterator

import httpx
import pytest

from proxy_harness import proxy_config, wait_for
from live import LiveServer

from proxy import create_app

pytestmark = pytest.mark.slow

TURN_1 = "我叫张三，我不能吃辣"
TURN_2 = "给我推荐一些四川美食"


@pytest.fixture(scope="module")
def real_proxy(upstream_server, tmp_path_factory) -> Iterator[dict[str, Any]]:
    upstream, upstream_live = upstream_server
    config = proxy_config(upstream_live.url, tmp_path_factory.mktemp("memory-loop") / "data")
    app = create_app(config)  # memory: memory_core's AsyncMemory, loaded in the background
    with LiveServer(app) as server:
        wait_for(lambda: httpx.get(f"{server.url}/readyz").status_code == 200, timeout=120)
        yield {"url": server.url, "upstream": upstream}


def client(url: str) -> Any:
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def wait_until_remembered(url: str, user_id: str) -> None:
    """Until the user has a memory, as the memory API shows it. (Counting the writer's
    applied jobs raced: a write left over from the test before could be the one counted.)"""

    def remembered() -> bool:
        page = httpx.get(f"{url}/v1/memories", params={"userId": user_id}).json()
        return page["pagination"]["total"] >= 1

    wait_for(remembered, timeout=30)


def memory_message(request: dict[str, Any]) -> str:
    system = [m["content"] for m in request["messages"] if m["role"] == "system"]
    return "\n".join(system)


def test_a_fact_from_one_conversation_reaches_the_next(real_proxy):
    upstream = real_proxy["upstream"]
    sdk = client(real_proxy["url"])

    first = sdk.chat.completions.create(model="echo", messages=[{"role": "user", "content": TURN_1}], user="zhangsan")
    assert first.choices[0].message.content == f"echo: {TURN_1}"
    wait_until_remembered(real_proxy["url"], "zhangsan")

    raw = sdk.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": TURN_2}], user="zhangsan"
    )
    sent = upstream.requests[-1]
    assert sent["messages"][-1] == {"role": "user", "content": TURN_2}
    carried = memory_message(sent)
    assert "张三" in carried and "不能吃辣" in carried, f"the upstream got {sent['messages']}"
    assert int(raw.headers["x-memory-injected"]) >= 1
    assert raw.headers["x-memory-ids"].startswith("mem_")


def test_the_same_loop_streaming_and_with_the_subject_in_extra_body(real_proxy):
    upstream = real_proxy["upstream"]
    sdk = client(real_proxy["url"])

    stream = sdk.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": TURN_1}], stream=True, extra_body={"user_id": "lisi"}
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == f"echo: {TURN_1}"
    wait_until_remembered(real_proxy["url"], "lisi")

    stream = sdk.chat.completions.create(
        model="echo",
        messages=[{"role": "system", "content": "你是一位美食顾问。"}, {"role": "user", "content": TURN_2}],
        stream=True,
        extra_body={"user_id": "lisi"},
    )
    list(stream)
    sent = upstream.requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "你是一位美食顾问。"}
    assert "张三" in sent[1]["content"] and "不能吃辣" in sent[1]["content"], f"the upstream got {sent}"


def test_another_users_facts_do_not_leak(real_proxy):
    upstream = real_proxy["upstream"]
    sdk = client(real_proxy["url"])
    raw = sdk.chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": TURN_2}], user="wangwu"
    )
    assert raw.headers["x-memory-injected"] == "0"
    assert "张三" not in memory_message(upstream.requests[-1])
