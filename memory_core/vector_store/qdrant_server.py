"""Vectors in a Qdrant server collection, through ``qdrant_client``.

The same behaviour as the embedded store, for deployments that run several
memproxy processes or already operate Qdrant. ``location=":memory:"`` runs
qdrant-client's pure-Python local mode instead: it ignores payload indexes, scans
every point on each query and is not thread-safe, so it is only a stand-in for a
server in tests (calls are serialised here so threaded tests stay correct).

The hybrid search asks for per-scope IDF (``SearchParams(idf=IdfCorpusParams(corpus=
<scope filter>))``). A server without IDF corpora rejects it; the adapter then
retries once without it, i.e. with Qdrant's collection-wide IDF, and keeps doing so
(logged once). Local mode accepts the parameter.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from memory_core.errors import DimensionMismatchError, ValidationError
from memory_core.vector_store._common import check_page, named_vectors, point_id, point_ids, vector_list
from memory_core.vector_store.base import (FUSED, PREFETCH, RRF_K, MemoryFilter, QueryVectors, ScannedPoint,
                                          SparseVector, StoredPoint, StoreLayoutError, Vectors, scanned_vectors,
                                          smooth)
from memory_core.vector_store.filters import to_qdrant_filter

_BATCH = 256
log = logging.getLogger("memory_core")


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
        scope_idf: bool = True,
    ) -> None:
        if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
            raise ValidationError(f"vector dims must be a positive integer, got {dims!r}")
        self.dims = dims
        self.collection = collection
        if client is None:
            timeout = None if timeout_s is None else int(max(1, round(timeout_s)))
            client = QdrantClient(url=url, api_key=api_key, location=location, timeout=timeout)
        self._client = client
        self.scope_idf = scope_idf
        self._guard: AbstractContextManager[Any] = threading.RLock() if _is_local(client) else nullcontext()
        with self._guard:
            self._open_collection()

    # -- writes ---------------------------------------------------------------------

    def upsert(self, points: Sequence[tuple[str, np.ndarray, dict[str, Any]]]) -> None:
        structs = [
            qm.PointStruct(id=point_id(pid), vector=self._point_vectors(vec), payload=dict(payload))
            for pid, vec, payload in points
        ]
        with self._guard:
            for start in range(0, len(structs), _BATCH):
                self._client.upsert(self.collection, points=structs[start : start + _BATCH], wait=True)

    def set_payload(self, point_id: str, fields: dict[str, Any]) -> None:
        with self._guard:
            self._client.set_payload(self.collection, payload=dict(fields), points=point_ids([point_id]), wait=True)

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

    def search(self, query: QueryVectors | np.ndarray, flt: MemoryFilter, limit: int) -> list[StoredPoint]:
        """Fused hybrid search when ``query`` has a sparse part, else nearest by cosine
        (see :class:`~memory_core.vector_store.base.VectorStore`)."""
        check_page(0, limit)
        qfilter = to_qdrant_filter(flt)
        q = QueryVectors.of(query)
        dense = vector_list(q.dense, self.dims)
        if limit == 0:
            return []
        if q.sparse is None:
            with self._guard:
                hits = self._client.query_points(
                    self.collection, query=dense, using="", query_filter=qfilter, limit=limit, with_payload=True,
                    with_vectors=False
                ).points
            return [StoredPoint(id=str(h.id), payload=h.payload or {}, score=h.score) for h in hits]
        sparse = qm.SparseVector(indices=list(q.sparse.indices), values=list(q.sparse.values))
        with self._guard:
            fused = self._fused(dense, sparse, qfilter, max(FUSED, limit))
            ids = smooth([(str(h.id), h.score, h.payload or {}) for h in fused])[:limit]
            if not ids:
                return []
            only = qm.Filter(must=[qm.HasIdCondition(has_id=ids)])
            plain, ctx = self._client.query_batch_points(self.collection, [
                qm.QueryRequest(query=dense, using="", filter=only, limit=len(ids), with_payload=True),
                qm.QueryRequest(query=dense, using="ctx", filter=only, limit=len(ids), with_payload=False),
            ])
        found = {str(h.id): StoredPoint(id=str(h.id), payload=h.payload or {}, score=h.score) for h in plain.points}
        for h in ctx.points:
            p = found.get(str(h.id))
            if p is not None and h.score > (p.score or -1.0):
                p.score = h.score
        return [found[i] for i in ids if i in found]

    def _fused(self, dense: list[float], sparse: qm.SparseVector, qfilter: qm.Filter, limit: int) -> list[Any]:
        params = qm.SearchParams(idf=qm.IdfCorpusParams(corpus=qfilter)) if self.scope_idf else None
        prefetch = [
            qm.Prefetch(query=dense, using="", filter=qfilter, limit=PREFETCH),
            qm.Prefetch(query=dense, using="ctx", filter=qfilter, limit=PREFETCH),
            qm.Prefetch(query=sparse, using="bm25", filter=qfilter, limit=PREFETCH, params=params),
            qm.Prefetch(query=sparse, using="bm25_ctx", filter=qfilter, limit=PREFETCH, params=params),
        ]
        try:
            return self._client.query_points(
                self.collection, prefetch=prefetch, query=qm.RrfQuery(rrf=qm.Rrf(k=RRF_K)), query_filter=qfilter,
                limit=limit, with_payload=qm.PayloadSelectorInclude(include=["prev", "next"]), with_vectors=False,
            ).points
        except Exception as exc:  # an older server: no IDF corpora
            if not self.scope_idf or "idf" not in str(exc).lower():
                raise
            log.warning("Qdrant rejected per-scope IDF (%s); using collection-wide IDF", exc)
            self.scope_idf = False
            return self._fused(dense, sparse, qfilter, limit)

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        wanted = point_ids(ids)
        if not wanted:
            return []
        with self._guard:
            records = self._client.retrieve(
                self.collection, ids=wanted, with_payload=True, with_vectors=[""] if with_vectors else False
            )
        found = {str(r.id): _stored(r, with_vectors) for r in records}
        return [found[i] for i in wanted if i in found]

    def scan(self, offset: str | None, limit: int) -> tuple[list[ScannedPoint], str | None]:
        with self._guard:
            records, after = self._client.scroll(
                self.collection, offset=None if offset is None else point_id(offset), limit=limit,
                with_payload=True, with_vectors=True)
        points = [ScannedPoint(str(r.id), scanned_vectors(r.vector), r.payload or {}) for r in records]
        return points, None if after is None else str(after)

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

    def _point_vectors(self, value: Vectors | np.ndarray) -> dict[str, Any]:
        return named_vectors(value, self.dims, _sparse)

    def _open_collection(self) -> None:
        if self._client.collection_exists(self.collection):
            info = self._client.get_collection(self.collection)
            self._check_dims(info.config.params.vectors, info.config.params.sparse_vectors)
            existing = set(info.payload_schema or {})
        else:
            dense = qm.VectorParams(size=self.dims, distance=qm.Distance.COSINE)
            self._client.create_collection(
                self.collection,
                vectors_config={"": dense, "ctx": dense},
                sparse_vectors_config={
                    "bm25": qm.SparseVectorParams(modifier=qm.Modifier.IDF),
                    "bm25_ctx": qm.SparseVectorParams(modifier=qm.Modifier.IDF),
                },
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

    def _check_dims(self, vectors: Any, sparse: Any) -> None:
        where = f"Qdrant collection '{self.collection}'"
        dense = vectors if isinstance(vectors, dict) else {"": vectors}
        for name in ("", "ctx"):
            params = dense.get(name)
            if params is not None and params.size != self.dims:
                raise DimensionMismatchError(
                    f"{where} holds {params.size}-dimensional vectors but the embedder produces "
                    f"{self.dims}-dimensional ones; use the embedder that built it, or another collection "
                    "(re-adding the memories there)"
                )
        missing = ({"", "ctx"} - set(dense)) | ({"bm25", "bm25_ctx"} - set(sparse or {}))
        if missing:
            raise StoreLayoutError(
                f"{where} was built with another vector layout (it lacks {', '.join(sorted(map(repr, missing)))}; "
                f"memproxy needs dense '' and 'ctx' of {self.dims} dims, sparse 'bm25' and 'bm25_ctx' with IDF): "
                "use another collection name and re-add the memories"
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


def _sparse(v: SparseVector) -> qm.SparseVector:
    return qm.SparseVector(indices=list(v.indices), values=list(v.values))


def _stored(record: Any, with_vector: bool) -> StoredPoint:
    raw = record.vector.get("") if isinstance(record.vector, dict) else record.vector
    vector = np.asarray(raw, dtype=np.float32) if with_vector and raw is not None else None
    return StoredPoint(id=str(record.id), payload=record.payload or {}, vector=vector)


__all__ = ["QdrantServerStore"]
