"""Vectors in PostgreSQL with pgvector: one table per collection, shared by every process.

The same behaviour as the embedded Edge store (same payloads, filters, hybrid ranking
and scores), for the shared-state mode, where several memproxy processes serve the
same memories::

    store = PgVectorStore(384, url="postgresql://memproxy:secret@db:5432/memproxy")
    store.upsert([(memory_id, Vectors(dense, ctx, sparse, ctx_sparse), payload)])
    store.search(QueryVectors(q, sparse_query(text)), MemoryFilter(tenant="t", user_id="alice"), 10)

Layout (``memproxy_<collection>``, created by :func:`memory_core.postgres.migrate`):
one row per point with the payload as given (``json``: key order and values kept),
the columns filters use (tenant, user_id, agent_id, run_id, hash, tags, metadata,
created_ts), both dense vectors (``vector``, stored unit length as Qdrant's cosine
distance does) and both sparse BM25 vectors as ``int4[]`` term / ``float4[]`` weight
arrays (pgvector 0.6 has no sparse type).

Every search is exact within its filter, as Edge's is: a btree on (tenant, user_id,
created_ts) finds the scope's rows, and one SQL statement (:mod:`._pgsql`) scores them
all, computes the per-scope IDF from the same rows, ranks the four sources, fuses them
by RRF, smooths the fused candidates and returns the best with their cosines and
payloads. No HNSW index: pgvector 0.6 applies a WHERE filter after the graph search,
so a user's top 10 out of a 100k-row table came back nearly empty (docs/memory_core.md).
``idf="collection"`` reads document frequencies from ``memproxy_<collection>_terms``,
which every write keeps up to date in the same transaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from memory_core.errors import DimensionMismatchError, MemoryCoreError, MemoryNotFoundError, ValidationError
from memory_core.postgres import (DatabaseError, connect, ensure_vector_extension, migrate, redact,
                                  schema_version)
from memory_core.vector_store._common import check_page, point_id, point_ids, vector_list
from memory_core.vector_store._pgsql import hybrid_sql, quote, schema_steps
from memory_core.vector_store.base import (FUSED, MemoryFilter, QueryVectors, ScannedPoint, SparseVector,
                                          StoredPoint, StoreLayoutError, Vectors)
from memory_core.vector_store.filters import sql_json, sql_text, to_sql

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

_BATCH = 500
TABLE_PREFIX = "memproxy_"
_COLUMNS = ("id, payload, tenant, user_id, agent_id, run_id, hash, tags, metadata, created_ts, dense, ctx, "
            "bm25_terms, bm25_weights, bm25_ctx_terms, bm25_ctx_weights")


class PgVectorStore:
    """A :class:`~memory_core.vector_store.base.VectorStore` over a PostgreSQL table.

    Thread-safe (a connection pool; no state besides it). Every write is one transaction,
    so another process sees all of it or none. Example::

        store = PgVectorStore(384, url="postgresql://localhost/memproxy", collection="memories")
        store.count(MemoryFilter(tenant="default", user_id="alice"))

    ``pool`` lets the caller share a :func:`memory_core.postgres.connect` pool opened with
    ``vectors=True`` (then it is not closed here).
    """

    def __init__(self, dims: int, *, url: str | None = None, pool: ConnectionPool | None = None,
                 collection: str = "memories", scope_idf: bool = True, pool_size: int = 8) -> None:
        if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
            raise ValidationError(f"vector dims must be a positive integer, got {dims!r}")
        if (url is None) == (pool is None):
            raise ValidationError("PgVectorStore needs exactly one of url or pool")
        self.dims = dims
        self.collection = collection
        self.scope_idf = scope_idf
        self.table = TABLE_PREFIX + collection
        self._t = quote(self.table)
        self._terms = quote(self.table + "_terms")
        self._docs = quote(self.table + "_docs")
        self._where = redact(url if url is not None else getattr(pool, "conninfo", ""))
        self._own_pool = pool is None
        self._closed = False
        self._close_lock = threading.Lock()
        import psycopg
        from psycopg_pool import PoolTimeout

        self._unavailable: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError,
                                                          PoolTimeout)
        if pool is None:
            assert url is not None
            # The pool registers pgvector's types on connect, so the extension must exist first.
            setup = connect(url, max_size=1)
            try:
                self._open_schema(setup)
            finally:
                setup.close()
            pool = connect(url, max_size=pool_size, vectors=True)
        else:
            self._open_schema(pool)
        self._pool = pool

    # -- writes ---------------------------------------------------------------------

    def upsert(self, points: Sequence[tuple[str, Vectors | np.ndarray, dict[str, Any]]]) -> None:
        rows: dict[str, tuple[Any, ...]] = {}
        for pid, vec, payload in points:  # the last of one id wins, as in Qdrant
            pid = point_id(pid)
            rows.pop(pid, None)
            rows[pid] = self._row(pid, vec, payload)
        if not rows:
            return
        # In id order, so that two writers of the same points lock them in one order.
        values = [rows[pid] for pid in sorted(rows)]
        # Binary vectors and arrays: a third of the time of text ones.
        placeholders = "%s::uuid, %s::json, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %b, %b, " \
                       "%b::int4[], %b::float4[], %b::int4[], %b::float4[]"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS.split(", ")[1:])
        sql = f"INSERT INTO {self._t} ({_COLUMNS}) VALUES ({placeholders}) ON CONFLICT (id) DO UPDATE SET {updates}"
        with self._transaction() as conn:
            replaced: list[tuple[Any, Any]] = []
            for start in range(0, len(values), _BATCH):
                batch = values[start:start + _BATCH]
                # The replaced points' terms leave the document frequencies; locked so that
                # a concurrent write of the same points waits.
                replaced += conn.execute(
                    f"SELECT bm25_terms, bm25_ctx_terms FROM {self._t} WHERE id = ANY(%s::uuid[]) ORDER BY id "
                    "FOR UPDATE", ([r[0] for r in batch],)).fetchall()
                with conn.cursor() as cur:
                    cur.executemany(sql, batch)
            self._count_terms(conn, added=[(r[12], r[14]) for r in values], removed=replaced)

    def set_payload(self, point_id: str, fields: dict[str, Any]) -> None:
        pid = _existing_id(point_id)
        with self._transaction() as conn:
            row = conn.execute(f"SELECT payload FROM {self._t} WHERE id = %s::uuid FOR UPDATE", (pid,)).fetchone()
            if row is None:
                raise MemoryNotFoundError(f"No point with id {point_id}")
            payload = {**row[0], **fields}
            conn.execute(
                f"UPDATE {self._t} SET payload = %s::json, tenant = %s, user_id = %s, agent_id = %s, run_id = %s, "
                "hash = %s, tags = %s::jsonb, metadata = %s::jsonb, created_ts = %s WHERE id = %s::uuid",
                (*_payload_columns(payload), pid))

    def delete(self, ids: Sequence[str]) -> None:
        valid = point_ids(ids)
        if not valid:
            return
        with self._transaction() as conn:
            removed = conn.execute(
                f"DELETE FROM {self._t} WHERE id = ANY(%s::uuid[]) RETURNING bm25_terms, bm25_ctx_terms",
                (valid,)).fetchall()
            self._count_terms(conn, added=[], removed=removed)

    def delete_where(self, flt: MemoryFilter) -> list[str]:
        where, params = to_sql(flt)
        with self._transaction() as conn:
            rows = conn.execute(
                f"DELETE FROM {self._t} WHERE {where} RETURNING id, bm25_terms, bm25_ctx_terms", params).fetchall()
            self._count_terms(conn, added=[], removed=[r[1:] for r in rows])
        return [str(r[0]) for r in rows]

    def reset(self) -> None:
        with self._transaction() as conn:
            conn.execute(f"TRUNCATE {self._t}, {self._terms}")
            conn.execute(f"UPDATE {self._docs} SET docs = 0")

    # -- reads ----------------------------------------------------------------------

    def search(self, query: QueryVectors | np.ndarray, flt: MemoryFilter, limit: int) -> list[StoredPoint]:
        """Fused hybrid search when ``query`` has a sparse part, else nearest by cosine
        (see :class:`~memory_core.vector_store.base.VectorStore`)."""
        check_page(0, limit)
        where, params = to_sql(flt)
        q = QueryVectors.of(query)
        dense = _unit(q.dense, self.dims)
        if limit == 0:
            return []
        if q.sparse is None:
            rows = self._fetch(
                f"SELECT id, payload, score FROM (SELECT id, payload, -(dense <#> %b) AS score FROM {self._t} "
                f"WHERE {where}) AS s ORDER BY score DESC, id LIMIT %s", [dense, *params, limit])
            return [StoredPoint(id=str(pid), payload=payload, score=float(score)) for pid, payload, score in rows]
        terms, weights = _terms(q.sparse)
        # Prepared at once: planning this statement costs more than running it on a user's
        # hundred memories (~3 ms against ~2 ms on 2 busy cores).
        rows = self._fetch(hybrid_sql(self.table, where, self.scope_idf), [dense, dense, terms, terms, *params, terms, weights,
                                                     max(FUSED, limit), limit], prepare=True)
        return [StoredPoint(id=str(pid), payload=payload, score=float(max(plain, ctx)))
                for pid, plain, ctx, payload in rows]

    def retrieve(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPoint]:
        wanted = point_ids(ids)
        if not wanted:
            return []
        vector = ", dense" if with_vectors else ""
        rows = self._fetch(f"SELECT id, payload{vector} FROM {self._t} WHERE id = ANY(%s::uuid[])", [wanted],
                           binary=with_vectors)
        found = {str(r[0]): StoredPoint(id=str(r[0]), payload=r[1],
                                        vector=_array(r[2]) if with_vectors else None) for r in rows}
        return [found[i] for i in wanted if i in found]

    def list(self, flt: MemoryFilter, offset: int, limit: int) -> list[StoredPoint]:
        """Newest first (``created_ts`` descending; ties by id)."""
        check_page(offset, limit)
        where, params = to_sql(flt)
        if limit == 0:
            return []
        rows = self._fetch(
            f"SELECT id, payload FROM {self._t} WHERE {where} AND created_ts IS NOT NULL "
            "ORDER BY created_ts DESC, id LIMIT %s OFFSET %s", [*params, limit, offset])
        return [StoredPoint(id=str(pid), payload=payload) for pid, payload in rows]

    def count(self, flt: MemoryFilter) -> int:
        where, params = to_sql(flt)
        return int(self._fetch(f"SELECT count(*) FROM {self._t} WHERE {where}", params)[0][0])

    def total(self) -> int:
        """Every point of every tenant."""
        return int(self._fetch(f"SELECT count(*) FROM {self._t}", [])[0][0])

    def scan(self, offset: str | None, limit: int) -> tuple[list[ScannedPoint], str | None]:
        check_page(0, limit)
        after, params = ("", []) if offset is None else ("WHERE id >= %s::uuid", [point_id(offset)])
        rows = self._fetch(f"SELECT {_COLUMNS} FROM {self._t} {after} ORDER BY id LIMIT %s", [*params, limit + 1],
                           binary=True)
        points = [ScannedPoint(str(r[0]), Vectors(_array(r[10]), _array(r[11]), _sparse(r[12], r[13]),
                                                  _sparse(r[14], r[15])), r[1]) for r in rows[:limit]]
        return points, (str(rows[limit][0]) if len(rows) > limit else None)

    # -- maintenance ----------------------------------------------------------------

    def flush(self) -> None:
        """Nothing to do: every write is committed before it returns."""

    def close(self) -> None:
        """Close the pool this store opened; safe to call twice."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._own_pool:
            self._pool.close()

    def __enter__(self) -> PgVectorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------

    def _open_schema(self, pool: ConnectionPool) -> None:
        with self._failures():
            ensure_vector_extension(pool)
            component = f"vectors:{self.collection}"
            with pool.connection() as conn:
                exists = conn.execute("SELECT to_regclass(%s)", (self._t,)).fetchone()[0] is not None
                if exists:
                    self._check_table(conn)
            if exists and schema_version(pool, component) == 0:
                raise StoreLayoutError(f"PostgreSQL table {self.table} exists but was not made by memproxy; "
                                       "choose another vector_store.collection")
            migrate(pool, component, schema_steps(self.table, self.dims))
            with pool.connection() as conn:
                self._check_table(conn)

    def _check_table(self, conn: Connection[Any]) -> None:
        rows = dict(conn.execute(
            "SELECT attname, atttypmod FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
            "AND NOT attisdropped", (self._t,)).fetchall())
        stored = rows.get("dense")
        if stored is not None and stored != self.dims:
            raise DimensionMismatchError(
                f"PostgreSQL table {self.table} holds {stored}-dimensional vectors but the embedder produces "
                f"{self.dims}-dimensional ones; use the embedder that built it, or another "
                "vector_store.collection (re-adding the memories there)")
        missing = {"dense", "ctx", "bm25_terms", "bm25_ctx_terms", "payload"} - set(rows)
        if missing:
            raise StoreLayoutError(
                f"PostgreSQL table {self.table} lacks the columns {', '.join(sorted(missing))}: it was not made "
                "by this memproxy; choose another vector_store.collection")

    def _row(self, pid: str, value: Vectors | np.ndarray, payload: dict[str, Any]) -> tuple[Any, ...]:
        v = Vectors.of(value)
        dense = _unit(v.dense, self.dims)
        ctx = dense if v.ctx_dense is None else _unit(v.ctx_dense, self.dims)
        sparse = _terms(v.sparse) if v.sparse is not None else (None, None)
        ctx_sparse = _terms(v.ctx_sparse) if v.ctx_sparse is not None else sparse
        return (pid, *_payload_columns(payload), dense, ctx, *sparse, *ctx_sparse)

    def _count_terms(self, conn: Connection[Any], added: Sequence[tuple[Any, Any]],
                     removed: Sequence[tuple[Any, Any]]) -> None:
        """Keep the collection's document frequencies (for idf="collection") in step with
        points ``added`` and ``removed`` (their term arrays per sparse vector), in the
        caller's transaction. Rows are locked in one order, so concurrent writers never
        deadlock here."""
        docs = [0, 0]
        held: list[list[np.ndarray]] = [[], []]
        signs: list[list[np.ndarray]] = [[], []]
        for sign, points in ((1, added), (-1, removed)):
            for point in points:
                for vector, terms in enumerate(point):
                    if terms is not None:  # unique within a point (see _terms)
                        docs[vector] += sign
                        held[vector].append(np.asarray(terms, dtype=np.int64))
                        signs[vector].append(np.full(len(terms), sign, dtype=np.int64))
        changed: list[tuple[int, int, int]] = []
        for vector in (0, 1):
            if held[vector]:
                terms, inverse = np.unique(np.concatenate(held[vector]), return_inverse=True)
                counts = np.bincount(inverse, weights=np.concatenate(signs[vector]), minlength=len(terms))
                changed += [(vector, int(t), int(n)) for t, n in zip(terms, counts) if n]
        if changed:
            conn.execute(
                f"INSERT INTO {self._terms} AS t (vector, term, docs) SELECT * FROM unnest(%b::int2[], "
                "%b::int4[], %b::int8[]) ORDER BY 1, 2 ON CONFLICT (vector, term) DO UPDATE SET docs = t.docs + "
                "EXCLUDED.docs", ([c[0] for c in changed], [c[1] for c in changed], [c[2] for c in changed]))
        if any(docs):
            conn.execute(f"UPDATE {self._docs} SET docs = docs + CASE vector WHEN 0 THEN %s ELSE %s END",
                         (docs[0], docs[1]))

    def _fetch(self, sql: str, params: Sequence[Any], binary: bool = False,
               prepare: bool | None = None) -> list[tuple[Any, ...]]:
        with self._failures(), self._pool.connection() as conn:
            with conn.cursor(binary=binary) as cur:
                return cur.execute(sql, params, prepare=prepare).fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[Connection[Any]]:
        with self._failures(), self._pool.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def _failures(self) -> Iterator[None]:
        if self._closed:
            raise MemoryCoreError(f"the vector store {self.table} at {self._where} is closed")
        try:
            yield
        except self._unavailable as exc:
            raise DatabaseError(f"PostgreSQL at {self._where} failed: {exc}") from exc


