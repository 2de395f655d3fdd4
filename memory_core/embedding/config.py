"""Configuration of the embedder, validated once at start-up.

    EmbedderConfig()                                      # offline multilingual e5 (default)
    EmbedderConfig(provider="minilm-offline")             # English-only, faster
    EmbedderConfig(provider="fastembed", model="BAAI/bge-small-en-v1.5")   # needs the hub
    EmbedderConfig(provider="local", path="/models/my-e5", dims=384, query_prefix="query: ",
                   document_prefix="passage: ")
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Provider = Literal["e5-offline", "minilm-offline", "fastembed", "local"]
Pooling = Literal["mean", "cls"]


def default_cache_dir(home: Path | None = None) -> Path:
    """Where built models are cached unless the config names a folder.

    Call it once where configuration is resolved; nothing deeper reads the
    environment.
    """
    return (home or Path.home()) / ".cache" / "memproxy" / "models"


class EmbedderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider = "e5-offline"
    model: str | None = Field(
        None,
        min_length=1,
        description="fastembed model name (provider fastembed); display name (provider local).",
    )
    path: Path | None = Field(
        None,
        description="Folder with model.onnx, tokenizer.json, tokenizer_config.json (provider local).",
    )
    dims: int | None = Field(None, ge=1, le=8192, description="Vector size (provider local).")
    pooling: Pooling | None = Field(
        None, description="Token pooling (local: default mean; fastembed: default the model's own)."
    )
    query_prefix: str | None = Field(None, description="Overrides the model's query prefix.")
    document_prefix: str | None = Field(None, description="Overrides the model's document prefix.")
    cache_dir: Path | None = Field(None, description="Built-model cache; default ~/.cache/memproxy/models.")
    threads: int | None = Field(None, ge=1, le=256, description="onnxruntime intra-op threads.")

    @model_validator(mode="after")
    def _check_provider_fields(self) -> "EmbedderConfig":
        if self.provider == "local":
            if self.path is None or self.dims is None:
                raise ValueError("provider 'local' needs 'path' (a model folder) and 'dims'")
        elif self.path is not None or self.dims is not None:
            raise ValueError(f"'path' and 'dims' only apply to provider 'local', not {self.provider!r}")
        if self.provider == "fastembed" and not self.model:
            raise ValueError("provider 'fastembed' needs 'model' (a model name fastembed knows)")
        if self.provider in ("e5-offline", "minilm-offline") and (self.model or self.pooling):
            raise ValueError(f"provider {self.provider!r} has a fixed model; remove 'model' and 'pooling'")
        return self

    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else default_cache_dir()
