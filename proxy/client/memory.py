"""Clients for memproxy's memory API (``/v1/memories``), synchronous and asynchronous,
over httpx. Both have the same methods; the async one's are coroutines::

    from proxy.client import MemoryClient

    with MemoryClient("http://127.0.0.1:8888", api_key="mk_...") as memories:
        added = memories.add("我叫张三，不能吃辣", user_id="zhangsan", tags=["profile"])
        for hit in memories.search("我能吃什么？", user_id="zhangsan"):
            print(hit["score"], hit["content"])
        memories.delete(added["id"])

Answers are the API's JSON (camelCase keys: ``userId``, ``createdAt`` ...). Errors are
raised as :mod:`proxy.client.errors` types carrying the API's ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from proxy.client.errors import APIConnectionError, error_from_response

DEFAULT_BASE_URL = "http://127.0.0.1:8888"


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None


def normalize_base_url(base_url: str) -> str:
    """``http://host:8888``, ``http://host:8888/`` and ``http://host:8888/v1`` all work."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def auth_headers(api_key: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "memproxy-client"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    headers.update(extra or {})
    return headers


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _item(memory_id: str, suffix: str = "") -> str:
    if not isinstance(memory_id, str) or not memory_id:
        raise ValueError("memory_id must be a non-empty string")
    return f"/v1/memories/{quote(memory_id, safe='')}{suffix}"


class _Calls:
    """The HTTP request for each method, shared by the sync and async clients."""

    @staticmethod
    def add(content: str | None, user_id: str | None, agent_id: str | None, tags: list[str] | None,
            metadata: dict[str, Any] | None, messages: list[dict[str, Any]] | None, infer: bool | None) -> _Call:
        if (content is None) == (messages is None):
            raise ValueError("give either content (one memory) or messages (a conversation), not both")
        body = _drop_none({"content": content, "messages": messages, "infer": infer, "userId": user_id,
                           "agentId": agent_id, "tags": tags, "metadata": metadata})
        return _Call("POST", "/v1/memories", json=body)

    @staticmethod
    def search(query: str, user_id: str | None, agent_id: str | None, tags: list[str] | None,
               limit: int | None, threshold: float | None, context: list[str] | None = None) -> _Call:
        body = _drop_none({"query": query, "userId": user_id, "agentId": agent_id, "tags": tags,
                           "limit": limit, "threshold": threshold, "context": context})
        return _Call("POST", "/v1/memories/search", json=body)

    @staticmethod
    def list(user_id: str | None, agent_id: str | None, tags: list[str] | None, page: int, limit: int) -> _Call:
        params = _drop_none({"userId": user_id, "agentId": agent_id,
                             "tags": ",".join(tags) if tags else None, "page": page, "limit": limit})
        return _Call("GET", "/v1/memories", params=params)

    @staticmethod
    def update(memory_id: str, content: str | None, tags: list[str] | None,
               metadata: dict[str, Any] | None) -> _Call:
        body = _drop_none({"content": content, "tags": tags, "metadata": metadata})
        if not body:
            raise ValueError("give at least one of content, tags, metadata")
        return _Call("PATCH", _item(memory_id), json=body)

    @staticmethod
    def delete_all(user_id: str | None, agent_id: str | None) -> _Call:
        params = _drop_none({"userId": user_id, "agentId": agent_id})
        if not params:
            raise ValueError("delete_all needs user_id (or agent_id): it never deletes everything")
        return _Call("DELETE", "/v1/memories", params=params)


def _result(response: httpx.Response) -> Any:
    if response.is_error:
        raise error_from_response(response)
    if not response.content:
        return None
    return response.json()


