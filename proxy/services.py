"""The long-lived objects one server runs on, built once from the config, and their
lifespan: where state lives (the data-directory lock, or the shared PostgreSQL
database), the upstream Router, memory (loaded in the background so the server
answers at once), and the background writer."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from starlette.applications import Starlette

from proxy.auth import Authenticator, decide_open
from proxy.config import ProxyConfig
from proxy.injection import Injector, content_text
from proxy.state import ServerState
from proxy.subject import Subject
from proxy.tenancy import Tenancy
from proxy.upstream import Upstream
from proxy.writer import MemoryWriter

log = logging.getLogger("proxy")


class Services:
    """Everything a request handler needs; reached as ``request.state.services``."""

    def __init__(self, config: ProxyConfig, *, memory: Any = None, upstream: Upstream | None = None) -> None:
        self.config = config
        self.upstream = upstream or Upstream(config.models, config.router, config.memory.llm)
        self.injector = Injector(config.injection)
        self.state = ServerState(config)  # connects in the lifespan
        self.auth = Authenticator(
            self.state.key_store(),  # opened on first use, in the lifespan
            open_mode=False,  # decided once at start-up (lifespan); closed until then
            open_tenant=config.memory.tenant,
            monthly_quota=config.auth.monthly_quota,
            rate_limit_per_minute=config.auth.rate_limit_per_minute,
        )
        self.tenancy = Tenancy(self.auth)
        self.memory: Any = memory  # an AsyncMemory; None until loaded
        self.memory_problem: str | None = None if memory is not None else "loading"
        self._owns_memory = memory is None
        self.writer: MemoryWriter | None = None
        self._stopping = asyncio.Event()

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[dict[str, Any]]:
        state = await asyncio.to_thread(self.state.open)
        self._report_models()
        try:
            # Once, here; raises InsecureBind for open mode on a non-loopback address.
            self.auth.open_mode = await asyncio.to_thread(
                decide_open, self.config.server.host, self.auth.store, self.config.auth)
            queue = await asyncio.to_thread(state.write_queue)
            self.writer = MemoryWriter(queue, self.config.writer, lambda: self.memory)
            self.writer.start()
            warming = asyncio.create_task(self.upstream.warm_up())
            loading = asyncio.create_task(self._load_memory()) if self.memory is None else None
            try:
                yield {"services": self}
            finally:
                warming.cancel()
                self._stopping.set()
                if loading is not None:
                    await asyncio.shield(loading)  # the store may be opening in a thread: let it finish
                await self.writer.stop()
                queue.close()
                if self._owns_memory and self.memory is not None:
                    await asyncio.to_thread(self.memory.close)  # flushes the store
        finally:
            self.auth.store.close()
            state.release()

    def _report_models(self) -> None:
        for name, status in self.upstream.unready().items():
            log.warning("model %r has no API key (set %s): requests for it are answered 503 until it is set "
                        "and memproxy restarts", name, status.what_to_set())
        if not self.upstream.unready() and self.upstream.names:
            log.info("models: %s", ", ".join(self.upstream.names))

    def _memory_parts(self) -> tuple[Any, dict[str, Any]]:
        """memory_core's config and parts: the memory LLM is the Router's (one adapter for
        every model call); without a usable one, memories are stored as said (raw mode)."""
        config, llm = self.config.memory, self.upstream.memory_llm
        if llm is None:
            log.info("no memory LLM configured: memories are stored as said (raw mode)")
            return config.model_copy(update={"llm": None}), {}
        if not self.upstream.memory_llm_status.ready:
            log.warning("the memory LLM %r has no API key (set %s): memories are stored as said (raw mode) "
                        "until it is set", llm.model, self.upstream.memory_llm_status.what_to_set())
            return config.model_copy(update={"llm": None}), {}
        log.info("memory LLM: %s (facts are extracted from each exchange)", llm.model)
        return config, {"llm": llm}

    async def _load_memory(self) -> None:
        from memory_core import AsyncMemory

        from memory_core.postgres import DatabaseError

        config, parts = self._memory_parts()
        delay = 1.0
        while True:
            try:
                self.memory = await asyncio.to_thread(AsyncMemory, config, **parts)
                break
            except DatabaseError as exc:  # a database blip at start-up: keep trying, /readyz says 503 meanwhile
                self.memory_problem = f"{type(exc).__name__}: {exc}"
                log.error("memory is unavailable, serving chats without it; retrying in %.0f s: %s", delay,
                          self.memory_problem)
                try:  # until the next try, or until the server stops
                    await asyncio.wait_for(self._stopping.wait(), delay)
                    return
                except asyncio.TimeoutError:
                    delay = min(delay * 2, 60.0)
            except Exception as exc:
                self.memory_problem = f"{type(exc).__name__}: {exc}"
                log.error("memory is unavailable, serving chats without it: %s", self.memory_problem)
                return
        self.memory_problem = None
        assert self.writer is not None
        self.writer.wake()
        where = "PostgreSQL" if self.config.memory.database_url else f"data directory {self.config.memory.data_dir}"
        log.info("memory ready (%s, vectors: %s)", where, self.config.memory.vector_store.provider)

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
