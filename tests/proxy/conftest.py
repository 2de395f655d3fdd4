"""Fixtures for the proxy's tests: a live fake upstream, and live proxies in front of it
(each on its own free loopback port, with its own data directory)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from fake_upstream import FakeUpstream  # noqa: E402
from fakes import FakeMemory  # noqa: E402
from live import LiveServer  # noqa: E402

from proxy import ProxyConfig, create_app  # noqa: E402

UPSTREAM_MODELS = ["echo", "fail-400", "fail-401", "fail-404", "fail-429", "fail-500", "fail-502",
                   "fail-503", "fail-504", "stream-break", "slow-3000"]


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[tuple[FakeUpstream, LiveServer]]:
    upstream = FakeUpstream()
    with LiveServer(upstream.app) as server:
        yield upstream, server


@pytest.fixture
def upstream(upstream_server: tuple[FakeUpstream, LiveServer]) -> FakeUpstream:
    fake, server = upstream_server
    fake.requests.clear()
    fake.url = server.url  # type: ignore[attr-defined]
    return fake


def proxy_config(upstream_url: str, data_dir: Path, **sections: Any) -> ProxyConfig:
    models = [
        {"name": name, "model": f"openai/{name}", "api_base": f"{upstream_url}/v1", "api_key": "sk-test",
         "timeout": 0.5 if name.startswith("slow") else 10}
        for name in UPSTREAM_MODELS
    ]
    data: dict[str, Any] = {
        "models": models,
        "router": {"num_retries": 0},
        "memory": {"data_dir": str(data_dir)},
        "writer": {"backoff": 0.05, "max_backoff": 0.2, "max_attempts": 3, "shutdown_grace": 2},
    }
    for name, value in sections.items():
        data[name] = {**data.get(name, {}), **value} if isinstance(value, dict) else value
    return ProxyConfig.parse(data)


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
        wait_for(lambda: not self.services.writer._in_flight and not self.services.writer.queue.counts()["pending"])


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@pytest.fixture
def start_proxy(upstream: FakeUpstream, tmp_path: Path) -> Iterator[Callable[..., RunningProxy]]:
    running: list[LiveServer] = []

    def start(memory: Any = "fake", data_dir: Path | None = None, **sections: Any) -> RunningProxy:
        memory = FakeMemory() if memory == "fake" else memory
        config = proxy_config(upstream.url, data_dir or tmp_path / "data", **sections)
        app = create_app(config, memory=memory)
        server = LiveServer(app).start()
        running.append(server)
        return RunningProxy(server, memory, upstream, app)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def proxy(start_proxy: Callable[..., RunningProxy]) -> RunningProxy:
    return start_proxy()
