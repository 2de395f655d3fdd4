"""Embedders loaded through fastembed's ``TextEmbedding``.

For model folders we describe ourselves (MiniLM, local folders) fastembed loads the
onnxruntime session and the tokenizer, and ``SessionEmbedder`` runs them:
fastembed's own ``embed`` is a generator pipeline (input re-checks, arrays built
from lists, float64 pooling) that added ~0.25 ms to a ~6 ms query here. For any other model
fastembed knows (provider ``fastembed``), its own ``embed`` runs, since pooling
and post-processing differ per model there.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EmbedderUnavailableError
from .session_embedder import SessionEmbedder, TextEmbedder, l2_normalize

_registry_lock = threading.Lock()


def register_custom_model(name: str, *, dims: int, pooling: str = "mean") -> None:
    """Make ``name`` known to fastembed, once per process (a second add raises there)."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    with _registry_lock:
        if any(m["model"].lower() == name.lower() for m in TextEmbedding.list_supported_models()):
            return
        TextEmbedding.add_custom_model(
            model=name,
            pooling=PoolingType.MEAN if pooling == "mean" else PoolingType.CLS,
            normalization=True,
            sources=ModelSource(hf=name),  # never fetched: loading names a local folder
            dim=dims,
            model_file="model.onnx",
        )


def load_text_embedding(name: str, folder: Path | None, *, threads: int, cache_dir: Path) -> Any:
    """fastembed's TextEmbedding for ``name``, from ``folder`` when given (no download)."""
    from fastembed import TextEmbedding

    kwargs: dict[str, Any] = {"cache_dir": str(cache_dir), "threads": threads, "cuda": False}
    if folder is not None:
        kwargs["specific_model_path"] = str(folder)
    try:
        return TextEmbedding(model_name=name, **kwargs)
    except Exception as exc:
        where = f"from {folder}" if folder is not None else "(fastembed downloads it from the model hub)"
        raise EmbedderUnavailableError(f"could not load embedding model {name!r} {where}: {exc}") from exc


def session_embedder(model: Any, *, pooling: str = "mean", **kwargs: Any) -> SessionEmbedder:
    """Run the session and tokenizer a loaded ``TextEmbedding`` holds."""
    inner = model.model
    if getattr(inner, "model", None) is None:
        inner.load_onnx_model()
    tokenizer = inner.tokenizer
    pad_id = (tokenizer.padding or {}).get("pad_id", 0)
    return SessionEmbedder(
        inner.model, lambda text: tokenizer.encode(text).ids, pad_id=pad_id, pooling=pooling, **kwargs
    )


class FastEmbedPipelineEmbedder(TextEmbedder):
    """Any model fastembed knows, embedded by fastembed itself."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._model = model

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return l2_normalize(np.stack(list(self._model.embed(texts, batch_size=32))))
