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
        {"provider": "chroma"},
        {"collection": "bad name!"},
        {"unknown_option": 1},
    ],
    ids=repr,
)
def test_inconsistent_settings_are_rejected_at_start_up(fields):
    with pytest.raises(pydantic.ValidationError):
        VectorStoreConfig(**fields)


def test_the_api_key_is_not_printed():
    cfg = VectorStoreConfig(provider="qdrant", url="http://q:6333", api_key="s3cret")
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg.model_dump())
    assert cfg.api_key.get_secret_value() == "s3cret"


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
