"""Which vector store to open, parsed once at start-up.

``provider="edge"`` (the default) keeps vectors in an embedded Qdrant Edge shard
under ``path`` (default ``<data_dir>/vectors``): nothing to run, one process per
directory. ``provider="qdrant"`` talks to a Qdrant server at ``url`` (or, for tests,
to qdrant-client's in-process ``location=":memory:"``) and stores memories in
``collection``. ``provider="pgvector"`` keeps them in PostgreSQL (table
``memproxy_<collection>``) at ``url``, by default ``MemoryConfig.database_url``; it is
what a config with a ``database_url`` gets unless it names a provider.

Example::

    VectorStoreConfig()                                          # embedded, <data_dir>/vectors
    VectorStoreConfig(provider="qdrant", url="http://qdrant:6333", api_key="...")
    VectorStoreConfig(provider="pgvector", url="postgresql://memproxy:secret@db/memproxy")
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class VectorStoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["edge", "qdrant", "pgvector"] = "edge"
    path: Path | None = Field(default=None, description="edge: the shard directory (default <data_dir>/vectors)")
    url: SecretStr | None = Field(
        default=None, description="qdrant: server URL, e.g. http://localhost:6333; pgvector: a PostgreSQL URL "
        "(default: memory.database_url). Kept secret: it may hold a password")
    api_key: SecretStr | None = Field(default=None, description="qdrant: server API key")
    location: str | None = Field(
        default=None, description='qdrant: ":memory:" runs qdrant-client in-process (tests only; slow, exact search)'
    )
    collection: str = Field(default="memories", pattern=r"^[A-Za-z0-9_\-]{1,128}$",
                            description="qdrant: collection name; pgvector: table memproxy_<collection> (40 at most)")
    timeout_s: float | None = Field(default=None, gt=0, description="qdrant: request timeout in seconds")
    idf: Literal["scope", "collection"] = Field(
        default="scope",
        description="BM25 IDF of the hybrid search: over the searched scope's own memories (best ranking; "
        "on edge it costs ~1-3 ms more where query terms are common across a large store, on pgvector nothing) "
        "or over the whole collection",
    )
    search_threads: int | None = Field(
        default=1, ge=1, le=256, description="edge: search pool threads (None: one per CPU; 1 gives the lowest latency)"
    )

    @model_validator(mode="after")
    def _check_provider_fields(self) -> VectorStoreConfig:
        if self.provider == "edge":
            extra = [name for name in ("url", "api_key", "location", "timeout_s") if getattr(self, name) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} do not apply to provider 'edge' (the embedded store; "
                                 "url is for 'qdrant' and 'pgvector', the rest for 'qdrant')")
        elif self.provider == "pgvector":
            extra = [name for name in ("path", "api_key", "location", "timeout_s") if getattr(self, name) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} do not apply to provider 'pgvector' (PostgreSQL keeps the "
                                 "vectors; its URL is url or memory.database_url)")
            if len(self.collection) > 40:
                raise ValueError("provider 'pgvector': collection is at most 40 characters (PostgreSQL names "
                                 "are at most 63 bytes, and the tables add a prefix and suffixes)")
        else:
            if (self.url is None) == (self.location is None):
                raise ValueError("provider 'qdrant' needs exactly one of url (a server) or location (':memory:')")
            if self.path is not None:
                raise ValueError("path only applies to provider 'edge'; a Qdrant server keeps its own storage")
        return self

    def edge_path(self, data_dir: Path) -> Path:
        """Where the embedded shard lives."""
        return self.path if self.path is not None else Path(data_dir) / "vectors"
