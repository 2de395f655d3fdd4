"""POST /v1/memories with messages on a server whose memory has an LLM: fact
extraction, answered as ADD/UPDATE/DELETE/NONE events. The LLM is scripted at the
HTTP level (respx); the app is served in-process so respx sees only the LLM."""

from __future__ import annotations

import uuid

import httpx
import pytest

from proxy.auth import Authenticator, KeyStore
from tests.api.conftest import build_app
from tests.conftest import LLM_BASE


@pytest.fixture(scope="module")
def llm_app(tmp_path_factory, embedder):
    from memory_core import AsyncMemory

    folder = tmp_path_factory.mktemp("llm-api")
    memory = AsyncMemory({"data_dir": str(folder / "data"),
                          "llm": {"model": "openai/test-model", "api_base": LLM_BASE, "api_key": "sk-test"}},
                         embedder=embedder)
    store = KeyStore(folder / "keys.sqlite3")
    yield build_app(memory, Authenticator(store, open_mode=False)), store
    store.close()
    memory.close()


@pytest.fixture
async def llm_api(llm_app, fake_llm):
    """A client of a fresh tenant on the app whose memory asks the scripted LLM."""
    app, store = llm_app
    _, secret = store.create(tenant=f"t{uuid.uuid4().hex[:8]}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://memproxy",
                                 headers={"Authorization": f"Bearer {secret}"}) as client:
        yield client


async def test_messages_are_turned_into_facts_and_events(llm_api, fake_llm):
    fake_llm.script({"facts": ["名字是张三", "不能吃辣"]},
                    {"memory": [{"id": "0", "text": "名字是张三", "event": "ADD"},
                                {"id": "1", "text": "不能吃辣", "event": "ADD"}]})

    response = await llm_api.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "我叫张三，我不能吃辣"}], "userId": "zs"})

    assert response.status_code == 200
    events = response.json()["results"]
    assert [(e["event"], e["content"]) for e in events] == [("ADD", "名字是张三"), ("ADD", "不能吃辣")]
    listed = (await llm_api.get("/v1/memories", params={"userId": "zs"})).json()
    assert sorted(m["content"] for m in listed["items"]) == ["不能吃辣", "名字是张三"]


async def test_an_update_event_names_the_previous_content(llm_api, fake_llm):
    old = (await llm_api.post("/v1/memories", json={"content": "Lives in Paris", "userId": "u"})).json()
    fake_llm.script({"facts": ["Lives in Lyon"]},
                    {"memory": [{"id": "0", "text": "Lives in Lyon", "event": "UPDATE"}]})

    response = await llm_api.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "I moved to Lyon"}], "userId": "u"})

    assert response.json()["results"] == [
        {"id": old["id"], "event": "UPDATE", "content": "Lives in Lyon", "previousContent": "Lives in Paris"}]


async def test_a_failing_llm_is_a_clear_error_and_stores_nothing(llm_api, fake_llm):
    fake_llm.script("not json", "still not json", "nope")

    response = await llm_api.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "I like tea"}], "userId": "u2"})

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "LLM_ERROR"
    assert (await llm_api.get("/v1/memories", params={"userId": "u2"})).json()["items"] == []


async def test_infer_false_skips_the_llm(llm_api, fake_llm):
    response = await llm_api.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "I like tea"}], "userId": "u3", "infer": False})

    assert [e["event"] for e in response.json()["results"]] == ["ADD"]
    assert fake_llm.requests == []
