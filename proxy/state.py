"""Where one server keeps what it shares with its replicas, chosen once from the config.

Embedded (no ``database.url``): SQLite files in the data directory, owned by this one
process (the data-directory lock). Shared-state mode: one PostgreSQL database holds the
write queue, API keys, quotas and rate limits (and, through memory_core, the history
and the pgvector vectors), so any number of replicas serve the same tenants::

    state = ServerState(config)        # no connection yet
    state.open()                       # connects and creates or upgrades the tables
    state.key_store(), state.write_queue()
    state.close()

The tables are created or upgraded when the server starts (versioned steps under an
advisory lock, safe when replicas start together), or beforehand by ``memproxy migrate``.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from proxy.auth import KeyStoreProtocol, key_store
from proxy.config import ProxyConfig
from proxy.ownership import DataDirLock
from proxy.writer import JobQueue, WriteQueue

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

log = logging.getLogger("proxy")


class ServerState:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.pool: ConnectionPool | None = None
        if config.database.shared:
            from memory_core.postgres import unopened_pool

            assert config.database.url is not None
            self.pool = unopened_pool(config.database.url.get_secret_value(), max_size=config.database.pool_size)
        self._lock: DataDirLock | None = None

    @property
    def shared(self) -> bool:
        return self.pool is not None

    @property
    def replica(self) -> str:
        return self.config.database.replica or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def owns_data_dir(self) -> bool:
        """Whether something in the data directory is this process's alone: everything in
        the embedded mode; in the shared mode only an embedded vector store, if configured."""
        return not self.shared or self.config.memory.vector_store.provider == "edge"

    def open(self) -> "ServerState":
        """Take the data directory (embedded), or connect and migrate (shared)."""
        if self.owns_data_dir:
            self._lock = DataDirLock(self.config.memory.data_dir).acquire()
            log.info("data directory %s is owned by this process until it exits", self.config.memory.data_dir)
        if self.pool is not None:
            from memory_core.postgres import open_pool, redact

            try:
                open_pool(self.pool)
                self.migrate()
            except BaseException:
                self.release()
                raise
            log.info("shared-state mode: queue, keys and limits in PostgreSQL %s (replica %s)",
                     redact(self.pool.conninfo), self.replica)
        return self

    def migrate(self) -> dict[str, int]:
        """Create or upgrade the proxy's own tables; how many steps each component applied."""
        from memory_core.postgres import migrate
        from proxy.auth.postgres_keys import COMPONENT as AUTH, STEPS as AUTH_STEPS
        from proxy.writer.postgres_queue import COMPONENT as QUEUE, SCHEMA as QUEUE_STEPS

        assert self.pool is not None
        return {AUTH: migrate(self.pool, AUTH, AUTH_STEPS), QUEUE: migrate(self.pool, QUEUE, QUEUE_STEPS)}

    def key_store(self) -> KeyStoreProtocol:
        return key_store(self.config.keys_path, self.pool)

    def write_queue(self) -> JobQueue:
        if self.pool is None:
            return WriteQueue(self.config.queue_path)
        from proxy.writer import PostgresWriteQueue

        return PostgresWriteQueue(self.pool, self.replica, self.config.writer.lease_seconds)

    def release(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    close = release

    def describe(self) -> dict[str, Any]:
        """What ``/readyz`` says about where state lives."""
        return {"mode": "shared" if self.shared else "embedded", "replica": self.replica}
