"""mem0ai 0.1.x's ``Mem0`` proxy client end to end against the whole memproxy app
(``proxy.app.create_app``): its memories through the Mem0 routes, its chat through
``/v1/chat/completions`` to a fake upstream model, both with the same key."""

from __future__ import annotations

import pytest

from proxy.auth import KeyStore
from tests.api.conftest import LiveServer
from tests.api.test_api_mem0_clients import python_of, run_clients

VERSION = "0.1.118"


@pytest.fixture(scope="module")
def full_server(tmp_path_factory, embedder):
    from memory_core import AsyncMemory
    from proxy.app import create_app
    from proxy.config import ProxyConfig
    from tests.proxy.fake_upstream import FakeUpstream

    if not python_of(VERSION).exists():
        pytest.skip(f"mem0ai {VERSION} is not installed: run `bash tests/api/mem0_envs.sh`")
    data_dir = tmp_path_factory.mktemp("full-app")
    store = KeyStore(data_dir / "keys.sqlite3")     # where the app finds its keys: <data_dir>/keys.sqlite3
    keys = (store.create(tenant="mem0-proxy")[1], store.create(tenant="mem0-proxy-other")[1])
    store.close()
    upstream = FakeUpstream()
    with LiveServer(upstream.app) as model_server:
        # litellm.supports_function_calling() must know the model name: the Mem0 client checks it.
        config = ProxyConfig.parse({
            "models": [{"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini", "api_base": f"{model_server.url}/v1",
                        "api_key": "sk-test"}],
            "router": {"num_retries": 0},
            "memory": {"data_dir": str(data_dir)},
        })
        app = create_app(config, memory=AsyncMemory(config.memory, embedder=embedder))
        if not any(getattr(r, "path", None) == "/v1/ping/" for r in app.routes):
            pytest.skip("proxy.app.create_app does not serve the Mem0 routes yet (mem0_routes() is not wired)")
        with LiveServer(app, lifespan="on") as server:
            yield server, keys, upstream


def test_the_0_1_x_mem0_proxy_client_chats_with_its_memories(full_server, tmp_path):
    server, (key, other), upstream = full_server

    report = run_clients(server.url, {VERSION: (key, other)}, tmp_path, chat_model="gpt-4o-mini", only=[VERSION])
    proxy = report[VERSION]["proxy"]

    answer = proxy["chat"]["choices"][0]["message"]["content"]
    assert "Relevant Memories/Facts" in answer
    assert "I am vegetarian and I live in Berlin." in answer        # recalled through /v1/memories/search/
    assert upstream.requests[-1]["model"] == "gpt-4o-mini"
    remembered = [m["memory"] for m in proxy["memories_after"]]
    assert "What vegetarian dish should I cook tonight?" in remembered   # added through /v1/memories/
