"""With the local extra installed and no provider key, the bundled model is the default:
`memproxy serve` answers offline, and the memory engine extracts facts with it
(structure, not wording: SmolLM2-135M is a demo-quality model)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from memory_core import Memory

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_without_a_key_makes_the_local_model_the_default(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "proxy", "serve", "--port", str(port)], cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()["data"]
        local = models[0]["id"]
        assert local == "smollm2-local"
        with httpx.stream("POST", f"http://127.0.0.1:{port}/v1/chat/completions", timeout=300,
                          json={"model": local, "stream": True, "max_tokens": 16, "user": "ada",
                                "messages": [{"role": "user", "content": "Say hello."}]}) as response:
            assert response.status_code == 200
            events = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and len(events) >= 3
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def test_memory_extraction_with_the_local_model_stores_valid_events(local_model: Any, tmp_path: Path,
                                                                    embedder: Any) -> None:
    # llm_entry() asks for strict JSON schemas: the small model's answers then parse.
    with Memory({"data_dir": str(tmp_path), "llm": local_model.llm_entry()}, embedder=embedder) as m:
        out = m.add("My name is Ada and I love hiking in the Alps.", user_id="ada")["results"]
        assert all(r["event"] in ("ADD", "UPDATE", "DELETE", "NONE") and r["id"].startswith("mem_")
                   for r in out)
        stored = m.get_all(user_id="ada")
        assert stored["total"] == len([r for r in out if r["event"] == "ADD"])
