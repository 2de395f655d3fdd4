"""Fixtures for the vector store tests: every adapter (Edge, qdrant-client, pgvector on a
real PostgreSQL), random unit vectors, payloads."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory_core.vector_store import VectorStore

DIMS = 32


def unit_vectors(n: int, seed: int = 0, dims: int = DIMS) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def payload(
    tenant: str = "acme",
    user_id: str | None = "alice",
    *,
    ts: int = 0,
    agent_id: str | None = None,
    run_id: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    text: str = "a memory",
    hash: str | None = None,
) -> dict[str, Any]:
    """A memory payload as memory_core writes it (see vector_store/base.py)."""
    return {
        "tenant": tenant,
        "user_id": user_id,
        "agent_id": agent_id,
        "run_id": run_id,
        "memory": text,
        "hash": hash or uuid.uuid5(uuid.NAMESPACE_OID, text).hex,
        "role": "user",
        "tags": tags or [],
        "metadata": metadata or {},
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "created_ts": ts,
    }


class Seeder:
    """Adds points with fresh ids and random unit vectors; remembers what it added."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self.vectors: dict[str, np.ndarray] = {}
        self._rng_seed = 100

    def add(self, **fields: Any) -> str:
        return self.add_many([fields])[0]

    def add_many(self, payloads: list[dict[str, Any]]) -> list[str]:
        self._rng_seed += 1
        vectors = unit_vectors(len(payloads), seed=self._rng_seed)
        ids = [str(uuid.uuid4()) for _ in payloads]
        self.vectors.update(zip(ids, vectors))
        self.store.upsert([(i, v, payload(**p)) for i, v, p in zip(ids, vectors, payloads)])
        return ids


@pytest.fixture(scope="session")
def empty_edge_shard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty shard created once; tests open copies of it. Creating a shard with
    its payload indexes takes about a second on a busy disk, loading one a few ms.
    Creation itself is covered in test_edge_store.py."""
    from memory_core.vector_store.edge import EdgeVectorStore

    path = tmp_path_factory.mktemp("template") / "vectors"
    EdgeVectorStore(path, DIMS).close()
    return path


KINDS = ["edge", "qdrant", "pgvector"]


def precision(store: VectorStore) -> float:
    """How closely a store gives back vectors and cosines: Edge stores float16 (its new
    shards), the others float32."""
    from memory_core.vector_store.edge import EdgeVectorStore

    return 1e-3 if isinstance(store, EdgeVectorStore) else 1e-5


def open_store(kind: str, path: Path, empty_edge_shard: Path, database_url: str | None = None) -> VectorStore:
    if kind == "edge":
        from memory_core.vector_store.edge import EdgeVectorStore

        shutil.copytree(empty_edge_shard, path)
        return EdgeVectorStore(path, DIMS)
    if kind == "pgvector":
        from memory_core.vector_store.pgvector import PgVectorStore

        return PgVectorStore(DIMS, url=database_url)
    from memory_core.vector_store.qdrant_server import QdrantServerStore

    return QdrantServerStore(DIMS, location=":memory:")


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, empty_edge_shard: Path) -> Iterator[VectorStore]:
    """A fresh, empty store of each kind (pgvector: in a database of its own)."""
    url = request.getfixturevalue("postgres_url") if request.param == "pgvector" else None
    s = open_store(request.param, tmp_path / "vectors", empty_edge_shard, url)
    yield s
    s.close()


@pytest.fixture(scope="module", params=KINDS)
def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, empty_edge_shard: Path
) -> Iterator[VectorStore]:
    """One store of each kind for a whole module: for tests that only read."""
    database = None
    if request.param == "pgvector":
        from postgres_harness import fresh_database

        server = request.getfixturevalue("postgres_server")
        database = fresh_database(server)
    s = open_store(request.param, tmp_path_factory.mktemp("shared") / "vectors", empty_edge_shard,
                   database[1] if database else None)
    yield s
    s.close()
    if database:
        from postgres_harness import drop_database

        drop_database(server, database[0])


@pytest.fixture
def seed(store: VectorStore) -> Seeder:
    return Seeder(store)


@pytest.fixture(scope="session")
def make_seeder():
    """``make_seeder(store)``: a Seeder for a store other than ``store``."""
    return Seeder


@pytest.fixture
def make_vectors():
    """``make_vectors(n, seed=0, dims=DIMS)``: random unit vectors, float32."""
    return unit_vectors


@pytest.fixture
def make_payload():
    """``make_payload(tenant, user_id, ts=..., ...)``: a memory payload."""
    return payload
