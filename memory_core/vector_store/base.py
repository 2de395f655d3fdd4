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

Filtering is expressed once, store-neutrally, in :class:`MemoryFilter`, and each
adapter translates it to its own Qdrant filter type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

import numpy as np


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
    score: float | None = None  # raw cosine similarity, only in search results
    vector: np.ndarray | None = field(default=None, repr=False)


class VectorStore(Protocol):
    dims: int

    def upsert(self, points: Sequence[tuple[str, np.ndarray, dict[str, Any]]]) -> None:
        """Insert or replace points (id, unit vector, payload)."""
        ...

    def search(self, vector: np.ndarray, flt: MemoryFilter, limit: int) -> list[StoredPoint]:
        """Nearest points by cosine, best first, restricted to ``flt``."""
        ...

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        """The points that exist among ``ids`` (any tenant: callers check the tenant)."""
        ...

    def list(self, flt: MemoryFilter, offset: int, limit: int) -> list[StoredPoint]:
        """Points matching ``flt``, newest first (``created_ts`` descending; points
        without ``created_ts`` are not listed)."""
        ...

    def count(self, flt: MemoryFilter) -> int:
        ...

    def delete(self, ids: Sequence[str]) -> None:
        ...

    def delete_where(self, flt: MemoryFilter) -> list[str]:
        """Delete every point matching ``flt``; return their ids."""
        ...

    def reset(self) -> None:
        """Delete every point of every tenant (Memory.reset())."""
        ...

    def flush(self) -> None:
        ...

    def close(self) -> None:
        ...
