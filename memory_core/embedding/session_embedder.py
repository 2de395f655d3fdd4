"""Embedders that run an onnxruntime session themselves.

A query is ~10 tokens, so everything around the model counts: texts are
tokenized once, sorted by length and batched under a token budget (little
padding, bounded activation memory: attention alone is batch x 12 x len^2 floats),
then mean-pooled and L2-normalised in float32.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import EmbedderUnavailableError, ValidationError
from .calibration import BASELINE_MEMORIES, UNCALIBRATED, ScoreCalibration, baseline

# Tokens per batch (padded), and texts per batch: a batch of 512-token texts peaks
# at ~60 MB of activations, a batch of short ones at a few MB.
MAX_BATCH_TOKENS = 2048
MAX_BATCH_TEXTS = 32


class TextEmbedder:
    """Prefixes, validation and calibration shared by the embedders; subclasses embed."""

    def __init__(
        self,
        *,
        name: str,
        dims: int,
        query_prefix: str = "",
        document_prefix: str = "",
        calibration: ScoreCalibration = UNCALIBRATED,
    ) -> None:
        self.name = name
        self.dims = dims
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.calibration = calibration
        # BASELINE_MEMORIES embedded as memories and as queries, on first use.
        self._references: dict[str, np.ndarray] | None = None
        self._query_references: dict[str, np.ndarray] | None = None
        self._references_lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self.query_prefix)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self.document_prefix)

    def score(self, cosine: float) -> float:
        return self.calibration(cosine)

    def scorer(self, query_vector: np.ndarray) -> Callable[[float], float]:
        """The calibrated score of a memory's cosine to this query: when the model has a
        relative calibration, the lower of the absolute score and the score relative to
        the query's baseline (a memory must be related on both counts), else :meth:`score`."""
        absolute, relative = self.calibration, self.calibration.relative
        if relative is None:
            return absolute
        base = baseline(np.asarray(query_vector, dtype=np.float32), self._reference_vectors())
        return lambda cosine: min(absolute(cosine), relative(cosine, base))

    def follows(self, query_vector: np.ndarray, earlier_vector: np.ndarray) -> bool:
        """Whether earlier messages of a conversation (``earlier_vector``: the mean of
        their query vectors) are about what the query is about: their cosine to the query
        clears the query's own baseline among everyday texts embedded as queries by the
        model's ``follow_up`` margin (a measure that means the same in Chinese and
        English, whose raw cosines differ). False for a model without that figure."""
        margin = self.calibration.follow_up
        if margin is None:
            return False
        query = np.asarray(query_vector, dtype=np.float32)
        earlier = np.asarray(earlier_vector, dtype=np.float32)
        norm = float(np.linalg.norm(earlier))
        if norm == 0.0:
            return False
        base = baseline(query, self._query_reference_vectors())
        return float(query @ earlier) / norm - base >= margin

    def prepare_scoring(self) -> None:
        """Embed the baseline memories now (~1 s for e5-small on 2 cores) rather than
        in the first search; a no-op for models without a relative calibration."""
        if self.calibration.relative is not None:
            self._reference_vectors()
        if self.calibration.follow_up is not None:
            self._query_reference_vectors()

    def _reference_vectors(self) -> dict[str, np.ndarray]:
        with self._references_lock:
            if self._references is None:
                self._references = {lang: self.embed_documents(texts) for lang, texts in BASELINE_MEMORIES.items()}
            return self._references

    def _query_reference_vectors(self) -> dict[str, np.ndarray]:
        with self._references_lock:
            if self._query_references is None:
                self._query_references = {lang: self.embed_queries(texts) for lang, texts in BASELINE_MEMORIES.items()}
            return self._query_references

    def _embed(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if isinstance(texts, str):
            raise ValidationError("pass a list of texts, not one string")
        prepared = [prefix + _clean(t) for t in texts]
        if not prepared:
            return np.empty((0, self.dims), dtype=np.float32)
        vectors = self._vectors(prepared)
        if vectors.shape != (len(prepared), self.dims):
            raise EmbedderUnavailableError(
                f"model {self.name!r} returned vectors of shape {vectors.shape}, "
                f"expected ({len(prepared)}, {self.dims})"
            )
        return vectors

    def _vectors(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


class SessionEmbedder(TextEmbedder):
    """Runs an encoder session (inputs ``input_ids`` [+ ``attention_mask``,
    ``token_type_ids``], first output [batch, seq, dims]) and pools it.

    ``tokenize`` maps one text to its token ids, specials included, already cut
    to the model's length limit.
    """

    def __init__(
        self,
        session: Any,
        tokenize: Callable[[str], list[int]],
        *,
        pad_id: int,
        pooling: str = "mean",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._session = session
        self._tokenize = tokenize
        self._pad_id = pad_id
        self._pooling = pooling
        inputs = {i.name for i in session.get_inputs()}
        self._wants_mask = "attention_mask" in inputs
        self._wants_types = "token_type_ids" in inputs
        out = session.get_outputs()[0]
        if len(out.shape) != 3:
            raise EmbedderUnavailableError(
                f"model {self.name!r} outputs {out.name} with shape {out.shape}; expected "
                "token embeddings [batch, sequence, dims]"
            )

    def _vectors(self, texts: list[str]) -> np.ndarray:
        encoded = [self._tokenize(t) for t in texts]
        out = np.empty((len(texts), self.dims), dtype=np.float32)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        start = 0
        while start < len(order):
            end = start + 1
            # sorted ascending: the padded size of [start, end) is its last length
            while (
                end < len(order)
                and end - start < MAX_BATCH_TEXTS
                and (end - start + 1) * len(encoded[order[end]]) <= MAX_BATCH_TOKENS
            ):
                end += 1
            idx = order[start:end]
            vectors = self._run([encoded[i] for i in idx])
            if vectors.shape[1] != self.dims:
                raise EmbedderUnavailableError(
                    f"model {self.name!r} makes {vectors.shape[1]}-dim vectors, configured {self.dims}"
                )
            out[idx] = vectors
            start = end
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": ids}
        if self._wants_mask:
            feed["attention_mask"] = mask
        if self._wants_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        if self._pooling == "cls":
            return l2_normalize(hidden[:, 0])
        if len(batch) == 1:
            return l2_normalize(hidden.mean(axis=1))
        weights = mask[:, :, None].astype(np.float32)
        return l2_normalize((hidden * weights).sum(axis=1) / weights.sum(axis=1))


def open_session(model_file: Path, threads: int) -> Any:
    """An onnxruntime CPU session tuned for one short query at a time."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    # Without the arena a large batch's activations go back to the system after
    # the call instead of staying reserved; single queries run no slower.
    so.enable_cpu_mem_arena = False
    try:
        return ort.InferenceSession(str(model_file), sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise EmbedderUnavailableError(f"onnxruntime could not load {model_file}: {exc}") from exc


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _clean(text: object) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"texts to embed must be strings, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValidationError("cannot embed an empty or whitespace-only text")
    return stripped
