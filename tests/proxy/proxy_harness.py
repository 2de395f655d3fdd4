"""Shared helpers of the proxy's tests: config for a proxy in front of the fake upstream,
a handle on a running proxy, and polling. (A module of its own, not conftest.py: test
modules import from it, and every tests/ folder has a conftest.)"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from config_for_tests import config_for
from fake_upstream import FakeUpstream
from live import LiveServer

from proxy import ProxyConfig

UPSTREAM_MODELS = ["echo", "fail-400", "fail-401", "fail-404", "fail-429", "fail-500", "fail-502",
                   "fail-503", "fail-504", "stream-break", "stream-cut", "not-json", "slow-3000"]


def proxy_config(upstream_url: str, data_dir: Path, **sections: Any) -> ProxyConfig:
    models = sections.pop("models", None) or [
        {"name": name, "model": f"openai/{name}", "api_base": f"{upstream_url}/v1", "api_key": "sk-test",
         "timeout": 0.5 if name.startswith("slow") else 10}
        for name in UPSTREAM_MODELS
    ]
    return config_for(models, data_dir, **sections)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@dataclass
class RunningProxy:
    server: LiveServer
    memory: Any
    upstream: FakeUpstream
    app: Any

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def services(self) -> Any:
        return self.app.state.services

    def openai(self, **options: Any) -> Any:
        import openai

        return openai.OpenAI(base_url=f"{self.url}/v1", api_key="anything", max_retries=0, **options)

    def wait_for_adds(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the background writer has called memory.add ``count`` times."""
        wait_for(lambda: len(self.memory.adds) >= count, timeout)
        return self.memory.adds

    def settle(self, seconds: float = 0.3) -> None:
        """Give background work a moment (to show that something does NOT happen)."""
        time.sleep(seconds)
        writer = self.services.writer
        wait_for(lambda: not writer._in_flight and not writer.queue.counts()["pending"])
