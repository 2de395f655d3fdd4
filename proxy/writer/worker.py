"""The background writer: applies queued exchanges to memory, never on the request path.

One dispatcher loop takes due jobs from the :class:`~proxy.writer.queue.JobQueue` (the
oldest of each subject, at most ``concurrency`` subjects at a time, so one subject's
writes stay in order) and runs ``memory.add`` for each. Failures retry with exponential
backoff; after ``max_attempts`` (or at once, for an error that retrying cannot fix) the
job moves to the dead letters and is logged. For a shared queue, the jobs in flight have
their claims renewed every third of the lease, so no other replica takes them over while
this one lives. ``stop()`` takes no new jobs, gives the ones in flight ``shutdown_grace``
seconds, and leaves any unfinished job queued (its claim given back) for the next start
or another replica.

Queue calls block (SQLite, or a database round trip), so they run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol, TypeVar

from memory_core.errors import MemoryCoreError

from proxy.config import WriterConfig
from proxy.subject import Subject
from proxy.writer.queue import Job, JobQueue

log = logging.getLogger("proxy.writer")
T = TypeVar("T")


class MemoryAdd(Protocol):
    async def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]: ...


class MemoryWriter:
    def __init__(
        self,
        queue: JobQueue,
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
        self._claims: dict[str, Job] = {}  # subject -> its job whose claim is renewed while it runs
        self._loop_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._stopping = False
        # Queue calls get threads of their own: renewals must not wait behind memory's work
        # in the default executor.
        self._queue_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="memproxy-queue")
        self.applied = 0  # jobs done
        self.retried = 0  # failures scheduled for another attempt

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
            try:
                loop.call_soon_threadsafe(self._wake.set)  # type: ignore[union-attr]
            except RuntimeError:  # closed meanwhile: nothing left to wake
                pass

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_task = asyncio.create_task(self._dispatch(), name="memproxy-writer")
        if self.queue.lease_seconds is not None:
            self._renew_task = asyncio.create_task(self._renew(self.queue.lease_seconds / 3),
                                                   name="memproxy-writer-renew")
        self.queue.watch(self.wake)

    async def stop(self) -> None:
        self._stopping = True
        await asyncio.to_thread(self.queue.watch, None)  # joins the queue's listener thread, if any
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        tasks = list(self._in_flight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.shutdown_grace)
            unfinished = [job.id for subject, job in self._claims.items() if self._in_flight.get(subject) in pending]
            for task in pending:  # still queued: it runs again after a restart, or on another replica
                task.cancel()
            if pending:
                await asyncio.wait(pending)
                await self._release(unfinished)
                log.warning("%d memory write(s) left queued for the next start", len(pending))
        if self._renew_task is not None:
            self._renew_task.cancel()
            await asyncio.gather(self._renew_task, return_exceptions=True)
        self._queue_threads.shutdown(wait=False)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued or in flight (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while (await asyncio.to_thread(self.queue.counts))["pending"] or self._in_flight:
            if time.monotonic() > deadline:
                raise TimeoutError("memory writes still pending")
            await asyncio.sleep(0.02)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._queue_threads, fn, *args)

    async def _dispatch(self) -> None:
        failing = False
        while not self._stopping:
            self._wake.clear()
            delay = self.queue.poll_interval
            memory = self._memory()
            if memory is not None:
                try:
                    delay = await self._start_due(memory)
                except Exception as exc:  # the database is away, say: look again at the next poll
                    if not failing:
                        log.warning("cannot read the write queue (%s: %s); trying every %.1fs",
                                    type(exc).__name__, exc, delay)
                    failing = True
                else:
                    if failing:
                        log.info("the write queue is readable again")
                    failing = False
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def _start_due(self, memory: MemoryAdd) -> float:
        """Start the due jobs there is room for; return how long to wait before looking again."""
        poll = self.queue.poll_interval
        free = self.config.concurrency - len(self._in_flight)
        if free <= 0:
            return poll  # a job that finishes wakes the loop
        now = self._clock()
        jobs = await self._call(self.queue.ready, now, list(self._in_flight), free)
        if self._stopping:  # stop() began while claiming: leave them to whoever is next
            await self._release([job.id for job in jobs])
            return 0.0
        for job in jobs:
            self._claims[job.subject] = job
            self._in_flight[job.subject] = asyncio.create_task(self._apply(memory, job))
        if jobs:
            return poll  # each finishing job wakes the loop, which then asks what is due
        due = await self._call(self.queue.next_due)
        return poll if due is None else min(max(due - now, 0.01), poll)

    async def _renew(self, every: float) -> None:
        """Keep the claims on the jobs in flight alive (a no-op for a queue without leases)."""
        while True:
            await asyncio.sleep(every)
            claims = dict(self._claims)
            if not claims:
                continue
            try:
                held = await self._call(self.queue.renew, [job.id for job in claims.values()])
            except Exception as exc:
                log.warning("could not renew the claims on %d memory write(s): %s: %s",
                            len(claims), type(exc).__name__, exc)
                continue
            for subject, job in claims.items():
                if job.id not in held and self._claims.get(subject) is job:
                    # Its lease ran out and another replica has it: that one's outcome counts, and
                    # this run stops here, so the subject's next write cannot overlap it.
                    del self._claims[subject]
                    task = self._in_flight.get(subject)
                    if task is not None:
                        task.cancel()
                    log.warning("memory write %d was taken over by another replica (this one did not "
                                "renew its claim in time); stopped here, it runs there", job.id)

    async def _release(self, job_ids: list[int]) -> None:
        if not job_ids:
            return
        try:
            await self._call(self.queue.release, job_ids)
        except Exception as exc:  # the claims then run out after their lease
            log.warning("could not give back %d claim(s): %s: %s", len(job_ids), type(exc).__name__, exc)

    async def _apply(self, memory: MemoryAdd, job: Job) -> None:
        try:
            try:
                outcome = await self._add(memory, job.payload)
            finally:
                self._claims.pop(job.subject, None)  # settled: recording the outcome is one short call
            if outcome is None:
                await self._call(self.queue.done, job.id)
                self.applied += 1
            else:
                await self._failed(job, outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not record the outcome of memory write %d; it will run again", job.id)
        finally:
            self._in_flight.pop(job.subject, None)
            self._wake.set()

    @staticmethod
    async def _add(memory: MemoryAdd, payload: dict[str, Any]) -> Exception | None:
        """Run one write; the error it failed with, or None."""
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
            return exc
        return None

    async def _failed(self, job: Job, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        attempts = job.attempts + 1
        permanent = isinstance(exc, MemoryCoreError) and exc.status < 500
        if permanent or attempts >= self.config.max_attempts:
            await self._call(self.queue.bury, job.id, error, self._clock())
            log.error("memory write %d dead-lettered after %d attempt(s): %s", job.id, attempts, error)
            return
        backoff = min(self.config.backoff * 2 ** (attempts - 1), self.config.max_backoff)
        await self._call(self.queue.retry, job.id, error, self._clock() + backoff)
        self.retried += 1
        log.warning("memory write %d failed (attempt %d), retrying in %.1fs: %s", job.id, attempts, backoff, error)
