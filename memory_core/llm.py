"""The memory LLM: one small interface over litellm, used for fact extraction and
memory-update decisions. Any litellm model string works (``openai/gpt-4o-mini``,
``ollama/qwen2.5``, ``openai/<name>`` with ``api_base`` for a local server)."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(..., min_length=1, description="litellm model string")
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1500
    timeout: float = 60.0
    # How to ask for JSON: "json_object" (OpenAI's JSON mode), "json_schema" (a strict
    # schema per step: small local models need it to answer parseable JSON), or "none".
    structured_output: Literal["json_object", "json_schema", "none"] = "json_object"
    max_attempts: int = Field(2, ge=1, le=5, description="Tries when the answer is not valid JSON.")


class LLM(Protocol):
    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None = None) -> str:
        """Return the assistant text for ``messages``; ``schema`` (a named JSON schema,
        ``{"name", "schema"}``) describes the JSON the answer must be."""
        ...
