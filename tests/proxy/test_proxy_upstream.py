"""The litellm side: answers turned back into OpenAI's shapes, and litellm's per-call
extras switched off without touching what retries and fallbacks need."""

from __future__ import annotations

import litellm

from proxy.upstream import openai_chunk, openai_completion, upstream_error


def test_litellm_fields_are_removed_from_answers():
    data = {"id": "x", "object": "chat.completion", "provider_specific_fields": {}, "service_tier": None,
            "choices": [{"index": 0, "finish_reason": "stop", "provider_specific_fields": {},
                         "message": {"role": "assistant", "content": "hi", "tool_calls": None,
                                     "function_call": None, "provider_specific_fields": {"refusal": None}}}]}
    assert openai_completion(data) == {
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi", "refusal": None}}]}


def test_a_usage_chunk_has_no_choices_like_openais():
    chunk = {"id": "x", "choices": [{"index": 0, "finish_reason": None, "delta": {"content": None, "role": None}}],
             "usage": {"total_tokens": 3}, "citations": None}
    assert openai_chunk(chunk) == {"id": "x", "choices": [], "usage": {"total_tokens": 3}}


def test_a_content_chunk_keeps_only_set_delta_fields():
    chunk = {"id": "x", "usage": None, "choices": [
        {"index": 0, "finish_reason": None, "delta": {"content": "he", "role": None, "tool_calls": None}}]}
    assert openai_chunk(chunk)["choices"] == [
        {"index": 0, "finish_reason": None, "delta": {"content": "he"}, "logprobs": None}]


def test_an_upstream_rate_limit_keeps_status_message_and_retry_after():
    import httpx

    response = httpx.Response(429, headers={"retry-after": "3"}, request=httpx.Request("POST", "http://u/v1"))
    exc = litellm.RateLimitError("litellm.RateLimitError: OpenAIException - slow down", llm_provider="openai",
                                 model="m", response=response)
    exc.body = {"message": "slow down", "type": "rate_limit_exceeded", "code": "rate_limit_exceeded"}
    error = upstream_error(exc)
    assert (error.status, error.message, error.code, error.headers) == (429, "slow down", "rate_limit_exceeded",
                                                                          {"Retry-After": "3"})
