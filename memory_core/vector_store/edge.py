"""Vectors in an embedded Qdrant Edge shard: one directory, owned by one process.

Qdrant's own engine (segments, payload indexes, write-ahead log) runs in-process,
so there is no server to start. The shard is created on first use with cosine
distance and the payload indexes every query relies on, and loaded on later starts
after checking that it was built for the same embedding size.

Every search is exact: vector indexing is switched off (``indexing_threshold=0``),
so a filtered search reads the scope's points from the payload index and scores
them all (0.1-0.3 ms for a 100-memory user in a 100k-point shard, ~12 ms for a
100k-point scope). Measured with qdrant-edge-py 0.9.0 on 2 cores: HNSW with the
multi-tenant settings (``m=0, payload_m=16``) builds a graph only per large
keyword value, and after ``optimize()`` any search whose filter is large but has
no graph of its own (tenant-wide, a big agent scope) came back with recall@10 of
0.0; giving ``tenant`` its own graph cost 13 s of optimize at 10k points, all of
it holding the GIL. Without indexing, :meth:`EdgeVectorStore.optimize` only
vacuums deleted points and merges segments (0.7 s for 50k points, 60% deleted).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import qdrant_edge as qe

from memory_core.errors import (DimensionMismatchError, MemoryCoreError, StoreLockedError, UnreadableDataError,
                                 ValidationError)
from memory_core.vector_store._common import check_page, named_vectors, point_id, point_ids, vector_list
from memory_core.vector_store.base import (FUSED, PREFETCH, RRF_K, MemoryFilter, QueryVectors, ScannedPoint,
                                          SparseVector, StoredPoint, StoreLayoutError, Vectors, scanned_vectors,
                                          smooth)
from memory_core.vector_store.filters import Match, compile_filter, edge_condition, to_edge_filter

log = logging.getLogger(__name__)

_BATCH = 512
# Edge truncates its write-ahead log only when the shard is flushed, and nothing else
# flushes it: unflushed, the WAL (on disk, and mapped into the process) keeps every point
# ever written, ~4 KB each, and a restart replays all of it. A flush holds the GIL for
# ~0.1-0.9 s on 2 cores, so it comes once per this many points written.
FLUSH_EVERY = 2000
# Scope fields a search drops from its filter when every point of the shard has the
# searched value (see EdgeVectorStore._search_filter).
_SCOPE_FIELDS = ("tenant", "user_id", "agent_id", "run_id")
# New shards store dense vectors as float16: an exact scan reads half the bytes (a
# 10k-memory user's search 8.4 -> 6.1 ms p50, docs/benchmarks.md), scores move by ~1e-4
# and vectors read back (scan, export) are the float16 values.
NEW_SHARD_DATATYPE: qe.VectorStorageDatatype | None = qe.VectorStorageDatatype.Float16

# Kept multi-tenant in case indexing is ever enabled; unused while indexing_threshold=0.
_HNSW = dict(m=0, ef_construct=100, full_scan_threshold=10_000, payload_m=16)


_Read = TypeVar("_Read", bound=Callable[..., Any])


def _reads_payloads(method: _Read) -> _Read:
    """Edge's failure to decode a stored payload, as :class:`UnreadableDataError`."""

    @functools.wraps(method)
    def reading(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except MemoryCoreError:
            raise
        except Exception as exc:
            if "deserialize payload" not in str(exc):
                raise
            raise UnreadableDataError(
                "some stored memories cannot be read back (stored by an older memproxy without today's input "
                "checks); delete their subject's memories to recover") from exc

    return reading  # type: ignore[return-value]


def _payload_indexes() -> dict[str, Any]:
    # enable_hnsw only matters if vector indexing is switched on: then graphs would be
    # built for large scopes only; hash, run_id, tags and created_ts never need one.
    return {
        "tenant": qe.KeywordIndexParams(is_tenant=True),
        "user_id": qe.KeywordIndexParams(),
        "agent_id": qe.KeywordIndexParams(),
        "run_id": qe.KeywordIndexParams(enable_hnsw=False),
        "hash": qe.KeywordIndexParams(enable_hnsw=False),
        "tags": qe.KeywordIndexParams(enable_hnsw=False),
        "created_ts": qe.IntegerIndexParams(lookup=False, range=True, enable_hnsw=False),
    }


class EdgeVectorStore:
    """A :class:`~memory_core.vector_store.base.VectorStore` over ``qdrant_edge.EdgeShard``.

    Thread-safe: the engine is, and this wrapper keeps no mutable state besides the
    shard handle and the count of points written since the last flush. Example::

        store = EdgeVectorStore(Path("data/vectors"), dims=384)
        store.upsert([(memory_id, vector, payload)])
        hits = store.search(query_vector, MemoryFilter(tenant="t", user_id="alice"), limit=10)
    """

    def __init__(self, path: Path | str, dims: int, *, search_threads: int | None = 1, scope_idf: bool = True,
                 flush_every: int = FLUSH_EVERY) -> None:
        """Open the shard at ``path``, creating it if the directory holds none.

        ``search_threads`` sizes Edge's search pool (None: one per CPU). One thread
        kept per-user search p95 at 0.38 ms against 2.07 ms with the default on a
        loaded 2-core machine (100k points), without lowering the throughput of four
        threads searching at once: a per-user search is too small to gain from
        splitting, and handing it to another thread costs more than it saves.

        ``scope_idf``: the BM25 IDF of the hybrid search is computed over the searched
        scope's memories (True) or the whole shard (False: cheaper in large shards).

        ``flush_every``: the shard is flushed (which truncates its WAL) once this many
        points have been written (upserted, changed or deleted) since the last flush.
        """
        if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
            raise ValidationError(f"vector dims must be a positive integer, got {dims!r}")
        self.path = Path(path)
        self.dims = dims
        self.scope_idf = scope_idf
        self._shard: qe.EdgeShard | None = _open_shard(self.path, dims, search_threads)
        self._flush_every = flush_every
        self._unflushed = 0  # points written since the last flush
        self._unflushed_lock = threading.Lock()
        self._ensure_indexes()

    # -- writes ---------------------------------------------------------------------

    def upsert(self, points: Sequence[tuple[str, np.ndarray, dict[str, Any]]]) -> None:
        prepared = [qe.Point(point_id(pid), self._point_vectors(vec), dict(payload)) for pid, vec, payload in points]
        for start in range(0, len(prepared), _BATCH):
            self._live.update(qe.UpdateOperation.upsert_points(prepared[start : start + _BATCH]))
        self._written(len(prepared))

    def set_payload(self, point_id: str, fields: dict[str, Any]) -> None:
        self._live.update(qe.UpdateOperation.set_payload(point_ids([point_id]), dict(fields)))
        self._written(1)

    def delete(self, ids: Sequence[str]) -> None:
        valid = point_ids(ids)
        for start in range(0, len(valid), _BATCH):
            self._live.update(qe.UpdateOperation.delete_points(valid[start : start + _BATCH]))
        self._written(len(valid))

    def delete_where(self, flt: MemoryFilter) -> list[str]:
        # Collect first, then delete by id: the ids returned are exactly those deleted,
        # even if matching points are added meanwhile. The payloads are blanked first:
        # Edge decodes a point's payload to delete it, and a payload it cannot decode
        # (written by an older memproxy) would fail the delete and stop the shard's writes.
        ids = list(self._matching_ids(to_edge_filter(flt)))
        # What the filter matched on stays, so a delete interrupted here is found again.
        kept = {k: v for k, v in (("tenant", flt.tenant), ("user_id", flt.user_id), ("agent_id", flt.agent_id),
                                  ("run_id", flt.run_id)) if v is not None}
        for start in range(0, len(ids), _BATCH):
            self._live.update(qe.UpdateOperation.overwrite_payload(ids[start : start + _BATCH], kept))
        self.delete(ids)
        return ids

    def reset(self) -> None:
        self._live.update(qe.UpdateOperation.delete_points_by_filter(qe.Filter()))

    # -- reads ----------------------------------------------------------------------

    @_reads_payloads
    def search(self, query: QueryVectors | np.ndarray, flt: MemoryFilter, limit: int) -> list[StoredPoint]:
        """Fused hybrid search when ``query`` has a sparse part, else nearest by cosine
        (see :class:`~memory_core.vector_store.base.VectorStore`)."""
        check_page(0, limit)
        q = QueryVectors.of(query)
        dense = vector_list(q.dense, self.dims)
        if limit == 0:
            return []
        qfilter, dropped = self._search_filter(flt)
        if q.sparse is None:
            hits = self._live.query(
                qe.QueryRequest(limit=limit, query=qe.Query.Nearest(dense), filter=qfilter,
                                with_payload=True, with_vector=False)
            )
            return [StoredPoint(id=str(h.id), payload=h.payload or {}, score=h.score) for h in hits
                    if _in_scope(h.payload, dropped)]
        sparse = _sparse(q.sparse)
        # IDF over the scope's own memories (or, without scope_idf, the whole shard). With no
        # condition left the scope is the whole shard, whose IDF is the same and 1 ms cheaper.
        idf = qe.SearchParams(idf=qe.IdfParams(corpus=qfilter)) if self.scope_idf and qfilter.must else None
        prefetches = [
            qe.Prefetch(limit=PREFETCH, query=qe.Query.Nearest(dense), filter=qfilter),
            qe.Prefetch(limit=PREFETCH, query=qe.Query.Nearest(dense, using="ctx"), filter=qfilter),
            qe.Prefetch(limit=PREFETCH, query=qe.Query.Nearest(sparse, using="bm25"), filter=qfilter, params=idf),
            qe.Prefetch(limit=PREFETCH, query=qe.Query.Nearest(sparse, using="bm25_ctx"), filter=qfilter, params=idf),
        ]
        # No filter on the fused query: Edge ANDs it into every prefetch's filter (evaluated
        # twice, ~1 ms at 10k points), and the fusion only sees prefetched points anyway.
        fused = self._live.query(
            qe.QueryRequest(limit=max(FUSED, limit), prefetches=prefetches, query=qe.Fusion.Rrf(k=RRF_K),
                            with_payload=qe.PayloadSelector.Include(["prev", "next"]), with_vector=False)
        )
        ids = smooth([(str(h.id), h.score, h.payload or {}) for h in fused])[:limit]
        if not ids:
            return []
        # The cosines (and payloads) of the final points, computed by Qdrant.
        only = qe.Filter(must=[qe.HasIdCondition(set(ids))])
        plain, ctx = self._live.query_batch(qe.QueryBatchRequest([
            qe.QueryRequest(limit=len(ids), query=qe.Query.Nearest(dense), filter=only, with_payload=True),
            qe.QueryRequest(limit=len(ids), query=qe.Query.Nearest(dense, using="ctx"), filter=only,
                            with_payload=False),
        ]))
        # _in_scope: a point of another scope upserted between the check and the search.
        found = {str(h.id): StoredPoint(id=str(h.id), payload=h.payload or {}, score=h.score) for h in plain
                 if _in_scope(h.payload, dropped)}
        for h in ctx:
            p = found.get(str(h.id))
            if p is not None and h.score > (p.score or -1.0):
                p.score = h.score
        return [found[i] for i in ids if i in found]

    def _search_filter(self, flt: MemoryFilter) -> tuple[qe.Filter, dict[str, Any]]:
        """The Edge filter of ``flt`` without the scope conditions (tenant, user_id, agent_id,
        run_id) that every point of the shard meets, and those dropped (field -> value).

        They select nothing, but each costs ~0.6 ms per scan at 10k points (one user alone
        in the shard: 11.4 -> 6.9 ms per hybrid search; one tenant: 15 -> 10 ms for a
        10k-memory user in a 110k-point shard). The count of one keyword match is read
        from its index entry (exact, ~0.01 ms), not by scanning.
        """
        kept, dropped = [], {}
        total: int | None = None
        for cond in compile_filter(flt):
            if isinstance(cond, Match) and cond.key in _SCOPE_FIELDS:
                if total is None:
                    total = self._live.info().points_count
                one = qe.Filter(must=[edge_condition(cond)])
                if total > 0 and self._live.count(qe.CountRequest(exact=False, filter=one)) == total:
                    dropped[cond.key] = cond.value
                    continue
            kept.append(edge_condition(cond))
        return qe.Filter(must=kept), dropped

    @_reads_payloads
    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        wanted = point_ids(ids)
        if not wanted:
            return []
        records = self._live.retrieve(wanted, with_payload=True, with_vector=[""] if with_vectors else False)
        found = {str(r.id): _stored(r, with_vectors) for r in records}
        return [found[i] for i in wanted if i in found]

    @_reads_payloads
    def scan(self, offset: str | None, limit: int) -> tuple[list[ScannedPoint], str | None]:
        records, after = self._live.scroll(qe.ScrollRequest(
            offset=None if offset is None else point_id(offset), limit=limit, filter=None,
            with_payload=True, with_vector=True))
        points = [ScannedPoint(str(r.id), scanned_vectors(r.vector), r.payload or {}) for r in records]
        return points, None if after is None else str(after)

    @_reads_payloads
    def list(self, flt: MemoryFilter, offset: int, limit: int) -> list[StoredPoint]:
        """Newest first. Qdrant cannot skip within an ordered scroll, so this reads
        ``offset + limit`` points and drops the first ``offset``: deep pages cost more."""
        check_page(offset, limit)
        qfilter = to_edge_filter(flt)
        if limit == 0:
            return []
        records, _ = self._live.scroll(
            qe.ScrollRequest(
                limit=offset + limit,
                filter=qfilter,
                with_payload=True,
                with_vector=False,
                order_by=qe.OrderBy("created_ts", qe.Direction.Desc),
            )
        )
        return [_stored(r, False) for r in records[offset:]]

    def total(self) -> int:
        """Every point of every tenant."""
        return int(self._live.count(qe.CountRequest(filter=None, exact=True)))

    def count(self, flt: MemoryFilter) -> int:
        return self._live.count(qe.CountRequest(exact=True, filter=to_edge_filter(flt)))

    # -- maintenance ----------------------------------------------------------------

    def optimize(self) -> bool:
        """Drop deleted points from disk and merge segments; True if anything changed.

        Only worth running after many deletes (it acts once 20% of a segment is
        deleted). It blocks while holding the GIL, so the whole process stalls for
        its run (0.7 s for 50k points with 60% deleted): call it at start-up before
        serving or from a maintenance command, never on a request path. Searches are
        exact and complete without it.
        """
        return self._live.optimize()

    def flush(self) -> None:
        self._live.flush()

    def close(self) -> None:
        """Flush and release the directory; safe to call twice."""
        shard, self._shard = self._shard, None
        if shard is not None:
            try:
                shard.flush()
            finally:
                shard.close()

    def __enter__(self) -> EdgeVectorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------

    @property
    def _live(self) -> qe.EdgeShard:
        shard = self._shard
        if shard is None:
            raise MemoryCoreError(f"the vector store at {self.path} is closed")
        return shard

    def _written(self, points: int) -> None:
        """Count ``points`` written; flush once ``flush_every`` are (see FLUSH_EVERY)."""
        with self._unflushed_lock:
            self._unflushed += points
            due = self._unflushed >= self._flush_every
            if due:
                self._unflushed = 0
        if due:
            try:
                self._live.flush()
            except Exception as exc:  # the write itself is done; the next write tries again
                with self._unflushed_lock:
                    self._unflushed += self._flush_every
                log.warning("flushing the vector store at %s failed: %s", self.path, exc)

    def _point_vectors(self, value: Vectors | np.ndarray) -> dict[str, Any]:
        return named_vectors(value, self.dims, _sparse)

    def _ensure_indexes(self) -> None:
        # Also repairs a shard whose creation was interrupted before its indexes existed.
        existing = set(self._live.info().payload_schema)
        for field, params in _payload_indexes().items():
            if field not in existing:
                self._live.update(qe.UpdateOperation.create_field_index(field, params))

    def _matching_ids(self, qfilter: qe.Filter) -> Iterator[str]:
        offset = None
        while True:
            records, offset = self._live.scroll(
                qe.ScrollRequest(offset=offset, limit=1000, filter=qfilter, with_payload=False, with_vector=False)
            )
            yield from (str(r.id) for r in records)
            if offset is None:
                return


def _in_scope(payload: dict[str, Any] | None, dropped: dict[str, Any]) -> bool:
    return all((payload or {}).get(k) == v for k, v in dropped.items())


def _sparse(v: SparseVector) -> qe.SparseVector:
    return qe.SparseVector(indices=list(v.indices), values=list(v.values))


def _stored(record: Any, with_vector: bool) -> StoredPoint:
    raw = record.vector.get("") if isinstance(record.vector, dict) else record.vector
    vector = np.asarray(raw, dtype=np.float32) if with_vector and raw is not None else None
    return StoredPoint(id=str(record.id), payload=record.payload or {}, vector=vector)


# -- opening ----------------------------------------------------------------------


def _open_shard(path: Path, dims: int, search_threads: int | None) -> qe.EdgeShard:
    existing = _holds_shard(path)
    # A shard made with float32 (by memproxy 0.1) keeps it: Edge refuses a config that differs.
    datatype = _stored_datatype(path) if existing else NEW_SHARD_DATATYPE
    vectors = {name: qe.EdgeVectorParams(size=dims, distance=qe.Distance.Cosine, datatype=datatype)
               for name in ("", "ctx")}
    settings: dict[str, Any] = {
        "sparse_vectors": {
            "bm25": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf),
            "bm25_ctx": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf),
        },
        "optimizers": qe.EdgeOptimizersConfig(indexing_threshold=0),
        # Explicit even for "one per CPU": on load, None would keep the persisted value.
        "max_search_threads": search_threads or os.cpu_count() or 1,
    }
    try:
        if existing:
            stored = _stored_dims(path)
            if stored is not None and stored != dims:
                raise _dimension_mismatch(path, stored, dims)
            _check_layout(path)
            # Edge verifies the vector params against the segments too, and persists
            # the settings (kept exact-only whatever created the shard).
            return qe.EdgeShard.load(str(path), qe.EdgeConfig(vectors=vectors, **settings))
        path.mkdir(parents=True, exist_ok=True)
        config = qe.EdgeConfig(vectors=vectors, hnsw_config=qe.HnswIndexConfig(**_HNSW), **settings)
        return qe.EdgeShard.create(str(path), config)
    except MemoryCoreError:
        raise
    except Exception as exc:
        message = str(exc)
        if "WouldBlock" in message or "Can't init WAL" in message:
            raise StoreLockedError(
                f"another memproxy process owns {path}; the embedded store is single-process; "
                "stop it or use a Qdrant server (vector_store.provider: qdrant)"
            ) from exc
        found = re.search(r"expected vector size (\d+), but got (\d+)", message)
        if found:
            raise _dimension_mismatch(path, int(found.group(2)), dims) from exc
        raise


