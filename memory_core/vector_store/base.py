"""The vector store interface shared by the embedded (Qdrant Edge) and server
(qdrant-client) adapters.

Points are keyed by a UUID string. The payload of a memory is a flat dict:

    tenant, user_id, agent_id, run_id   str | None  (keyword indexes; tenant first)
    memory                               str         the text
    hash                                 str         md5 of the text (keyword index)
    role                                 str | None
    tags                                 list[str]   (keyword index)
    metadata                             dict        free-form; filterable as metadata.<key>
    created_at, updated_at               str         ISO 8601 UTC
    created_ts                           int         epoch microseconds (range index; ordering)
    prev, next                           str         ids of the neighbouring memories of the same
                                                     add() call (optional; neighbour smoothing)

Each point holds four vectors (docs/retrieval.md): dense ``""`` (the text) and
``"ctx"`` (previous message + text), sparse ``"bm25"`` and ``"bm25_ctx"`` (BM25 term
weights computed client-side by :mod:`memory_core.vector_store.sparse`, IDF applied
by Qdrant). A search with a sparse query is one fused query: four prefetches, RRF
(k=2), neighbour smoothing, then the max cosine of each result to ``""``/``"ctx"``.

Filtering is expressed once, store-neutrally, in :class:`MemoryFilter`, and each
adapter translates it to its own Qdrant filter type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from memory_core.errors import MemoryCoreError

# The fused search (docs/retrieval.md, "The recommended method").
PREFETCH = 100  # candidates per source
FUSED = 50  # fused candidates the neighbour smoothing looks at (at least)
RRF_K = 2  # Qdrant's default
SMOOTH = 0.5  # s' = s + SMOOTH * max(s(prev), s(next))


class StoreLayoutError(MemoryCoreError):
    """The store on disk (or the collection) was built with an older vector layout."""

    code = "STORE_LAYOUT"
    status = 500


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class Vectors:
    """What one point stores. ``ctx_dense`` defaults to ``dense``; a point without
    sparse vectors is only found by the dense sources."""

    dense: np.ndarray
    ctx_dense: np.ndarray | None = None
    sparse: SparseVector | None = None
    ctx_sparse: SparseVector | None = None

    @classmethod
    def of(cls, value: "Vectors | np.ndarray | Sequence[float]") -> "Vectors":
        return value if isinstance(value, Vectors) else cls(dense=np.asarray(value, dtype=np.float32))


@dataclass(frozen=True)
class QueryVectors:
    """A search query. Without ``sparse`` the search is a plain nearest-neighbour
    search on the ``""`` vector (cosine order, e.g. the near-duplicate check)."""

    dense: np.ndarray
    sparse: SparseVector | None = None

    @classmethod
    def of(cls, value: "QueryVectors | np.ndarray | Sequence[float]") -> "QueryVectors":
        return value if isinstance(value, QueryVectors) else cls(dense=np.asarray(value, dtype=np.float32))


def smooth(hits: Sequence[tuple[str, float, Mapping[str, Any]]], gamma: float = SMOOTH) -> list[str]:
    """Neighbour smoothing of fused (id, score, payload) hits: ids re-sorted by
    ``s + gamma * max(s(prev), s(next))`` (a neighbour outside ``hits`` counts 0)."""
    score = {pid: s for pid, s, _ in hits}
    ranked = []
    for rank, (pid, s, payload) in enumerate(hits):
        nb = max(score.get(str(payload.get("prev")), 0.0), score.get(str(payload.get("next")), 0.0))
        ranked.append((-(s + gamma * nb), rank, pid))
    ranked.sort()
    return [pid for _, _, pid in ranked]


@dataclass(frozen=True)
class MemoryFilter:
    """What a read or bulk write is restricted to.

    ``tenant`` is always matched. Each of ``user_id``/``agent_id``/``run_id`` that is
    not None must match exactly. ``tags`` are ANDed (every tag must be present).
    ``metadata`` maps a metadata key to a condition:

    - a plain value (str/int/float/bool): equality
    - ``{"in": [v1, v2]}``: any of
    - ``{"gte"|"gt"|"lte"|"lt": x}`` (one or more): numeric range, or a date range when
      x is an ISO 8601 string
    - ``{"ne": v}``: not equal (also true where the key is absent)

    (``{"eq": v}`` and ``{"nin": [...]}`` are accepted too; see ``filters.py``.)

    ``hash`` restricts to memories whose text hash equals it (exact-duplicate check).
    ``created_after``/``created_before`` bound ``created_ts`` (epoch microseconds);
    ``created_after`` is inclusive, ``created_before`` exclusive.
    """

    tenant: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] | None = None
    hash: str | None = None
    created_after: int | None = None
    created_before: int | None = None


@dataclass
class StoredPoint:
    id: str
    payload: dict[str, Any]
    # only in search results: the raw cosine similarity (hybrid: max over "" and "ctx")
    score: float | None = None
    vector: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ScannedPoint:
    """One point as a store holds it: what :meth:`VectorStore.upsert` takes back."""

    id: str
    vectors: Vectors
    payload: dict[str, Any]


def scanned_vectors(raw: Mapping[str, Any]) -> Vectors:
    """A point's named vectors (as Qdrant returns them: dense lists, sparse objects with
    ``indices``/``values``) as :class:`Vectors`."""

    def sparse(name: str) -> SparseVector | None:
        value = raw.get(name)
        return None if value is None else SparseVector(list(value.indices), list(value.values))

    ctx = raw.get("ctx")
    return Vectors(
        dense=np.asarray(raw[""], dtype=np.float32),
        ctx_dense=None if ctx is None else np.asarray(ctx, dtype=np.float32),
        sparse=sparse("bm25"),
        ctx_sparse=sparse("bm25_ctx"),
    )


class VectorStore(Protocol):
    dims: int

    def upsert(self, points: Sequence[tuple[str, Vectors | np.ndarray, dict[str, Any]]]) -> None:
        """Insert or replace points (id, vectors, payload); a bare unit vector stands
        for ``Vectors(dense=v)`` (ctx = dense, no sparse vectors)."""
        ...

    def search(self, query: QueryVectors | np.ndarray, flt: MemoryFilter, limit: int) -> list[StoredPoint]:
        """Restricted to ``flt``, best first. With a sparse part: the fused hybrid
        ranking (RRF of the four sources over max(FUSED, limit) candidates, then
        neighbour smoothing), ``score`` = max cosine to ``""``/``"ctx"`` (not monotone
        in rank). Without: nearest by cosine to ``""``, ``score`` = that cosine."""
        ...

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        """The points that exist among ``ids`` (any tenant: callers check the tenant);
        ``vector`` is the dense ``""`` vector when asked for."""
        ...

    def list(self, flt: MemoryFilter, offset: int, limit: int) -> list[StoredPoint]:
        """Points matching ``flt``, newest first (``created_ts`` descending; points
        without ``created_ts`` are not listed)."""
        ...

    def count(self, flt: MemoryFilter) -> int:
        ...

    def set_payload(self, point_id: str, fields: dict[str, Any]) -> None:
        """Set ``fields`` in one point's payload, keeping the rest (and its vectors)."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        ...

    def delete_where(self, flt: MemoryFilter) -> list[str]:
        """Delete every point matching ``flt``; return their ids."""
        ...

    def reset(self) -> None:
        """Delete every point of every tenant (Memory.reset())."""
        ...

    def scan(self, offset: str | None, limit: int) -> tuple[list[ScannedPoint], str | None]:
        """Every point of every tenant, with all its vectors, a page at a time in id order:
        the page starting at ``offset`` (None: the first) and the offset of the next page
        (None after the last). For moving a store (``memproxy export``)."""
        ...

    def flush(self) -> None:
        ...

    def close(self) -> None:
        ...
