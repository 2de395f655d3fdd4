"""The long-lived objects one server runs on, built once from the config, and their
lifespan: the data-directory lock, the upstream Router, memory (loaded in the
background so the server answers at once), and the background writer."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from starlette.applications import Starlette

from proxy.auth import Authenticator, KeyStore, check_bind
from proxy.config import ProxyConfig
from proxy.injection import Injector, content_text
from proxy.ownership import DataDirLock
from proxy.subject import Subject
from proxy.tenancy import Tenancy
from proxy.upstream import Upstream
from proxy.writer import MemoryWriter, WriteQueue

log = logging.getLogger("proxy")


class Services:
    """Everything a request handler needs; reached as ``request.state.services``."""

    def __init__(self, config: ProxyConfig, *, memory: Any = None, upstream: Upstream | None = None) -> None:
        self.config = config
        self.upstream = upstream or Upstream(config.models, config.router)
        self.injector = Injector(config.injection)
        keys = KeyStore(config.auth.resolved_keys_path(config.memory.data_dir))
        self.auth = Authenticator(
            keys,
            # Raises InsecureBind for a non-loopback address with no keys and no allow_open.
            open_allowed=check_bind(config.server.host, keys, config.auth.allow_open),
            open_tenant=config.memory.tenant,
            monthly_quota=config.auth.monthly_quota,
            rate_limit_per_minute=config.auth.rate_limit_per_minute,
        )
        self.tenancy = Tenancy(self.auth)
        self.memory: Any = memory  # an AsyncMemory; None until loaded
        self.memory_problem: str | None = None if memory is not None else "loading"
        self._owns_memory = memory is None
        self.writer: MemoryWriter | None = None

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[dict[str, Any]]:
        lock = DataDirLock(self.config.memory.data_dir).acquire()
        log.info("data directory %s is owned by this process until it exits", self.config.memory.data_dir)
        try:
            queue = WriteQueue(self.config.queue_path)
            self.writer = MemoryWriter(queue, self.config.writer, lambda: self.memory)
            self.writer.start()
            warming = asyncio.create_task(self.upstream.warm_up())
            loading = asyncio.create_task(self._load_memory()) if self.memory is None else None
            try:
                yield {"services": self}
            finally:
                warming.cancel()
                if loading is not None:
                    await asyncio.shield(loading)  # the store may be opening in a thread: let it finish
                await self.writer.stop()
                queue.close()
                if self._owns_memory and self.memory is not None:
                    await asyncio.to_thread(self.memory.close)  # flushes the store
        finally:
            lock.release()

    async def _load_memory(self) -> None:
        from memory_core import AsyncMemory

        try:
            self.memory = await asyncio.to_thread(AsyncMemory, self.config.memory)
        except Exception as exc:
            self.memory_problem = f"{type(exc).__name__}: {exc}"
            log.error("memory is unavailable, serving chats without it: %s", self.memory_problem)
            return
        self.memory_problem = None
        assert self.writer is not None
        self.writer.wake()
        log.info("memory ready (data directory %s)", self.config.memory.data_dir)

    def remember(self, subject: Subject, messages: list[dict[str, Any]], reply: str, model: str) -> None:
        """Queue the finished exchange: the latest user turn(s) and the assistant's reply."""
        if self.writer is None:
            return
        turns = recent_user_turns(messages, self.config.writer.user_turns)
        if not turns:
            return
        if reply:
            turns.append({"role": "assistant", "content": reply})
        self.writer.submit(subject, turns, {"source": "memproxy", "model": model})


def recent_user_turns(messages: list[dict[str, Any]], limit: int) -> list[dict[str, str]]:
    """The user messages after the last assistant message, at most ``limit``, as text."""
    turns: list[dict[str, str]] = []
    for message in reversed(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "assistant":
            break
        if role == "user":
            text = content_text(message.get("content")).strip()
            if text:
                turns.append({"role": "user", "content": text})
                if len(turns) >= limit:
                    break
    turns.reverse()
    return turns