# -- values -------------------------------------------------------------------------


def _existing_id(value: Any) -> str:
    ids = point_ids([value])
    if not ids:
        raise MemoryNotFoundError(f"No point with id {value}")
    return ids[0]


def _unit(value: Any, dims: int) -> np.ndarray:
    """A unit-length float32 copy (Qdrant's cosine distance normalises the same way)."""
    array = np.asarray(value, dtype=np.float32)
    if array.shape != (dims,) or not np.isfinite(array).all():
        vector_list(array, dims)  # raises the shared error
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def _terms(v: SparseVector) -> tuple[list[int], list[float]]:
    """A sparse vector as int4 terms (Qdrant's u32 indices, wrapped) and float weights;
    repeated indices are summed."""
    if len(v.indices) != len(v.values):
        raise ValidationError("sparse vector has different numbers of indices and values")
    weights: dict[int, float] = {}
    for index, value in zip(v.indices, v.values):
        if isinstance(index, bool) or not 0 <= int(index) < 2**32:
            raise ValidationError(f"sparse vector index {index!r} is not an unsigned 32-bit integer")
        if not np.isfinite(value):
            raise ValidationError("sparse vector contains NaN or infinite values")
        term = int(index) - 2**32 if int(index) >= 2**31 else int(index)
        weights[term] = weights.get(term, 0.0) + float(value)
    return list(weights), list(weights.values())


def _sparse(terms: list[int] | None, weights: list[float] | None) -> SparseVector | None:
    if terms is None:
        return None
    return SparseVector([t + 2**32 if t < 0 else t for t in terms], [float(w) for w in weights or []])


def _array(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def _payload_columns(payload: dict[str, Any]) -> tuple[Any, ...]:
    """(payload json, tenant, user_id, agent_id, run_id, hash, tags, metadata, created_ts)."""
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"payload is not plain JSON: {exc}") from exc

    def keyword(key: str) -> str | None:
        value = payload.get(key)
        return sql_text(value) if isinstance(value, str) else None

    def document(key: str) -> str | None:
        value = payload.get(key)
        return None if value is None else json.dumps(sql_json(value), ensure_ascii=False)

    created = payload.get("created_ts")
    if isinstance(created, bool) or not isinstance(created, int) or not -(2**63) <= created < 2**63:
        created = None  # as Edge's integer index: only integers are ordered and listed
    return (text, keyword("tenant"), keyword("user_id"), keyword("agent_id"), keyword("run_id"), keyword("hash"),
            document("tags"), document("metadata"), created)


__all__ = ["PgVectorStore"]
