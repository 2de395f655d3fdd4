"""A search given a ``timeout`` gives up at its next stage once the time is out, so a
recall the chat stopped waiting for does not go on to search the store in its worker
thread (the proxy's recall passes its own timeout)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from memory_core import AsyncMemory
from memory_core.errors import SearchTimeoutError
from memory_core.vector_store import VectorStoreConfig, open_vector_store


class GatedEmbedder:
    """The real embedder, whose query embedding waits until the test opens the gate."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.embedding = threading.Event()
        self.embedded = threading.Event()

    def embed_queries(self, texts):
        self.embedding.set()
        assert self.gate.wait(10)
        try:
            return self.inner.embed_queries(texts)
        finally:
            self.embedded.set()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class CountingStore:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.searches = 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self.inner.search(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def parts(tmp_path, embedder):
    store = CountingStore(open_vector_store(VectorStoreConfig(), tmp_path, embedder.dims))
    return GatedEmbedder(embedder), store


async def test_a_search_that_runs_out_of_time_stops_before_searching_the_store(tmp_path, parts):
    embedder, store = parts
    async with AsyncMemory({"data_dir": str(tmp_path)}, embedder=embedder, vector_store=store) as mem:
        await mem.add("我喜欢喝绿茶", user_id="zs", infer=False)
        embedder.gate.clear()
        with pytest.raises(SearchTimeoutError):
            await mem.search("我爱喝什么？", user_id="zs", timeout=0.2)
        assert embedder.embedding.is_set()  # the worker thread is inside the embedder
        embedder.gate.set()
        assert await asyncio.to_thread(embedder.embedded.wait, 10)
        await asyncio.sleep(0.2)  # the thread goes on from the embedder: it must see the time is out
        assert store.searches == 0


async def test_a_search_within_its_timeout_answers_as_without_one(tmp_path, parts):
    embedder, store = parts
    async with AsyncMemory({"data_dir": str(tmp_path)}, embedder=embedder, vector_store=store) as mem:
        added = await mem.add("我喜欢喝绿茶", user_id="zs", infer=False)
        found = await mem.search("我爱喝什么？", user_id="zs", timeout=30)
        assert [r["id"] for r in found["results"]] == [added["results"][0]["id"]]


def test_a_sync_search_with_no_time_left_does_nothing(memory):
    with pytest.raises(SearchTimeoutError):
        memory.search("anything", user_id="u", timeout=0)
