"""Configuration of the memory engine, parsed and validated once.

``MemoryConfig`` composes the per-concept configs (embedder, vector store, LLM,
history). Build it from a dict, a YAML file, or nothing (the embedded defaults)::

    MemoryConfig()                                   # ./data, offline e5, Qdrant Edge
    MemoryConfig.model_validate({"data_dir": "/srv/mem", "llm": {"model": "openai/gpt-4o-mini"}})
    MemoryConfig.from_file("config.yaml")            # reads the file's ``memory:`` section
    MemoryConfig(database_url="postgresql://memproxy:secret@db/memproxy")  # shared: history + pgvector

With a ``database_url`` (the shared-state mode) the history lives in that PostgreSQL
database, and so do the vectors (``vector_store.provider`` becomes ``pgvector``) unless
the config names a provider: ``qdrant`` keeps them in a Qdrant server, and an explicit
``edge`` keeps them in this process's embedded store (history shared, vectors not: for
one process only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from memory_core.embedding.config import EmbedderConfig
from memory_core.llm import LLMConfig
from memory_core.vector_store.config import VectorStoreConfig


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.5, ge=0.0, le=1.0, description="Default minimum calibrated score.")
    max_limit: int = Field(100, ge=1, le=1000)
    context_weight: float = Field(
        0.25, ge=0.0, le=1.0,
        description="How much a search with context (the conversation's earlier messages) leans on them "
                    "when they are about the same thing (0: never).")


class MemoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("./data")
    tenant: str = Field("default", min_length=1, max_length=128)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    vector_store: VectorStoreConfig = Field(default_factory=VectorStoreConfig)
    llm: LLMConfig | None = None
    search: SearchConfig = Field(default_factory=SearchConfig)
    max_content_chars: int = Field(10_000, ge=1, description="Longest text one memory may hold.")
    near_duplicate_score: float = Field(
        0.95, ge=0.0, le=1.0,
        description="Raw mode (no LLM): skip a message this similar to an existing memory.",
    )
    turn_context_seconds: float = Field(
        3600.0, ge=0.0,
        description="A message stored as said takes the subject's previous stored turn as its context "
                    "when that turn is this recent and has the same conversation timestamp (0: never).",
    )
    history_path: Path | None = None  # default <data_dir>/history.sqlite3
    database_url: SecretStr | None = Field(
        None, description="PostgreSQL (postgresql://user:password@host:5432/db) for the history and, with "
                          "vector_store.provider pgvector (the default then), the vectors: several processes "
                          "share one memory store.")

    @model_validator(mode="after")
    def _shared_vectors(self) -> "MemoryConfig":
        if self.database_url is not None and "provider" not in self.vector_store.model_fields_set \
                and self.vector_store.path is not None:
            raise ValueError("vector_store.path is the embedded store's directory, but with database_url the "
                             "vectors go to PostgreSQL; set vector_store.provider: edge to keep them local")
        self.vector_store = self.resolved_vector_store
        if self.vector_store.provider == "pgvector" and self.vector_store.url is None:
            raise ValueError("vector_store.provider 'pgvector' needs a PostgreSQL URL: set database_url "
                             "(or vector_store.url)")
        return self

    @property
    def resolved_vector_store(self) -> VectorStoreConfig:
        """``vector_store`` with the shared-state defaults applied: with ``database_url`` and
        no provider named, ``pgvector``; a pgvector store without a url uses ``database_url``."""
        store = self.vector_store
        if self.database_url is None:
            return store
        if "provider" not in store.model_fields_set and store.provider == "edge" and store.path is None:
            store = store.model_copy(update={"provider": "pgvector"})
        if store.provider == "pgvector" and store.url is None:
            url = self.database_url
            store = store.model_copy(update={"url": url if isinstance(url, SecretStr) else SecretStr(str(url))})
        return store

    @classmethod
    def from_file(cls, path: str | Path, section: str | None = "memory") -> "MemoryConfig":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if section and isinstance(data, dict) and section in data:
            data = data[section]
        return cls.model_validate(data or {})

    @classmethod
    def coerce(cls, config: "MemoryConfig | dict[str, Any] | str | Path | None") -> "MemoryConfig":
        if config is None:
            return cls()
        if isinstance(config, MemoryConfig):
            return config
        if isinstance(config, (str, Path)):
            return cls.from_file(config)
        return cls.model_validate(config)

    @property
    def database(self) -> str | None:
        """The PostgreSQL URL of the shared-state mode, or None (embedded)."""
        url = self.database_url
        return None if url is None else url.get_secret_value() if isinstance(url, SecretStr) else str(url)

    @property
    def resolved_history_path(self) -> Path:
        return self.history_path or self.data_dir / "history.sqlite3"
