"""Configuration of the memory engine, parsed and validated once.

``MemoryConfig`` composes the per-concept configs (embedder, vector store, LLM,
history). Build it from a dict, a YAML file, or nothing (the embedded defaults)::

    MemoryConfig()                                   # ./data, offline e5, Qdrant Edge
    MemoryConfig.model_validate({"data_dir": "/srv/mem", "llm": {"model": "openai/gpt-4o-mini"}})
    MemoryConfig.from_file("config.yaml")            # reads the file's ``memory:`` section
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from memory_core.embedding.config import EmbedderConfig
from memory_core.llm import LLMConfig
from memory_core.vector_store.config import VectorStoreConfig


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.5, ge=0.0, le=1.0, description="Default minimum calibrated score.")
    max_limit: int = Field(100, ge=1, le=1000)


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
    def resolved_history_path(self) -> Path:
        return self.history_path or self.data_dir / "history.sqlite3"
