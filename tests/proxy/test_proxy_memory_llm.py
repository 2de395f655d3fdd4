"""The memory LLM runs on the same litellm Router as the chat models: a chat model named
by ``memory.llm.model`` lends it its deployment, and either way it gets the Router's
retries and the deployment's credentials."""

from __future__ import annotations

from memory_core.llm import LLMConfig
from proxy.config import ModelConfig, RouterConfig
from proxy.upstream import MEMORY_DEPLOYMENT, Upstream


def models(url: str) -> list[ModelConfig]:
    return [ModelConfig(name=name, model=f"openai/{name}", api_base=f"{url}/v1", api_key="sk-test")
            for name in ("echo", "fail-503")]


def test_a_chat_model_named_as_memory_llm_is_called_through_its_deployment(upstream):
    up = Upstream(models(upstream.url), RouterConfig(num_retries=0), LLMConfig(model="echo"))

    answer = up.memory_llm.complete([{"role": "user", "content": "facts please"}],
                                    {"name": "facts", "schema": {"type": "object"}})

    assert answer == "echo: facts please"
    [request] = upstream.requests
    assert request["model"] == "echo" and request["response_format"] == {"type": "json_object"}


def test_a_memory_llm_of_its_own_is_a_hidden_deployment_of_the_same_router(upstream):
    own = LLMConfig(model="openai/echo", api_base=f"{upstream.url}/v1", api_key="sk-mem",
                    structured_output="json_schema")
    up = Upstream(models(upstream.url), RouterConfig(num_retries=0), own)

    answer = up.memory_llm.complete([{"role": "user", "content": "x"}], {"name": "facts", "schema": {"type": "object"}})

    assert answer == "echo: x" and up.memory_llm.deployment == MEMORY_DEPLOYMENT
    assert upstream.requests[-1]["response_format"]["type"] == "json_schema"
    assert MEMORY_DEPLOYMENT not in [m["id"] for m in up.models()]  # clients never see it


def test_the_memory_llm_gets_the_routers_retries(upstream):
    up = Upstream(models(upstream.url), RouterConfig(num_retries=1), LLMConfig(model="fail-503"))
    try:
        up.memory_llm.complete([{"role": "user", "content": "x"}])
    except Exception:
        pass
    assert [r["model"] for r in upstream.requests] == ["fail-503", "fail-503"]


def test_a_memory_llm_without_a_key_is_known_at_start_up(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    up = Upstream([], RouterConfig(), LLMConfig(model="openai/gpt-4o-mini"))
    assert not up.memory_llm_status.ready and up.memory_llm_status.missing == ["OPENAI_API_KEY"]
