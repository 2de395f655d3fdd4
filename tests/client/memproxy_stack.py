"""A real memproxy server (the app from ``proxy.app.create_app`` with the real memory
engine) in front of the fake OpenAI upstream, each on a free loopback port. Shared by
the client, page and local-model tests, which load this file by path."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

TESTS = Path(__file__).resolve().parent.parent


def load(name: str, path: Path) -> ModuleType:
    """Import a helper module by file path (the test folders are not packages)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _live() -> Any:
    return load("memproxy_test_live", TESTS / "proxy" / "live.py")


def _fake_upstream() -> Any:
    return load("memproxy_test_fake_upstream", TESTS / "proxy" / "fake_upstream.py")


def wait_ready(url: str, timeout: float = 120.0) -> None:
    """Wait until /readyz says memory is loaded (the embedder is built on first use)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/readyz", timeout=5)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.TransportError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"memproxy at {url} never became ready: {last}")


class Stack:
    def __init__(self, url: str, upstream: Any, app: Any) -> None:
        self.url = url
        self.upstream = upstream
        self.app = app


@contextmanager
def fake_upstream_server() -> Iterator[tuple[Any, str]]:
    upstream = _fake_upstream().FakeUpstream(chunks=6, chunk_delay_ms=30)
    with _live().LiveServer(upstream.app) as server:
        yield upstream, server.url


@contextmanager
def memproxy_stack(data_dir: Path, *, models: list[dict[str, Any]] | None = None,
                   **sections: Any) -> Iterator[Stack]:
    """memproxy on the fake upstream (model names: ``echo``, ``fail-500``) unless ``models``."""
    with fake_upstream_server() as (upstream, upstream_url):
        if models is None:
            models = [{"name": name, "model": f"openai/{name}", "api_base": f"{upstream_url}/v1",
                       "api_key": "sk-test", "timeout": 10} for name in ("echo", "fail-500")]
        from proxy.app import create_app

        config = load("memproxy_test_config", TESTS / "proxy" / "config_for_tests.py").config_for
        app = create_app(config(models, data_dir, **sections))
        with _live().LiveServer(app) as server:
            wait_ready(server.url)
            yield Stack(server.url, upstream, app)
