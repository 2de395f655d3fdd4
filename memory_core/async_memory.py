"""``AsyncMemory``: the same engine and methods as :class:`Memory`, as coroutines.

Embedding, storage and LLM work run in worker threads, so awaiting any method never
blocks the event loop.

    >>> mem = AsyncMemory()
    >>> await mem.add("I can't eat spicy food", user_id="alice")
    >>> (await mem.search("dinner ideas?", user_id="alice"))["results"]
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from memory_core.errors import SearchTimeoutError
from memory_core.memory import Memory


class AsyncMemory:
    def __init__(self, config: Any = None, **parts: Any) -> None:
        self.sync = Memory(config, **parts)
        self.config = self.sync.config

    @classmethod
    def from_config(cls, config: Any) -> "AsyncMemory":
        return cls(config)

    async def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        fn = functools.partial(getattr(self.sync, name), *args, **kwargs)
        return await asyncio.to_thread(fn)

    async def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]:
        return await self._run("add", messages, **kwargs)

    async def search(self, query: str, *, timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        """:meth:`Memory.search`. A ``timeout`` counts from this call, so a search still
        waiting for a worker thread when it runs out never starts, and one under way
        stops at its next stage rather than keep the thread busy."""
        if timeout is None:
            return await self._run("search", query, **kwargs)
        called = time.monotonic()

        def in_thread() -> dict[str, Any]:
            return self.sync.search(query, timeout=timeout - (time.monotonic() - called), **kwargs)

        try:
            return await asyncio.wait_for(asyncio.to_thread(in_thread), timeout)
        except asyncio.TimeoutError:
            raise SearchTimeoutError("the search did not finish within its timeout") from None

    async def get(self, memory_id: str, **kwargs: Any) -> dict[str, Any] | None:
        return await self._run("get", memory_id, **kwargs)

    async def get_all(self, **kwargs: Any) -> dict[str, Any]:
        return await self._run("get_all", **kwargs)

    async def update(self, memory_id: str, data: str, **kwargs: Any) -> dict[str, Any]:
        return await self._run("update", memory_id, data, **kwargs)

    async def update_many(self, changes: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
        return await self._run("update_many", changes, **kwargs)

    async def delete(self, memory_id: str, **kwargs: Any) -> dict[str, Any]:
        return await self._run("delete", memory_id, **kwargs)

    async def delete_all(self, **kwargs: Any) -> dict[str, Any]:
        return await self._run("delete_all", **kwargs)

    async def history(self, memory_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        return await self._run("history", memory_id, **kwargs)

    async def entities(self, **kwargs: Any) -> list[dict[str, Any]]:
        return await self._run("entities", **kwargs)

    async def reset(self) -> None:
        await self._run("reset")

    async def ready(self) -> bool:
        return await self._run("ready")

    def close(self) -> None:
        self.sync.close()

    async def aclose(self) -> None:
        await self._run("close")

    async def __aenter__(self) -> "AsyncMemory":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
