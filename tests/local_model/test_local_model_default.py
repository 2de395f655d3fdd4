"""With the local extra installed and no provider key, the bundled model is the default:
`memproxy serve` answers offline, and the memory engine extracts facts with it
(structure, not wording: SmolLM2-135M is a demo-quality model)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from memproxy_stack import TESTS, load

from memory_core import Memory
from proxy.local_model import MODEL_NAME

served = load("memproxy_test_served", TESTS / "proxy" / "served.py")
Served, REPO = served.Served, served.REPO


def test_serve_without_a_key_answers_with_the_local_model_and_remembers_across_conversations(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    with Served(cwd=tmp_path, ready="/readyz", timeout=180) as server:
        url = server.url
        models = httpx.get(f"{url}/v1/models").json()["data"]
        assert models[0]["id"] == MODEL_NAME

        # Conversation 1, streamed: the user says their name.
        with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=300,
                          json={"model": MODEL_NAME, "stream": True, "max_tokens": 16, "user": "ada",
                                "messages": [{"role": "user", "content": "Hi! My name is Ada Lovelace."}]}) as response:
            assert response.status_code == 200
            events = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and len(events) >= 3

        deadline = time.monotonic() + 120
        while not (stored := httpx.get(f"{url}/v1/memories", params={"userId": "ada"}).json()["items"]):
            assert time.monotonic() < deadline, f"nothing was remembered:\n{server.log()}"
            time.sleep(0.5)
        assert any("Ada Lovelace" in m["content"] for m in stored)

        # Conversation 2, a new one: the name is injected into what the model receives.
        answer = httpx.post(f"{url}/v1/chat/completions", timeout=300, json={
            "model": MODEL_NAME, "max_tokens": 16, "user": "ada",
            "messages": [{"role": "user", "content": "What is my name?"}]})
        log = server.log()
    assert answer.status_code == 200, answer.text
    assert int(answer.headers["X-Memory-Injected"]) >= 1
    assert any(m["id"] in answer.headers["X-Memory-Ids"] for m in stored)
    assert "raw mode" in log


def test_memory_extraction_with_the_local_model_stores_valid_events(local_model: Any, tmp_path: Path,
                                                                    embedder: Any) -> None:
    # llm_entry() asks for strict JSON schemas: the small model's answers then parse.
    with Memory({"data_dir": str(tmp_path), "llm": local_model.llm_entry()}, embedder=embedder) as m:
        out = m.add("My name is Ada and I love hiking in the Alps.", user_id="ada")["results"]
        assert all(r["event"] in ("ADD", "UPDATE", "DELETE", "NONE") and r["id"].startswith("mem_")
                   for r in out)
        stored = m.get_all(user_id="ada")
        assert stored["total"] == len([r for r in out if r["event"] == "ADD"])
