"""Fixtures for the proxy's tests: a live fake upstream, and live proxies in front of it
(each on its own free loopback port, with its own data directory)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from fake_memory import FakeMemory  # noqa: E402
from fake_upstream import FakeUpstream  # noqa: E402
from live import LiveServer  # noqa: E402
from proxy_harness import RunningProxy, proxy_config  # noqa: E402

from proxy import create_app  # noqa: E402


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
