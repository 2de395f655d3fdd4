"""A live memproxy memory API for these tests: the REST and Mem0 routes over a real
AsyncMemory (the real offline embedder, built once per session) on a temporary data
directory, served by uvicorn on a free loopback port in a thread.

Keys are cheap, so tests that need a clean slate take a fresh tenant from
``new_key()`` instead of a fresh server.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware

from proxy.auth import Authenticator, KeyStore
from proxy.error_responses import EXCEPTION_HANDLERS, AnswerBugs
from proxy.openapi import openapi_routes
from proxy.routes.mem0 import mem0_routes
from proxy.routes.memories import memory_routes


def build_app(memory: Any, auth: Authenticator) -> Starlette:
    return Starlette(routes=[*memory_routes(memory, auth), *mem0_routes(memory, auth), *openapi_routes()],
                     exception_handlers=EXCEPTION_HANDLERS, middleware=[Middleware(AnswerBugs)])


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, lifespan: str = "off") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass
class Tenant:
    name: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="session")
def api_memory(tmp_path_factory, embedder):
    from memory_core import AsyncMemory

    memory = AsyncMemory({"data_dir": str(tmp_path_factory.mktemp("api-data"))}, embedder=embedder)
    yield memory
    memory.close()


@pytest.fixture(scope="session")
def key_store(tmp_path_factory) -> Iterator[KeyStore]:
    store = KeyStore(tmp_path_factory.mktemp("api-keys") / "keys.sqlite3")
    yield store
    store.close()


@pytest.fixture(scope="session")
def live(api_memory, key_store) -> Iterator[LiveServer]:
    key_store.create(tenant="sentinel", name="a key store with keys")
    auth = Authenticator(key_store, open_mode=False)
    with LiveServer(build_app(api_memory, auth)) as server:
        yield server


@pytest.fixture
def new_key(key_store) -> Callable[..., Tenant]:
    """A key of a tenant no other test uses: ``new_key()``, ``new_key(quota=3)``."""

    def make(quota: int | None = None, tenant: str | None = None) -> Tenant:
        name = tenant or f"t-{uuid.uuid4().hex[:10]}"
        record, secret = key_store.create(tenant=name, name="test", quota=quota)
        return Tenant(name, secret, record.id)

    return make


@pytest.fixture
def alice(new_key) -> Tenant:
    return new_key()


@pytest.fixture
def mallory(new_key) -> Tenant:
    return new_key()


@pytest.fixture
def api(live, alice) -> Iterator[httpx.Client]:
    """An httpx client on the live server, authorised as ``alice``'s tenant."""
    with httpx.Client(base_url=live.url, headers=alice.headers, timeout=30) as client:
        yield client


@pytest.fixture
def anonymous(live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"