def _holds_shard(path: Path) -> bool:
    return (path / "edge_config.json").exists() or (path / "segments").is_dir()


def stored_dims(path: Path) -> int | None:
    """The vector size a shard at ``path`` was built for (None: no shard there)."""
    return _stored_dims(path) if _holds_shard(path) else None


def _stored_dims(path: Path) -> int | None:
    """The vector size recorded by Edge, or None if it cannot be read (Edge checks anyway)."""
    try:
        config = json.loads((path / "edge_config.json").read_text())
        return int(config["vectors"][""]["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _stored_datatype(path: Path) -> qe.VectorStorageDatatype | None:
    """How the shard at ``path`` stores its dense vectors (None: float32, the default)."""
    try:
        name = json.loads((path / "edge_config.json").read_text())["vectors"][""].get("datatype")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return qe.VectorStorageDatatype.Float16 if name == "float16" else None


def _check_layout(path: Path) -> None:
    """Refuse a shard made before the hybrid layout (one unnamed dense vector only)."""
    try:
        config = json.loads((path / "edge_config.json").read_text())
        names = set(config.get("vectors") or {}) | set(config.get("sparse_vectors") or {})
    except (OSError, ValueError, TypeError, AttributeError):
        return  # unreadable: Edge checks the segments itself
    missing = {"", "ctx", "bm25", "bm25_ctx"} - names
    if missing:
        raise StoreLayoutError(
            f"the vector store at {path} was built with an older layout (it lacks the vectors "
            f"{', '.join(sorted(repr(m) for m in missing))} of the hybrid search); move or delete that "
            "directory (or point vector_store.path elsewhere) and re-add the memories"
        )


def _dimension_mismatch(path: Path, stored: int, dims: int) -> DimensionMismatchError:
    return DimensionMismatchError(
        f"the vector store at {path} holds {stored}-dimensional vectors but the embedder produces "
        f"{dims}-dimensional ones; use the embedder that built it, or a new data directory "
        "(re-adding the memories there)"
    )


__all__ = ["EdgeVectorStore"]
