"""The LLM interface implemented with litellm (any provider litellm supports), for the
library on its own. (memproxy's server passes its own adapter, on its litellm Router.)

litellm fetches its price list from the internet when it is imported, unless the
environment says ``LITELLM_LOCAL_MODEL_COST_MAP=True``: offline, set it before the
first import (memproxy's command line does).
"""

from __future__ import annotations

from typing import Any

from memory_core.llm import LLMConfig


class LiteLLMClient:
    def __init__(self, config: LLMConfig) -> None:
        import litellm  # imported here: `import memory_core` stays fast without an LLM

        self._litellm = litellm
        self.config = config

    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None = None) -> str:
        c = self.config
        kwargs: dict[str, Any] = dict(
            model=c.model,
            messages=messages,
            temperature=c.temperature,
            max_tokens=c.max_tokens,
            timeout=c.timeout,
            drop_params=True,
        )
        if c.api_base:
            kwargs["api_base"] = c.api_base
        if c.api_key:
            kwargs["api_key"] = c.api_key
        if c.structured_output == "json_schema" and schema is not None:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {**schema, "strict": True}}
        elif c.structured_output != "none":
            kwargs["response_format"] = {"type": "json_object"}
        response = self._litellm.completion(**kwargs)
        return response.choices[0].message.content or ""
