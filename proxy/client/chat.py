"""A chat client in the shape of Mem0's proxy client (``mem0.proxy.main.Mem0``) that
talks to a memproxy server: memory search, injection and the memory write all happen
on the server, so the client is the OpenAI SDK plus the subject's ids::

    from proxy.client import MemproxyChat

    client = MemproxyChat("http://127.0.0.1:8888", api_key="mk_...")
    answer = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "I'm vegetarian and live in Lyon."}],
        user_id="alice",
    )
    print(answer.choices[0].message.content)

    for chunk in client.chat.completions.create(model="gpt-4o-mini", user_id="alice",
                                                messages=[{"role": "user", "content": "Dinner ideas?"}],
                                                stream=True):
        print(chunk.choices[0].delta.content or "", end="")

    client.memories.search("diet", user_id="alice")     # the same server's memory API

It needs the ``openai`` package (``pip install openai``); answers and errors are the
OpenAI SDK's own types. ``with_memory`` gives which memories were injected, from the
response headers.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Generic, Iterable, TypeVar

from proxy.client.memory import DEFAULT_BASE_URL, AsyncMemoryClient, MemoryClient, normalize_base_url

T = TypeVar("T")


def _openai() -> Any:
    try:
        import openai
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the memproxy chat client needs the openai package: pip install openai") from None
    return openai


def _omit() -> Any:
    openai = _openai()
    omit = getattr(openai, "Omit", None)
    if omit is None:  # older 1.x releases keep it private
        from openai._types import Omit as omit
    return omit()


@dataclass(frozen=True, slots=True)
class MemoryInfo:
    """What the server did with memory for one request (its ``X-Memory-*`` headers)."""

    status: str | None  # injected | none | off | no-subject | no-query | skipped
    injected: int = 0
    ids: list[str] = field(default_factory=list)
    write: bool | None = None

    @classmethod
    def from_headers(cls, headers: Any) -> "MemoryInfo":
        ids = [i for i in (headers.get("x-memory-ids") or "").split(",") if i.strip()]
        try:
            injected = int(headers.get("x-memory-injected") or len(ids))
        except ValueError:
            injected = len(ids)
        write = headers.get("x-memory-write")
        return cls(status=headers.get("x-memory-status"), injected=injected, ids=[i.strip() for i in ids],
                   write=None if write is None else write == "on")


@dataclass(frozen=True, slots=True)
class WithMemory(Generic[T]):
    """An answer (a completion, or a stream of chunks) and the memory report that came with it."""

    response: T
    memory: MemoryInfo


def _body(user_id: str | None, agent_id: str | None, run_id: str | None, memory: dict[str, Any] | None,
          limit: int | None, extra_body: dict[str, Any] | None) -> dict[str, Any]:
    body = dict(extra_body or {})
    for key, value in (("user_id", user_id), ("agent_id", agent_id), ("run_id", run_id)):
        if value is not None:
            body[key] = value
    controls = dict(memory or {})
    if limit is not None:
        controls["limit"] = limit
    if controls:
        body["memory"] = controls
    return body


def _client_options(base_url: str | None, host: str | None, api_key: str | None) -> tuple[str, dict[str, Any]]:
    root = normalize_base_url(base_url or host or DEFAULT_BASE_URL)
    # An open server (loopback, no keys) needs no key; the SDK insists on one, so it gets
    # a placeholder and each request leaves the Authorization header out.
    return root, {"base_url": root + "/v1", "api_key": api_key or "unused"}


class _Options:
    """What every call adds: memproxy's fields in the body, and no key where there is none."""

    def __init__(self, openai_client: Any, send_key: bool) -> None:
        self.openai = openai_client
        self.send_key = send_key

    def request(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        body = _body(kwargs.pop("user_id", None), kwargs.pop("agent_id", None), kwargs.pop("run_id", None),
                     kwargs.pop("memory", None), kwargs.pop("limit", None), kwargs.pop("extra_body", None))
        if body:
            kwargs["extra_body"] = body
        if not self.send_key:
            kwargs["extra_headers"] = {"Authorization": _omit(), **(kwargs.get("extra_headers") or {})}
        kwargs["messages"] = list(kwargs["messages"])
        return kwargs


class Completions:
    def __init__(self, options: _Options) -> None:
        self._options = options

    def create(self, *, model: str, messages: Iterable[dict[str, Any]], user_id: str | None = None,
               agent_id: str | None = None, run_id: str | None = None, memory: dict[str, Any] | None = None,
               limit: int | None = None, stream: bool = False, extra_body: dict[str, Any] | None = None,
               **kwargs: Any) -> Any:
        """A chat completion (``stream=True``: an iterator of chunks) remembered for the subject.

        ``memory`` sets per-request controls, e.g. ``{"read": False}`` or ``{"write": False}``;
        ``limit`` caps how many memories are injected. Other keyword arguments are OpenAI's.
        """
        request = self._options.request(dict(
            kwargs, model=model, messages=messages, user_id=user_id, agent_id=agent_id, run_id=run_id,
            memory=memory, limit=limit, stream=stream, extra_body=extra_body))
        return self._options.openai.chat.completions.create(**request)

    def with_memory(self, **kwargs: Any) -> WithMemory[Any]:
        """Like :meth:`create` (same arguments), also returning which memories were injected."""
        raw = self._options.openai.chat.completions.with_raw_response.create(**self._options.request(kwargs))
        return WithMemory(raw.parse(), MemoryInfo.from_headers(raw.headers))


class AsyncCompletions:
    def __init__(self, options: _Options) -> None:
        self._options = options

    async def create(self, *, model: str, messages: Iterable[dict[str, Any]], user_id: str | None = None,
                     agent_id: str | None = None, run_id: str | None = None,
                     memory: dict[str, Any] | None = None, limit: int | None = None, stream: bool = False,
                     extra_body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        request = self._options.request(dict(
            kwargs, model=model, messages=messages, user_id=user_id, agent_id=agent_id, run_id=run_id,
            memory=memory, limit=limit, stream=stream, extra_body=extra_body))
        return await self._options.openai.chat.completions.create(**request)

    async def with_memory(self, **kwargs: Any) -> WithMemory[Any]:
        raw = await self._options.openai.chat.completions.with_raw_response.create(**self._options.request(kwargs))
        parsed = raw.parse()  # sync in the SDK's legacy raw responses, async in newer ones
        if inspect.isawaitable(parsed):
            parsed = await parsed
        return WithMemory(parsed, MemoryInfo.from_headers(raw.headers))


class _Chat:
    def __init__(self, completions: Any) -> None:
        self.completions = completions


class MemproxyChat:
    """``client.chat.completions.create(model=..., messages=..., user_id=...)`` against a
    memproxy server. ``host=`` is accepted as Mem0's spelling of ``base_url``."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, host: str | None = None,
                 timeout: float = 120.0, max_retries: int = 2, **openai_options: Any) -> None:
        self.base_url, options = _client_options(base_url, host, api_key)
        self._api_key = api_key
        self.openai = _openai().OpenAI(timeout=timeout, max_retries=max_retries, **options, **openai_options)
        self.chat = _Chat(Completions(_Options(self.openai, bool(api_key))))
        self._memories: MemoryClient | None = None

    @property
    def memories(self) -> MemoryClient:
        """A :class:`MemoryClient` for the same server and key."""
        if self._memories is None:
            self._memories = MemoryClient(self.base_url, self._api_key)
        return self._memories

    def close(self) -> None:
        self.openai.close()
        if self._memories is not None:
            self._memories.close()

    def __enter__(self) -> "MemproxyChat":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMemproxyChat:
    """The asynchronous :class:`MemproxyChat`: ``await client.chat.completions.create(...)``."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, host: str | None = None,
                 timeout: float = 120.0, max_retries: int = 2, **openai_options: Any) -> None:
        self.base_url, options = _client_options(base_url, host, api_key)
        self._api_key = api_key
        self.openai = _openai().AsyncOpenAI(timeout=timeout, max_retries=max_retries, **options, **openai_options)
        self.chat = _Chat(AsyncCompletions(_Options(self.openai, bool(api_key))))
        self._memories: AsyncMemoryClient | None = None

    @property
    def memories(self) -> AsyncMemoryClient:
        if self._memories is None:
            self._memories = AsyncMemoryClient(self.base_url, self._api_key)
        return self._memories

    async def aclose(self) -> None:
        await self.openai.close()
        if self._memories is not None:
            await self._memories.aclose()

    async def __aenter__(self) -> "AsyncMemproxyChat":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
