"""Durable background memory writes: a :class:`JobQueue` (:class:`WriteQueue` on SQLite,
or :class:`PostgresWriteQueue` shared by replicas) and the :class:`MemoryWriter` that
drains it."""

from proxy.writer.postgres_queue import PostgresWriteQueue
from proxy.writer.queue import Job, JobQueue
from proxy.writer.sqlite_queue import WriteQueue
from proxy.writer.worker import MemoryWriter

__all__ = ["Job", "JobQueue", "MemoryWriter", "PostgresWriteQueue", "WriteQueue"]
