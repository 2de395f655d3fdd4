"""``scan``: every point of every tenant, with all its vectors, page by page (what
``memproxy export`` reads), so a store can be moved into another without losing anything."""

from __future__ import annotations

import uuid

import numpy as np

from memory_core.vector_store import Vectors
from memory_core.vector_store.base import SparseVector

from conftest import payload, precision, unit_vectors


def test_scan_pages_through_every_tenant_and_gives_back_what_was_stored(store):
    vectors = unit_vectors(25, seed=7)
    stored = {}
    for i, v in enumerate(vectors):
        pid = str(uuid.uuid4())
        point = Vectors(dense=v, ctx_dense=vectors[(i + 1) % 25],
                        sparse=SparseVector([i, 1000 + i], [0.5, 1.25]), ctx_sparse=SparseVector([i], [2.0]))
        stored[pid] = (point, payload(tenant=f"t{i % 3}", user_id=f"u{i}", text=f"fact {i}", ts=i))
    store.upsert([(pid, v, p) for pid, (v, p) in stored.items()])

    seen, offset, pages = {}, None, 0
    while True:
        page, offset = store.scan(offset, 10)
        pages += 1
        seen.update({p.id: p for p in page})
        if offset is None:
            break
    assert pages == 3 and seen.keys() == stored.keys()
    for pid, (point, p) in stored.items():
        got = seen[pid]
        assert got.payload["memory"] == p["memory"] and got.payload["tenant"] == p["tenant"]
        np.testing.assert_allclose(got.vectors.dense, point.dense, atol=precision(store))
        np.testing.assert_allclose(got.vectors.ctx_dense, point.ctx_dense, atol=precision(store))
        assert got.vectors.sparse.indices == point.sparse.indices
        np.testing.assert_allclose(got.vectors.sparse.values, point.sparse.values, atol=1e-6)
        assert got.vectors.ctx_sparse.indices == point.ctx_sparse.indices


def test_a_scanned_point_upserted_elsewhere_is_found_by_the_same_search(store, make_seeder):
    seed = make_seeder(store)
    ids = seed.add_many([{"text": f"m{i}"} for i in range(5)])
    page, _ = store.scan(None, 100)
    assert sorted(p.id for p in page) == sorted(ids)
    store.reset()
    store.upsert([(p.id, p.vectors, p.payload) for p in page])
    from memory_core.vector_store import MemoryFilter

    hits = store.search(seed.vectors[ids[2]], MemoryFilter(tenant="acme", user_id="alice"), 1)
    assert hits[0].id == ids[2]


def test_an_empty_store_scans_to_nothing(store):
    assert store.scan(None, 10) == ([], None)
