"""How the vector store is chosen from configuration."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from memory_core.vector_store import VectorStoreConfig, open_vector_store
from memory_core.vector_store.edge import EdgeVectorStore
from memory_core.vector_store.qdrant_server import QdrantServerStore


def test_the_default_is_the_embedded_store_under_the_data_directory(tmp_path):
    cfg = VectorStoreConfig()
    assert cfg.provider == "edge" and cfg.collection == "memories"
    assert cfg.edge_path(tmp_path) == tmp_path / "vectors"
    with open_vector_store(cfg, tmp_path, 16) as store:
        assert isinstance(store, EdgeVectorStore) and store.dims == 16
    assert (tmp_path / "vectors").is_dir()


def test_an_explicit_path_wins_over_the_data_directory(tmp_path):
    cfg = VectorStoreConfig(path=tmp_path / "elsewhere")
    assert cfg.edge_path(Path("/ignored")) == tmp_path / "elsewhere"


def test_provider_qdrant_with_memory_location_opens_the_client_store(tmp_path):
    cfg = VectorStoreConfig(provider="qdrant", location=":memory:", collection="test_mem")
    store = open_vector_store(cfg, tmp_path, 16)
    assert isinstance(store, QdrantServerStore) and store.collection == "test_mem"
    store.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"provider": "qdrant"},
        {"provider": "qdrant", "url": "http://q:6333", "location": ":memory:"},
        {"provider": "qdrant", "url": "http://q:6333", "path": "/data/v"},
        {"provider": "edge", "url": "http://q:6333"},
        {"provider": "edge", "api_key": "k"},
        {"provider": "pgvector", "path": "/data/v"},
        {"provider": "pgvector", "location": ":memory:"},
        {"provider": "pgvector", "collection": "x" * 41},
        {"provider": "chroma"},
        {"collection": "bad name!"},
        {"unknown_option": 1},
    ],
    ids=repr,
)
def test_inconsistent_settings_are_rejected_at_start_up(fields):
    with pytest.raises(pydantic.ValidationError):
        VectorStoreConfig(**fields)


def test_the_api_key_and_the_url_are_not_printed():
    cfg = VectorStoreConfig(provider="qdrant", url="http://q:6333", api_key="s3cret")
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg.model_dump())
    assert cfg.api_key.get_secret_value() == "s3cret"
    pg = VectorStoreConfig(provider="pgvector", url="postgresql://u:s3cret@db/m")
    assert "s3cret" not in repr(pg) and pg.url.get_secret_value() == "postgresql://u:s3cret@db/m"


def test_provider_pgvector_opens_the_postgresql_store_in_its_collection_table(tmp_path, postgres_url):
    from memory_core.vector_store.pgvector import PgVectorStore

    cfg = VectorStoreConfig(provider="pgvector", url=postgres_url, collection="test_mem", idf="collection")
    with open_vector_store(cfg, tmp_path, 16) as store:
        assert isinstance(store, PgVectorStore) and store.table == "memproxy_test_mem"
        assert store.dims == 16 and store.scope_idf is False
    assert not (tmp_path / "vectors").exists()


def test_a_database_url_makes_pgvector_the_vector_store_unless_a_provider_is_named():
    from memory_core import MemoryConfig

    url = "postgresql://memproxy:s3cret@db:5432/memproxy"
    shared = MemoryConfig(database_url=url)
    assert shared.vector_store.provider == "pgvector"
    assert shared.vector_store.url.get_secret_value() == url and "s3cret" not in repr(shared)
    own = MemoryConfig(database_url=url, vector_store={"provider": "pgvector", "url": "postgresql://other/db"})
    assert own.vector_store.url.get_secret_value() == "postgresql://other/db"
    assert MemoryConfig(database_url=url, vector_store={"provider": "edge"}).vector_store.provider == "edge"
    qdrant = MemoryConfig(database_url=url, vector_store={"provider": "qdrant", "url": "http://q:6333"})
    assert qdrant.vector_store.provider == "qdrant"
    assert MemoryConfig().vector_store.provider == "edge"


def test_a_database_url_given_after_parsing_still_puts_the_vectors_in_postgresql():
    from memory_core import MemoryConfig

    cfg = MemoryConfig().model_copy(update={"database_url": pydantic.SecretStr("postgresql://db/m")})
    assert cfg.resolved_vector_store.provider == "pgvector"
    assert cfg.resolved_vector_store.url.get_secret_value() == "postgresql://db/m"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"vector_store": {"provider": "pgvector"}}, "needs a PostgreSQL URL"),
        ({"database_url": "postgresql://db/m", "vector_store": {"path": "/v"}}, "provider: edge"),
    ],
    ids=repr,
)
def test_shared_state_settings_that_cannot_work_are_rejected_with_what_to_do(fields, says):
    from memory_core import MemoryConfig

    with pytest.raises(pydantic.ValidationError, match=says):
        MemoryConfig(**fields)


def test_idf_scope_is_the_default_and_collection_reaches_both_stores(tmp_path):
    assert VectorStoreConfig().idf == "scope"
    with open_vector_store(VectorStoreConfig(), tmp_path, 16) as store:
        assert store.scope_idf is True
    with open_vector_store(VectorStoreConfig(idf="collection"), tmp_path / "b", 16) as store:
        assert store.scope_idf is False
    cfg = VectorStoreConfig(provider="qdrant", location=":memory:", idf="collection")
    with open_vector_store(cfg, tmp_path, 16) as store:
        assert store.scope_idf is False
    with pytest.raises(pydantic.ValidationError):
        VectorStoreConfig(idf="global")
