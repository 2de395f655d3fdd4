"""The embedder interface: text in, unit-length float32 vectors out.

Asymmetric models (e5) embed queries and stored memories differently, so the
interface has one method for each. ``score`` maps a raw cosine similarity onto the
calibrated 0-1 scale the memory API promises (0.5 = "related"), per model. An embedder
may also offer ``scorer(query_vector)``: the score function for one query, which can
take the query's own baseline into account (see calibration.py); search uses it when
it is there (:func:`query_scorer`). And ``follows(query_vector, earlier_vector)``: whether
a conversation's earlier messages are about what the query is about; a search with
context leans on them only when it says so (memory_core/search_query.py).
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    name: str
    dims: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dims) float32, L2-normalised, for search queries."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dims) float32, L2-normalised, for memories being stored."""
        ...

    def score(self, cosine: float) -> float:
        """Calibrated similarity in [0, 1]; 0.5 separates related from unrelated."""
        ...


def query_scorer(embedder: Embedder, query_vector: np.ndarray) -> Callable[[float], float]:
    """Cosine to this query -> calibrated score: the embedder's ``scorer`` if it has
    one, else its ``score``."""
    scorer = getattr(embedder, "scorer", None)
    return scorer(query_vector) if callable(scorer) else embedder.score
