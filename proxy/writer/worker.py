"""The background writer: applies queued exchanges to memory, never on the request path.

One dispatcher loop takes due jobs from the :class:`WriteQueue` (the oldest of each
subject, at most ``concurrency`` subjects at a time, so one subject's writes stay in
order) and runs ``memory.add`` for each. Failures retry with exponential backoff; after
``max_attempts`` (or at once, for an error that retrying cannot fix) the job moves to the
dead letters and is logged. ``stop()`` takes no new jobs, gives the ones in flight
``shutdown_grace`` seconds, and leaves any unfinished job queued for the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Protocol

from memory_core.errors import MemoryCoreError

from proxy.config import WriterConfig
from proxy.subject import Subject
from proxy.writer.queue import Job, WriteQueue

log = logging.getLogger("proxy.writer")


class MemoryAdd(Protocol):
    async def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]: ...


class MemoryWriter:
    def __init__(
        self,
        queue: WriteQueue,
        config: WriterConfig,
        memory: Callable[[], MemoryAdd | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.config = config
        self._memory = memory  # None until memory has loaded: jobs wait, untouched
        self._clock = clock
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the dispatcher's, set by start()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self.applied = 0

    def submit(self, subject: Subject, messages: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> None:
        """Queue one exchange durably; returns as soon as it is committed. Safe from any
        thread (Starlette runs a sync background task in a worker thread)."""
        payload = {"messages": messages, **subject.scope(), "metadata": metadata or {}}
        try:
            self.queue.put(subject.key, payload, now=self._clock())
        except Exception:
            log.exception("could not queue a memory write for %s", subject.user_id)
            return
        self.wake()

    def wake(self) -> None:
        """Look at the queue now (memory just became available, say). Safe from any thread:
        an asyncio.Event may only be set on its own loop's thread."""
        loop = self._loop
        try:
            on_loop = loop is None or asyncio.get_running_loop() is loop
        except RuntimeError:  # no loop in this thread: a worker thread
            on_loop = False
        if on_loop:
            self._wake.set()
        elif not loop.is_closed():  # type: ignore[union-attr]
            loop.call_soon_threadsafe(self._wake.set)  # type: ignore[union-attr]

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_task = asyncio.create_task(self._dispatch(), name="memproxy-writer")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        tasks = list(self._in_flight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.shutdown_grace)
            for task in pending:  # still queued in SQLite: it runs again after a restart
                task.cancel()
            if pending:
                await asyncio.wait(pending)
                log.warning("%d memory write(s) left queued for the next start", len(pending))

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued or in flight (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while self.queue.counts()["pending"] or self._in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError("memory writes still pending")
            await asyncio.sleep(0.02)

    async def _dispatch(self) -> None:
        while not self._stopping:
            self._wake.clear()
            delay = 1.0
            memory = self._memory()
            if memory is not None:
                free = self.config.concurrency - len(self._in_flight)
                now = self._clock()
                if free > 0:
                    for job in self.queue.ready(now, busy=self._in_flight, limit=free):
                        task = asyncio.create_task(self._apply(memory, job))
                        self._in_flight[job.subject] = task
                due = self.queue.next_due()
                if due is not None:
                    delay = min(max(due - now, 0.01), 1.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def _apply(self, memory: MemoryAdd, job: Job) -> None:
        payload = job.payload
        try:
            await memory.add(
                payload["messages"],
                user_id=payload.get("user_id"),
                agent_id=payload.get("agent_id"),
                run_id=payload.get("run_id"),
                tenant=payload.get("tenant"),
                metadata=payload.get("metadata") or None,
                infer=True,
                continues=True,  # one exchange of a conversation stored one exchange at a time
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(job, exc)
        else:
            self.queue.done(job.id)
            self.applied += 1
        finally:
            self._in_flight.pop(job.subject, None)
            self._wake.set()

    def _failed(self, job: Job, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        attempts = job.attempts + 1
        permanent = isinstance(exc, MemoryCoreError) and exc.status < 500
        if permanent or attempts >= self.config.max_attempts:
            self.queue.bury(job.id, error, now=self._clock())
            log.error("memory write %d dead-lettered after %d attempt(s): %s", job.id, attempts, error)
            return
        backoff = min(self.config.backoff * 2 ** (attempts - 1), self.config.max_backoff)
        self.queue.retry(job.id, error, at=self._clock() + backoff)
        log.warning("memory write %d failed (attempt %d), retrying in %.1fs: %s", job.id, attempts, backoff, error)
