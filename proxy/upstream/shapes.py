"""litellm's answers back in OpenAI's exact shapes: litellm adds fields of its own
(``provider_specific_fields``, ``citations`` ...) that OpenAI never sends, and OpenAI
SDKs and strict clients should not see."""

from __future__ import annotations

from typing import Any

# litellm's own keys that never belong in an OpenAI object.
_LITELLM_KEYS = ("provider_specific_fields", "citations", "moderation")


def openai_completion(data: dict[str, Any]) -> dict[str, Any]:
    for key in _LITELLM_KEYS:
        data.pop(key, None)
    for choice in data.get("choices") or ():
        choice.pop("provider_specific_fields", None)
        message = choice.get("message")
        if isinstance(message, dict):
            extra = message.pop("provider_specific_fields", None) or {}
            for key in ("tool_calls", "function_call", "audio", "reasoning_content", "thinking_blocks", "annotations"):
                if message.get(key) is None:
                    message.pop(key, None)
            if "refusal" in extra and "refusal" not in message:
                message["refusal"] = extra["refusal"]
    if data.get("service_tier") is None:
        data.pop("service_tier", None)
    return data


def openai_chunk(data: dict[str, Any]) -> dict[str, Any]:
    for key in _LITELLM_KEYS:
        data.pop(key, None)
    choices = data.get("choices") or []
    for choice in choices:
        delta = choice.get("delta") or {}
        choice["delta"] = {k: v for k, v in delta.items() if v is not None and k != "provider_specific_fields"}
        choice.setdefault("logprobs", None)
    usage = data.get("usage")
    if usage and all(not c["delta"] and c.get("finish_reason") is None for c in choices):
        data["choices"] = []  # OpenAI's usage chunk has no choices
    elif "usage" in data and usage is None:
        data.pop("usage")
    if data.get("service_tier") is None:
        data.pop("service_tier", None)
    return data
