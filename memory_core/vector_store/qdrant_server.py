"""Vectors in a Qdrant server collection, through ``qdrant_client``.

The same behaviour as the embedded store, for deployments that run several
memproxy processes or already operate Qdrant. ``location=":memory:"`` runs
qdrant-client's pure-Python local mode instead: it ignores payload indexes, scans
every point on each query and is not thread-safe, so it is only a stand-in for a
server in tests (calls are serialised here so threaded tests stay correct).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from memory_core.errors import DimensionMismatchError, ValidationError
from memory_core.vector_store._common import check_page, point_id, point_ids, vector_list
from memory_core.vector_store.base import MemoryFilter, StoredPoint
from memory_core.vector_store.filters import to_qdrant_filter

_BATCH = 256


def _payload_indexes() -> dict[str, qm.PayloadSchemaParams]:
    keyword = qm.KeywordIndexType.KEYWORD
    return {
        "tenant": qm.KeywordIndexParams(type=keyword, is_tenant=True),
        "user_id": qm.KeywordIndexParams(type=keyword),
        "agent_id": qm.KeywordIndexParams(type=keyword),
        "run_id": qm.KeywordIndexParams(type=keyword, enable_hnsw=False),
        "hash": qm.KeywordIndexParams(type=keyword, enable_hnsw=False),
        "tags": qm.KeywordIndexParams(type=keyword, enable_hnsw=False),
        # A server refuses order_by without a range index; local mode would not notice.
        "created_ts": qm.IntegerIndexParams(type=qm.IntegerIndexType.INTEGER, lookup=False, range=True, enable_hnsw=False),
    }


class QdrantServerStore:
    """A :class:`~memory_core.vector_store.base.VectorStore` over a Qdrant collection.

    Example::

        store = QdrantServerStore(384, url="http://localhost:6333", api_key=None)
        store = QdrantServerStore(384, location=":memory:")  # tests

    ``client`` lets tests share one in-process client between two stores.
    """

    def __init__(
        self,
        dims: int,
        *,
        collection: str = "memories",
        url: str | None = None,
        api_key: str | None = None,
        location: str | None = None,
        timeout_s: float | None = None,
        client: QdrantClient | None = None,
    ) -> None:
        if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
            raise ValidationError(f"vector dims must be a positive integer, got {dims!r}")
        self.dims = dims
        self.collection = collection
        if client is None:
            timeout = None if timeout_s is None else int(max(1, round(timeout_s)))
            client = QdrantClient(url=url, api_key=api_key, location=location, timeout=timeout)
        self._client = client
        self._guard: AbstractContextManager[Any] = threading.RLock() if _is_local(client) else nullcontext()
        with self._guard:
            self._open_collection()

    # -- writes ---------------------------------------------------------------------

    def upsert(self, points: Sequence[tuple[str, np.ndarray, dict[str, Any]]]) -> None:
        structs = [
            qm.PointStruct(id=point_id(pid), vector=vector_list(vec, self.dims), payload=dict(payload))
            for pid, vec, payload in points
        ]
        with self._guard:
            for start in range(0, len(structs), _BATCH):
                self._client.upsert(self.collection, points=structs[start : start + _BATCH], wait=True)

    def delete(self, ids: Sequence[str]) -> None:
        valid = point_ids(ids)
        with self._guard:
            for start in range(0, len(valid), _BATCH):
                self._client.delete(
                    self.collection, points_selector=qm.PointIdsList(points=valid[start : start + _BATCH]), wait=True
                )

    def delete_where(self, flt: MemoryFilter) -> list[str]:
        qfilter = to_qdrant_filter(flt)
        with self._guard:
            ids = list(self._matching_ids(qfilter))
            self.delete(ids)
        return ids

    def reset(self) -> None:
        with self._guard:
            self._client.delete(self.collection, points_selector=qm.FilterSelector(filter=qm.Filter()), wait=True)

    # -- reads ----------------------------------------------------------------------

    def search(self, vector: np.ndarray, flt: MemoryFilter, limit: int) -> list[StoredPoint]:
        """Nearest points by cosine; ``score`` is the raw cosine similarity."""
        check_page(0, limit)
        qfilter = to_qdrant_filter(flt)
        query = vector_list(vector, self.dims)
        if limit == 0:
            return []
        with self._guard:
            hits = self._client.query_points(
                self.collection, query=query, query_filter=qfilter, limit=limit, with_payload=True, with_vectors=False
            ).points
        return [StoredPoint(id=str(h.id), payload=h.payload or {}, score=h.score) for h in hits]

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        wanted = point_ids(ids)
        if not wanted:
            return []
        with self._guard:
            records = self._client.retrieve(self.collection, ids=wanted, with_payload=True, with_vectors=with_vectors)
        found = {str(r.id): _stored(r, with_vectors) for r in records}
        return [found[i] for i in wanted if i in found]

    def list(self, flt: MemoryFilter, offset: int, limit: int) -> list[StoredPoint]:
        """Newest first; reads ``offset + limit`` points and drops the first ``offset``
        (an ordered scroll cannot skip), so deep pages cost more."""
        check_page(offset, limit)
        qfilter = to_qdrant_filter(flt)
        if limit == 0:
            return []
        with self._guard:
            records, _ = self._client.scroll(
                self.collection,
                scroll_filter=qfilter,
                limit=offset + limit,
                with_payload=True,
                with_vectors=False,
                order_by=qm.OrderBy(key="created_ts", direction=qm.Direction.DESC),
            )
        return [_stored(r, False) for r in records[offset:]]

    def count(self, flt: MemoryFilter) -> int:
        qfilter = to_qdrant_filter(flt)
        with self._guard:
            return self._client.count(self.collection, count_filter=qfilter, exact=True).count

    # -- maintenance ----------------------------------------------------------------

    def flush(self) -> None:
        """Nothing to do: every write waits for the server to apply it."""

    def close(self) -> None:
        with self._guard:
            self._client.close()

    def __enter__(self) -> QdrantServerStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------

    def _open_collection(self) -> None:
        if self._client.collection_exists(self.collection):
            info = self._client.get_collection(self.collection)
            self._check_dims(info.config.params.vectors)
            existing = set(info.payload_schema or {})
        else:
            self._client.create_collection(
                self.collection,
                vectors_config=qm.VectorParams(size=self.dims, distance=qm.Distance.COSINE),
                # Multi-tenant layout: per-tenant/per-user graphs instead of one global graph.
                hnsw_config=qm.HnswConfigDiff(m=0, payload_m=16),
            )
            existing = set()
        with warnings.catch_warnings():
            # Local mode warns that payload indexes do nothing there; a server needs them.
            warnings.simplefilter("ignore", UserWarning)
            for field, schema in _payload_indexes().items():
                if field not in existing:
                    self._client.create_payload_index(self.collection, field, field_schema=schema, wait=True)

    def _check_dims(self, vectors: Any) -> None:
        where = f"Qdrant collection '{self.collection}'"
        if isinstance(vectors, dict):
            raise DimensionMismatchError(
                f"{where} uses named vectors ({', '.join(vectors) or 'none'}); memproxy needs one unnamed "
                f"{self.dims}-dimensional cosine vector: use another collection name"
            )
        if vectors.size != self.dims:
            raise DimensionMismatchError(
                f"{where} holds {vectors.size}-dimensional vectors but the embedder produces "
                f"{self.dims}-dimensional ones; use the embedder that built it, or another collection "
                "(re-adding the memories there)"
            )

    def _matching_ids(self, qfilter: qm.Filter) -> Iterator[str]:
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection, scroll_filter=qfilter, limit=1000, offset=offset, with_payload=False, with_vectors=False
            )
            yield from (str(r.id) for r in records)
            if offset is None:
                return


def _is_local(client: QdrantClient) -> bool:
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


def _stored(record: Any, with_vector: bool) -> StoredPoint:
    vector = np.asarray(record.vector, dtype=np.float32) if with_vector and record.vector is not None else None
    return StoredPoint(id=str(record.id), payload=record.payload or {}, vector=vector)


__all__ = ["QdrantServerStore"]
