"""A small in-memory stand-in for memory_core's AsyncMemory (same method contract)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any


class FakeMemory:
    """Stores each user message verbatim (like memory_core's raw mode); search returns the
    subject's memories newest first. ``fail_search`` / ``fail_add`` make calls raise."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.adds: list[dict[str, Any]] = []
        self.searches: list[dict[str, Any]] = []
        self.fail_search: BaseException | None = None
        self.fail_add: BaseException | None = None
        self.add_delay = 0.0
        self.search_delay = 0.0
        self.closed = False
        self._ids = itertools.count(1)

    def remember(self, text: str, **scope: Any) -> str:
        item = {"id": f"mem_{next(self._ids)}", "memory": text, "score": 0.9, "tenant": "default",
                "user_id": None, "agent_id": None, "run_id": None, **scope}
        self.items.append(item)
        return item["id"]

    async def search(self, query: str, *, limit: int = 10, threshold: float | None = None,
                     tenant: str | None = None, timeout: float | None = None, context: Any = None,
                     **scope: Any) -> dict[str, Any]:
        self.searches.append({"query": query, "limit": limit, "threshold": threshold, "tenant": tenant,
                              "context": context, **scope})
        if self.search_delay:
            await asyncio.wait_for(asyncio.sleep(self.search_delay), timeout)
        if self.fail_search is not None:
            raise self.fail_search
        found = [i for i in reversed(self.items) if self._matches(i, tenant, scope)]
        return {"results": found[:limit]}

    async def add(self, messages: Any, *, tenant: str | None = None, metadata: Any = None,
                  infer: bool = True, continues: bool = False, **scope: Any) -> dict[str, Any]:
        self.adds.append({"messages": messages, "tenant": tenant, "metadata": metadata, **scope})
        if self.add_delay:
            await asyncio.sleep(self.add_delay)
        if self.fail_add is not None:
            raise self.fail_add
        results = []
        for message in messages:
            if message["role"] == "user":
                ids = {k: v for k, v in scope.items() if k in ("user_id", "agent_id", "run_id")}
                results.append({"id": self.remember(message["content"], tenant=tenant or "default", **ids),
                                "memory": message["content"], "event": "ADD"})
        return {"results": results}

    async def ready(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    @staticmethod
    def _matches(item: dict[str, Any], tenant: str | None, scope: dict[str, Any]) -> bool:
        if tenant is not None and item.get("tenant") != tenant:
            return False
        return all(item.get(k) == v for k, v in scope.items() if v is not None)
