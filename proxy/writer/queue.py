"""What the background writer needs from a write queue, and the job it hands out.

Two implementations: :class:`~proxy.writer.sqlite_queue.WriteQueue`, one SQLite file
owned by one process (the embedded mode), and
:class:`~proxy.writer.postgres_queue.PostgresWriteQueue`, one PostgreSQL table shared by
every replica (the shared-state mode). Both keep the same promises:

- ``put`` is durable when it returns;
- ``ready`` hands out only the oldest job of a subject, and never a subject that is
  already being written (here, or, for the shared queue, by any replica), so one
  subject's writes run one at a time, in order;
- a job leaves the queue only by ``done`` or ``bury`` (at least once: a write whose
  process died runs again);
- ``counts()`` is ``{"pending", "dead_letters"}`` and ``dead_letters()`` lists the
  buried jobs newest first, which ``GET /readyz`` and ``memproxy dead-letters`` show.

All methods block (a file or a database round trip): the writer calls them from a
worker thread, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    subject: str
    payload: dict[str, Any]
    attempts: int  # failed attempts so far


class JobQueue(Protocol):
    lease_seconds: float | None
    """A job handed out by ``ready`` is the caller's for this long unless ``renew``-ed;
    ``None``: for good (only one process reads the queue)."""

    poll_interval: float
    """The longest the writer waits before looking again: another process may have
    queued a job without waking it."""

    def put(self, subject: str, payload: dict[str, Any], now: float | None = None) -> int: ...

    def ready(self, now: float, busy: Iterable[str] = (), limit: int = 16) -> list[Job]:
        """Claim the oldest job of each subject that is due and not ``busy``, oldest first."""
        ...

    def next_due(self) -> float | None:
        """When the earliest unclaimed head of a subject becomes due (``None``: empty)."""
        ...

    def renew(self, job_ids: Iterable[int]) -> set[int]:
        """Extend the claims on ``job_ids``; return the ids still held (a missing one was
        taken over after its lease ran out)."""
        ...

    def release(self, job_ids: Iterable[int]) -> None:
        """Give back the claims on unfinished jobs (shutdown), so another process can
        take them at once instead of after the lease."""
        ...

    def done(self, job_id: int) -> None: ...

    def retry(self, job_id: int, error: str, at: float) -> None: ...

    def bury(self, job_id: int, error: str, now: float | None = None) -> None: ...

    def counts(self) -> dict[str, int]: ...

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]: ...

    def watch(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (from any thread) when another process may have made a job
        ready; ``None`` stops."""
        ...

    def close(self) -> None: ...