def _results(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        for key in ("results", "items", "history"):
            if isinstance(data.get(key), list):
                return data[key]
    return data if isinstance(data, list) else []


class MemoryClient:
    """Synchronous client for ``/v1/memories``. Close it (or use ``with``) when done."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str | None = None, *,
                 timeout: float = 30.0, headers: dict[str, str] | None = None,
                 http_client: httpx.Client | None = None) -> None:
        self.base_url = normalize_base_url(base_url)
        self._owns_client = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._headers = auth_headers(api_key, headers)

    def _send(self, call: _Call) -> Any:
        try:
            response = self._http.request(call.method, self.base_url + call.path, params=call.params,
                                          json=call.json, headers=self._headers)
        except httpx.TransportError as exc:
            raise APIConnectionError(f"cannot reach memproxy at {self.base_url}: {exc}") from exc
        return _result(response)

    def add(self, content: str | None = None, *, user_id: str | None = None, agent_id: str | None = None,
            tags: list[str] | None = None, metadata: dict[str, Any] | None = None,
            messages: list[dict[str, Any]] | None = None, infer: bool | None = None) -> dict[str, Any]:
        """Store ``content`` as one memory, or extract memories from ``messages``."""
        return self._send(_Calls.add(content, user_id, agent_id, tags, metadata, messages, infer))

    def search(self, query: str, *, user_id: str | None = None, agent_id: str | None = None,
               tags: list[str] | None = None, limit: int | None = None,
               threshold: float | None = None, context: list[str] | None = None) -> list[dict[str, Any]]:
        """The memories most relevant to ``query``, best first, each with a ``score``.
        ``context``: when ``query`` is a chat message, the user's earlier messages (oldest
        first); the search leans on them when they are about the same thing."""
        return _results(self._send(_Calls.search(query, user_id, agent_id, tags, limit, threshold, context)))

    def list(self, *, user_id: str | None = None, agent_id: str | None = None, tags: list[str] | None = None,
             page: int = 1, limit: int = 20) -> dict[str, Any]:
        """One page: ``{"items": [...], "pagination": {page, limit, total, totalPages}}``."""
        return self._send(_Calls.list(user_id, agent_id, tags, page, limit))

    def get(self, memory_id: str) -> dict[str, Any]:
        return self._send(_Call("GET", _item(memory_id)))

    def update(self, memory_id: str, *, content: str | None = None, tags: list[str] | None = None,
               metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._send(_Calls.update(memory_id, content, tags, metadata))

    def delete(self, memory_id: str) -> dict[str, Any]:
        return self._send(_Call("DELETE", _item(memory_id)))

    def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None) -> dict[str, Any]:
        """Delete every memory of one user (or agent)."""
        return self._send(_Calls.delete_all(user_id, agent_id))

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """The memory's changes, oldest first (ADD, UPDATE, DELETE events)."""
        return _results(self._send(_Call("GET", _item(memory_id, "/history"))))

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> "MemoryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMemoryClient:
    """Asynchronous client for ``/v1/memories``; the same methods as :class:`MemoryClient`."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str | None = None, *,
                 timeout: float = 30.0, headers: dict[str, str] | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        self.base_url = normalize_base_url(base_url)
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._headers = auth_headers(api_key, headers)

    async def _send(self, call: _Call) -> Any:
        try:
            response = await self._http.request(call.method, self.base_url + call.path, params=call.params,
                                                json=call.json, headers=self._headers)
        except httpx.TransportError as exc:
            raise APIConnectionError(f"cannot reach memproxy at {self.base_url}: {exc}") from exc
        return _result(response)

    async def add(self, content: str | None = None, *, user_id: str | None = None, agent_id: str | None = None,
                  tags: list[str] | None = None, metadata: dict[str, Any] | None = None,
                  messages: list[dict[str, Any]] | None = None, infer: bool | None = None) -> dict[str, Any]:
        return await self._send(_Calls.add(content, user_id, agent_id, tags, metadata, messages, infer))

    async def search(self, query: str, *, user_id: str | None = None, agent_id: str | None = None,
                     tags: list[str] | None = None, limit: int | None = None,
                     threshold: float | None = None, context: list[str] | None = None) -> list[dict[str, Any]]:
        return _results(await self._send(_Calls.search(query, user_id, agent_id, tags, limit, threshold, context)))

    async def list(self, *, user_id: str | None = None, agent_id: str | None = None,
                   tags: list[str] | None = None, page: int = 1, limit: int = 20) -> dict[str, Any]:
        return await self._send(_Calls.list(user_id, agent_id, tags, page, limit))

    async def get(self, memory_id: str) -> dict[str, Any]:
        return await self._send(_Call("GET", _item(memory_id)))

    async def update(self, memory_id: str, *, content: str | None = None, tags: list[str] | None = None,
                     metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._send(_Calls.update(memory_id, content, tags, metadata))

    async def delete(self, memory_id: str) -> dict[str, Any]:
        return await self._send(_Call("DELETE", _item(memory_id)))

    async def delete_all(self, *, user_id: str | None = None, agent_id: str | None = None) -> dict[str, Any]:
        return await self._send(_Calls.delete_all(user_id, agent_id))

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        return _results(await self._send(_Call("GET", _item(memory_id, "/history"))))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncMemoryClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
