"""A queued memory write survives the server being killed: every chat that was answered
is remembered after a restart (kill -9 while writes are queued, as a crash would)."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fake_upstream import FakeUpstream
from live import LiveServer
from served import Served

pytestmark = pytest.mark.slow
CHATS = 30


def test_answered_chats_are_remembered_after_a_kill_9_and_a_restart(tmp_path: Path) -> None:
    upstream = FakeUpstream(record=False)
    with LiveServer(upstream.app) as upstream_server:
        config = {"models": [{"name": "echo", "model": "openai/echo", "api_base": f"{upstream_server.url}/v1",
                              "api_key": "sk-test"}],
                  "router": {"num_retries": 0}, "writer": {"concurrency": 1}}
        (tmp_path / "config.yaml").write_text(json.dumps(config))

        def chat(i: int) -> int:
            return httpx.post(f"{server.url}/v1/chat/completions", timeout=30, json={
                "model": "echo", "user": f"crash-{i}",
                "messages": [{"role": "user", "content": f"my lucky number is {i}"}]}).status_code

        with Served("--no-local-model", cwd=tmp_path, ready="/readyz") as server:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(chat, range(CHATS)))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
        assert statuses == [200] * CHATS
        with sqlite3.connect(tmp_path / "data" / "write_queue.sqlite3") as queue:
            pending = queue.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        print(f"{pending} of {CHATS} writes were queued at the kill")

        with Served("--no-local-model", cwd=tmp_path, ready="/readyz") as restarted:
            deadline = time.monotonic() + 120
            while httpx.get(f"{restarted.url}/readyz").json()["write_queue"]["pending"]:
                assert time.monotonic() < deadline, "the queue never drained"
                time.sleep(0.2)
            stored = {i: httpx.get(f"{restarted.url}/v1/memories", params={"userId": f"crash-{i}"}).json()["items"]
                      for i in range(CHATS)}

    missing = [i for i, items in stored.items() if not any(f"number is {i}" in m["content"] for m in items)]
    assert missing == [], f"lost {len(missing)} of {CHATS} writes ({pending} were queued at the kill)"
