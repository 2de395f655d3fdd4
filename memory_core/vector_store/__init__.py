"""Where memories' vectors live: an embedded Qdrant Edge shard, a Qdrant server, or
PostgreSQL with pgvector.

Example::

    store = open_vector_store(VectorStoreConfig(), data_dir=Path("data"), dims=384)
    store.search(vector, MemoryFilter(tenant="default", user_id="alice"), limit=10)
"""

from __future__ import annotations

from pathlib import Path

from memory_core.errors import ValidationError
from memory_core.vector_store.base import (MemoryFilter, QueryVectors, SparseVector, StoredPoint,
                                          StoreLayoutError, Vectors, VectorStore)
from memory_core.vector_store.config import VectorStoreConfig


def open_vector_store(cfg: VectorStoreConfig, data_dir: Path, dims: int) -> VectorStore:
    """Open (creating if needed) the store ``cfg`` names, for ``dims``-dimensional vectors.

    Raises DimensionMismatchError if the existing store was built for another size,
    StoreLockedError if another process owns the embedded store's directory,
    StoreLayoutError if it was built with the old single-vector layout, and
    DatabaseError if PostgreSQL cannot be reached (pgvector).
    """
    if cfg.provider == "pgvector":
        # Imported only here: the embedded mode never loads psycopg.
        from memory_core.vector_store.pgvector import PgVectorStore

        if cfg.url is None:
            raise ValidationError("vector_store.provider 'pgvector' needs a PostgreSQL URL: set memory.database_url "
                                  "(or vector_store.url)")
        return PgVectorStore(dims, url=cfg.url.get_secret_value(), collection=cfg.collection,
                             scope_idf=cfg.idf == "scope")
    if cfg.provider == "edge":
        from memory_core.vector_store.edge import EdgeVectorStore

        return EdgeVectorStore(cfg.edge_path(data_dir), dims, search_threads=cfg.search_threads,
                               scope_idf=cfg.idf == "scope")

    # Imported only here: qdrant_client takes over a second to import.
    from memory_core.vector_store.qdrant_server import QdrantServerStore

    return QdrantServerStore(
        dims,
        collection=cfg.collection,
        url=cfg.url.get_secret_value() if cfg.url else None,
        api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
        location=cfg.location,
        timeout_s=cfg.timeout_s,
        scope_idf=cfg.idf == "scope",
    )


__all__ = ["MemoryFilter", "QueryVectors", "SparseVector", "StoredPoint", "StoreLayoutError", "Vectors",
           "VectorStore", "VectorStoreConfig", "open_vector_store"]
