"""Durable background memory writes: :class:`WriteQueue` (SQLite) and :class:`MemoryWriter`."""

from proxy.writer.queue import Job, WriteQueue
from proxy.writer.worker import MemoryWriter

__all__ = ["Job", "MemoryWriter", "WriteQueue"]
