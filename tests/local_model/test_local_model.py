"""The whole path with a real model and no API key: proxy -> litellm -> SmolLM2 in
xllamacpp. The model is tiny, so these check structure, never wording."""

from __future__ import annotations

import json

import pytest

from memproxy_stack import Stack
from proxy.client import MemproxyChat
from proxy.local_model import MODEL_NAME, LocalModel, is_available, weights_path


def test_the_weights_are_found_without_importing_their_package() -> None:
    path = weights_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert is_available()


def test_the_model_is_described_as_a_litellm_upstream(local_model: LocalModel) -> None:
    entry = local_model.model_entry()
    assert entry["name"] == MODEL_NAME and entry["model"] == f"openai/{MODEL_NAME}"
    assert entry["api_base"].startswith("http://127.0.0.1:") and entry["api_base"].endswith("/v1")
    assert local_model.llm_entry()["api_base"] == entry["api_base"]


def test_a_streamed_answer_arrives_through_the_proxy(local_stack: Stack) -> None:
    with MemproxyChat(local_stack.url) as chat:
        stream = chat.chat.completions.create(
            model=MODEL_NAME, stream=True, user_id="local-user", max_tokens=24,
            messages=[{"role": "user", "content": "Hello! My name is Ada."}])
        pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert sum(1 for p in pieces if p) >= 2  # several chunks, so it really streamed
    assert "".join(pieces).strip()


def test_fact_extraction_with_a_json_schema_returns_valid_json(local_model: LocalModel) -> None:
    import litellm

    from memory_core.extraction import prompts
    from memory_core.extraction.parsing import parse_facts

    schema = {
        "type": "object",
        "properties": {"facts": {"type": "array", "maxItems": 8, "items": {"type": "string", "maxLength": 200}}},
        "required": ["facts"],
        "additionalProperties": False,
    }
    answer = litellm.completion(
        model=f"openai/{MODEL_NAME}", api_base=local_model.api_base, api_key="local", temperature=0,
        max_tokens=400, messages=prompts.fact_messages("user: Hi, my name is Ada and I live in Paris.", "2026-01-01"),
        response_format={"type": "json_schema", "json_schema": {"name": "facts", "schema": schema, "strict": True}},
    )
    text = answer.choices[0].message.content
    assert isinstance(json.loads(text)["facts"], list)
    assert all(isinstance(fact, str) for fact in parse_facts(text))


@pytest.mark.parametrize("stream", [False, True])
def test_the_model_answers_the_openai_sdk_plain_and_streamed(local_model: LocalModel, stream: bool) -> None:
    import openai

    client = openai.OpenAI(base_url=local_model.api_base, api_key="local", max_retries=0, timeout=120)
    answer = client.chat.completions.create(model=MODEL_NAME, max_tokens=8, stream=stream,
                                            messages=[{"role": "user", "content": "Say hi"}])
    if stream:
        assert any(chunk.choices for chunk in answer)
    else:
        assert answer.choices[0].message.content is not None
