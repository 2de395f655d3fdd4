"""Shared fixtures: the REAL offline embedder (built once per session) and a fake
OpenAI-compatible memory LLM at the HTTP level (respx), which is the only thing
these tests mock."""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="session")
def embedder():
    from memory_core.embedding import create_embedder
    from memory_core.embedding.config import EmbedderConfig

    return create_embedder(EmbedderConfig())


@pytest.fixture
def memory(tmp_path, embedder):
    from memory_core import Memory

    m = Memory({"data_dir": str(tmp_path)}, embedder=embedder)
    yield m
    m.close()


LLM_BASE = "http://llm.test/v1"


class FakeLLM:
    """Answers chat completions from a script and records what it was asked."""

    def __init__(self, router) -> None:
        self.answers: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.route = router.post(f"{LLM_BASE}/chat/completions").mock(side_effect=self._answer)

    def script(self, *answers: Any) -> "FakeLLM":
        for a in answers:
            self.answers.append(a if isinstance(a, str) else json.dumps(a, ensure_ascii=False))
        return self

    def _answer(self, request):
        import httpx

        self.requests.append(json.loads(request.content))
        if not self.answers:
            return httpx.Response(500, json={"error": {"message": "script exhausted"}})
        content = self.answers.pop(0)
        return httpx.Response(200, json={
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0,
            "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    def prompt_text(self, i: int) -> str:
        return "\n".join(m["content"] for m in self.requests[i]["messages"])


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    import respx

    with respx.mock(assert_all_called=False) as router:
        yield FakeLLM(router)


@pytest.fixture
def llm_memory(tmp_path, embedder, fake_llm):
    from memory_core import Memory

    m = Memory({"data_dir": str(tmp_path),
                "llm": {"model": "openai/test-model", "api_base": LLM_BASE, "api_key": "sk-test"}},
               embedder=embedder)
    yield m
    m.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """One real PostgreSQL 16 + pgvector for the session (tests/postgres_harness.py)."""
    from postgres_harness import SKIP_REASON, start_server

    try:
        import pgserver  # noqa: F401
    except ImportError:
        pytest.skip(SKIP_REASON)
    server = start_server(str(tmp_path_factory.mktemp("postgres")))
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A database of this test's own on the session's server, dropped after it."""
    from postgres_harness import drop_database, fresh_database

    name, url = fresh_database(postgres_server)
    yield url
    drop_database(postgres_server, name)
