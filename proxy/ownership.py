"""One process owns a data directory.

The embedded vector store and the write queue live in the data directory and are not
safe to share between processes, so the server takes an exclusive lock on
``<data_dir>/memproxy.lock`` for as long as it runs, and a second server on the same
directory refuses to start, saying which process holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from proxy.errors import ApiError


class DataDirInUse(ApiError):
    status = 503
    code = "DATA_DIR_IN_USE"


class DataDirLock:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "memproxy.lock"
        self._fd: int | None = None

    def acquire(self) -> "DataDirLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"The data directory {self.path.parent} is already used by another memproxy process "
                f"(pid {holder}). The embedded memory store is owned by one process: stop that one, "
                "or give this one another memory.data_dir."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "DataDirLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
