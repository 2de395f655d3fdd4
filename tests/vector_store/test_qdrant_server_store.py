"""What only the Qdrant server adapter does: it adopts an existing collection after
checking its vector size, and asks the server for the payload indexes queries need.
Runs on qdrant-client's in-process mode; a real server is not available here."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from memory_core.errors import DimensionMismatchError
from memory_core.vector_store import MemoryFilter, StoreLayoutError
from memory_core.vector_store.qdrant_server import QdrantServerStore

DIMS = 32


class RecordingClient(QdrantClient):
    def __init__(self) -> None:
        super().__init__(location=":memory:")
        self.indexes: dict[str, object] = {}

    def create_payload_index(self, collection_name, field_name, field_schema=None, **kwargs):
        self.indexes[field_name] = field_schema
        return super().create_payload_index(collection_name, field_name, field_schema=field_schema, **kwargs)


def test_creates_the_collection_with_every_payload_index_queries_need():
    client = RecordingClient()
    QdrantServerStore(DIMS, client=client, collection="mem")

    assert set(client.indexes) == {"tenant", "user_id", "agent_id", "run_id", "hash", "tags", "created_ts"}
    assert client.indexes["tenant"].is_tenant is True
    assert client.indexes["created_ts"].range is True  # a server refuses order_by without it
    params = client.get_collection("mem").config.params
    assert set(params.vectors) == {"", "ctx"}
    for dense in params.vectors.values():
        assert dense.size == DIMS and dense.distance == models.Distance.COSINE
    assert set(params.sparse_vectors) == {"bm25", "bm25_ctx"}
    assert all(v.modifier == models.Modifier.IDF for v in params.sparse_vectors.values())


def test_adopts_an_existing_collection_and_keeps_its_points(make_payload):
    client = QdrantClient(location=":memory:")
    first = QdrantServerStore(DIMS, client=client)
    pid = str(uuid.uuid4())
    first.upsert([(pid, np.ones(DIMS) / np.sqrt(DIMS), make_payload())])

    second = QdrantServerStore(DIMS, client=client)
    assert [p.id for p in second.retrieve([pid])] == [pid]


def test_an_existing_collection_of_another_size_is_refused_with_both_sizes():
    client = QdrantClient(location=":memory:")
    QdrantServerStore(DIMS, client=client, collection="mem")
    with pytest.raises(DimensionMismatchError) as caught:
        QdrantServerStore(768, client=client, collection="mem")
    message = str(caught.value)
    assert f"{DIMS}-dimensional" in message and "768-dimensional" in message and "'mem'" in message


def test_a_collection_with_other_named_vectors_is_refused():
    client = QdrantClient(location=":memory:")
    client.create_collection("mem", vectors_config={"text": models.VectorParams(size=DIMS, distance=models.Distance.COSINE)})
    with pytest.raises(StoreLayoutError, match="another collection name"):
        QdrantServerStore(DIMS, client=client, collection="mem")


def test_a_collection_of_the_old_single_vector_layout_is_refused_with_what_to_do():
    client = QdrantClient(location=":memory:")
    client.create_collection("mem", vectors_config=models.VectorParams(size=DIMS, distance=models.Distance.COSINE))
    with pytest.raises(StoreLayoutError) as caught:
        QdrantServerStore(DIMS, client=client, collection="mem")
    assert "'bm25'" in str(caught.value) and "re-add the memories" in str(caught.value)


def test_an_old_layout_collection_of_another_size_reports_the_size_first():
    client = QdrantClient(location=":memory:")
    client.create_collection("mem", vectors_config=models.VectorParams(size=768, distance=models.Distance.COSINE))
    with pytest.raises(DimensionMismatchError, match="768-dimensional"):
        QdrantServerStore(DIMS, client=client, collection="mem")


def test_collections_are_independent(make_payload):
    client = QdrantClient(location=":memory:")
    a = QdrantServerStore(DIMS, client=client, collection="a")
    b = QdrantServerStore(DIMS, client=client, collection="b")
    a.upsert([(str(uuid.uuid4()), np.ones(DIMS) / np.sqrt(DIMS), make_payload())])
    assert b.count(MemoryFilter(tenant="acme")) == 0
