"""What a search looks for: the query's dense and sparse vectors, leaning on the earlier
messages of the conversation when they are about the same thing.

A chat message often says little on its own ("我特别期待那天晚上，我想让它变得很特别！"
after two messages about a New Year's Eve magic show). Given ``context`` (the user's
earlier messages, oldest first; the last :data:`CONTEXT_MESSAGES` are used), the query
becomes

- dense: the message's query vector plus ``weight`` times the normalised mean of the
  earlier messages' query vectors, normalised again;
- sparse: the message's BM25 terms plus ``weight`` times each earlier message's terms;

but only when the embedder says the earlier messages follow the subject of this one
(``Embedder.follows``: their query vectors are close enough, relative to the model's
baseline; see embedding/calibration.py). When the subject changed, or the embedder
cannot tell, they are left out and the search is the message's own. Chosen on the
tuning halves of LoCoMo and MADial-zh (docs/retrieval.md, "The query: the
conversation's last message").

Query vectors are kept by (namespace, text), the most recent :data:`CACHE_SIZE`: in a
chat the earlier messages were the last message of earlier requests, so their vectors
are usually already there and leaning on them costs no embedding. One that is not (the
process restarted, another replica answered it, or 4,096 other searches came since) is
embedded from its last :data:`CONTEXT_CHARS` characters: two short embeddings more for
that search (~6 ms each here), never a 512-token one (~285 ms). The namespace (the
tenant) keeps one tenant's searches from being answered faster because another asked
the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np

from memory_core.embedding.base import Embedder
from memory_core.vector_store import QueryVectors
from memory_core.vector_store.base import SparseVector
from memory_core.vector_store.sparse import sparse_query

CONTEXT_MESSAGES = 2  # earlier messages a query leans on
CONTEXT_CHARS = 200  # of an earlier message whose vector is not cached, the characters embedded
CACHE_SIZE = 4096  # query vectors kept (~1.5 KB each at 384 dimensions)


class QueryEncoder:
    """Turns a search's text (and its conversation) into :class:`QueryVectors`.

    ``weight`` (0: never lean on earlier messages) is ``search.context_weight``. Example::

        encoder = QueryEncoder(embedder, weight=0.25)
        encoder.encode("我想让它变得很特别！", ["元旦晚会我要表演魔术！", "我要穿什么好呢？"], namespace="acme")
    """

    def __init__(self, embedder: Embedder, weight: float, cache_size: int = CACHE_SIZE) -> None:
        self._embedder = embedder
        self._weight = weight
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode(self, text: str, context: Sequence[str] = (), namespace: str = "") -> QueryVectors:
        earlier = [t for t in context if t and t != text][-CONTEXT_MESSAGES:] if self._weight > 0 else []
        follows = getattr(self._embedder, "follows", None)
        if not callable(follows):
            earlier = []
        # An earlier message searched before has its vector cached; one that was not (after a
        # restart, on another replica) is embedded from its end only: that is cheaper for a
        # long one, and where a follow-up's subject is.
        with self._lock:
            keys = [t if (namespace, t) in self._cache else t[-CONTEXT_CHARS:] for t in earlier]
        vectors = self.vectors([text, *keys], namespace)
        dense, sparse = vectors[0], sparse_query(text)
        if earlier:
            mean = vectors[1:].mean(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0 and follows(dense, mean):
                blended = dense + self._weight * mean / norm
                dense = (blended / np.linalg.norm(blended)).astype(np.float32)
                sparse = _blend(sparse, [sparse_query(t) for t in earlier], self._weight)
        return QueryVectors(dense, sparse)

    def vectors(self, texts: Sequence[str], namespace: str = "") -> np.ndarray:
        """The embedder's query vectors of ``texts``, from the cache where it has them."""
        keys = [(namespace, t) for t in texts]
        with self._lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
            for k in found:
                self._cache.move_to_end(k)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            computed = self._embedder.embed_queries([t for _, t in missing])
            with self._lock:
                for k, v in zip(missing, computed):
                    found[k] = self._cache[k] = v
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[k] for k in keys])


def _blend(own: SparseVector, earlier: list[SparseVector], weight: float) -> SparseVector:
    values: dict[int, float] = dict(zip(own.indices, own.values))
    for vector in earlier:
        for index, value in zip(vector.indices, vector.values):
            values[index] = values.get(index, 0.0) + weight * value
    return SparseVector(list(values), list(values.values()))
