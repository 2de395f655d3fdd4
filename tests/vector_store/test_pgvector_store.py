"""What only the pgvector store does: its schema in PostgreSQL (migrated once, checked
on open), several processes on one table, text PostgreSQL cannot hold, and the same
hybrid ranking as the embedded Edge store. Runs on a real PostgreSQL 16 + pgvector 0.6
(the ``postgres_url`` fixture); skipped where pgserver is not installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest

from memory_core.errors import DimensionMismatchError
from memory_core.postgres import DatabaseError, connect, schema_version
from memory_core.vector_store import MemoryFilter, QueryVectors, StoreLayoutError, Vectors
from memory_core.vector_store.edge import EdgeVectorStore
from memory_core.vector_store.pgvector import PgVectorStore
from memory_core.vector_store.sparse import sparse_document, sparse_query

DIMS = 32
ALICE = MemoryFilter(tenant="acme", user_id="alice")


def test_the_schema_is_migrated_once_and_a_second_open_adopts_the_table(postgres_url, make_vectors, make_payload):
    first = PgVectorStore(DIMS, url=postgres_url)
    pid = str(uuid.uuid4())
    first.upsert([(pid, make_vectors(1)[0], make_payload())])
    first.close()

    with PgVectorStore(DIMS, url=postgres_url) as again:
        assert [p.id for p in again.retrieve([pid])] == [pid]
    pool = connect(postgres_url)
    try:
        assert schema_version(pool, "vectors:memories") == 2
        with pool.connection() as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'memproxy_%'")}
        assert {"memproxy_memories", "memproxy_memories_terms", "memproxy_memories_docs"} <= tables
    finally:
        pool.close()


def test_opening_with_another_embedding_size_names_both_sizes_and_the_table(postgres_url):
    PgVectorStore(DIMS, url=postgres_url).close()
    with pytest.raises(DimensionMismatchError) as caught:
        PgVectorStore(768, url=postgres_url)
    message = str(caught.value)
    assert f"{DIMS}-dimensional" in message and "768-dimensional" in message and "memproxy_memories" in message


def test_a_table_of_that_name_not_made_by_memproxy_is_refused(postgres_url):
    pool = connect(postgres_url)
    with pool.connection() as conn:
        conn.execute("CREATE TABLE memproxy_memories (id int)")
    pool.close()
    with pytest.raises(StoreLayoutError, match="another vector_store.collection"):
        PgVectorStore(DIMS, url=postgres_url)


def test_collections_are_independent_tables(postgres_url, make_vectors, make_payload):
    with PgVectorStore(DIMS, url=postgres_url, collection="a") as a, \
            PgVectorStore(DIMS, url=postgres_url, collection="b") as b:
        a.upsert([(str(uuid.uuid4()), make_vectors(1)[0], make_payload())])
        assert (a.count(ALICE), b.count(ALICE)) == (1, 0)


def test_two_processes_on_one_database_see_each_others_writes_at_once(postgres_url, make_vectors, make_payload):
    # Two stores, two pools: what two memproxy replicas hold.
    with PgVectorStore(DIMS, url=postgres_url) as one, PgVectorStore(DIMS, url=postgres_url) as other:
        pid = str(uuid.uuid4())
        one.upsert([(pid, make_vectors(1)[0], make_payload(ts=1))])
        assert other.search(make_vectors(1)[0], ALICE, 1)[0].id == pid
        other.set_payload(pid, {"next": "later"})
        assert one.retrieve([pid])[0].payload["next"] == "later"
        assert other.delete_where(ALICE) == [pid]
        assert one.count(ALICE) == 0


def test_an_unreachable_database_is_a_database_error_without_the_password(tmp_path):
    with pytest.raises(DatabaseError) as caught:
        PgVectorStore(DIMS, url=f"postgresql://memproxy:s3cret@/memproxy?host={tmp_path}&connect_timeout=1")
    assert "s3cret" not in str(caught.value)


def test_payloads_come_back_exactly_as_given_nul_characters_and_key_order_included(
        postgres_url, make_vectors, make_payload):
    payload = {**make_payload(text="a\x00b"), "zeta": 1, "alpha": {"b": 2, "a": [1.5, None, "x\x00"]}}
    payload["metadata"] = {"note": "with\x00nul", "n": 3}
    payload["tags"] = ["t\x00ag"]
    pid = str(uuid.uuid4())
    with PgVectorStore(DIMS, url=postgres_url) as store:
        store.upsert([(pid, make_vectors(1)[0], payload)])
        [point] = store.retrieve([pid])
        assert point.payload == payload and list(point.payload) == list(payload)
        assert list(point.payload["alpha"]) == ["b", "a"]
        found = MemoryFilter(tenant="acme", tags=("t\x00ag",), metadata={"note": "with\x00nul"})
        assert store.count(found) == 1
        assert store.count(MemoryFilter(tenant="acme", metadata={"note": "with"})) == 0
        assert store.count(MemoryFilter(tenant="\x00ready")) == 0


def test_scores_are_cosines_whatever_the_length_of_the_vectors_given(postgres_url, make_vectors, make_payload):
    v = make_vectors(2, seed=3)
    with PgVectorStore(DIMS, url=postgres_url) as store:
        pid = str(uuid.uuid4())
        store.upsert([(pid, v[0] * 7.0, make_payload())])
        [hit] = store.search(v[1] * 0.1, ALICE, 1)
        assert hit.score == pytest.approx(float(np.dot(v[0], v[1])), abs=1e-5)
        np.testing.assert_allclose(store.retrieve([pid], with_vectors=True)[0].vector, v[0], atol=1e-6)


# -- the same ranking as Edge -----------------------------------------------------------

WORDS = ("kyoto spring travel train ramen temple garden rain office meeting budget report piano lesson "
         "dog walk park coffee tea book novel movie cinema friend sister brother birthday cake").split()


def corpus(n: int, users: int, seed: int) -> list[tuple[str, Vectors, dict]]:
    """Points with real BM25 vectors of varied texts, spread over ``users`` users, with
    neighbour links inside each user's runs of five."""
    from tests.vector_store.conftest import payload, unit_vectors

    rng = np.random.default_rng(seed)
    dense, ctx = unit_vectors(n, seed=seed), unit_vectors(n, seed=seed + 1)
    points = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 9))))
        before = points[-1][2]["memory"] if i % 5 else ""
        p = payload(user_id=f"u{i % users}", text=text, ts=i)
        points.append((str(uuid.uuid4()), Vectors(dense[i], ctx[i], sparse_document(text),
                                                  sparse_document(f"{before}\n{text}", 32)), p))
    for a, b in zip(points, points[1:]):
        if a[2]["user_id"] == b[2]["user_id"]:
            a[2]["next"], b[2]["prev"] = b[0], a[0]
    return points


def ranking_overlap(ours, theirs, queries, k: int = 10) -> float:
    """Share of the top ``k`` ids both stores return, over hybrid queries on u0/u1;
    the scores of every memory both return are asserted equal on the way (to 1e-3: Edge
    stores float16 vectors, PostgreSQL float32)."""
    same = 0
    for i, q in enumerate(queries):
        query = QueryVectors(q, sparse_query(" ".join(WORDS[i:i + 3])))
        flt = MemoryFilter(tenant="acme", user_id=f"u{i % 2}")
        a, b = ours.search(query, flt, k), theirs.search(query, flt, k)
        scores = {h.id: h.score for h in b}
        assert all(h.score == pytest.approx(scores[h.id], abs=1e-3) for h in a if h.id in scores)
        same += len({h.id for h in a} & set(scores))
    return same / (k * len(queries))


@pytest.mark.parametrize("scope_idf", [True, False], ids=["idf scope", "idf collection"])
def test_hybrid_search_ranks_and_scores_as_the_edge_store_does(postgres_url, tmp_path, make_vectors, scope_idf):
    points = corpus(240, users=2, seed=21)
    with PgVectorStore(DIMS, url=postgres_url, scope_idf=scope_idf) as pg, \
            EdgeVectorStore(tmp_path / "edge", DIMS, scope_idf=scope_idf) as edge:
        for store in (pg, edge):
            store.upsert(points[:200])
            store.upsert(points[150:])  # replaces 50: their old terms must not count
        # Only ties are broken differently (equal BM25 scores of equal term sets, equal
        # RRF sums), which moves a memory in or out at the 10th place now and then.
        assert ranking_overlap(pg, edge, make_vectors(12, seed=77)) >= 0.97


def test_collection_wide_document_frequencies_follow_deletes_and_replacements(postgres_url, make_vectors):
    # Edge counts deleted points in its collection-wide IDF until the shard is optimized;
    # here the counts are exact: the store ranks as one that only ever held the survivors.
    points = corpus(240, users=2, seed=22)
    kept = [p for p in points[:200] if p not in points[:40]] + points[150:]
    kept = list({p[0]: p for p in kept}.values())
    with PgVectorStore(DIMS, url=postgres_url, scope_idf=False) as churned, \
            PgVectorStore(DIMS, url=postgres_url, collection="fresh", scope_idf=False) as fresh:
        churned.upsert(points[:200])
        churned.upsert(points[150:])
        churned.delete([p[0] for p in points[:30]])
        churned.delete_where(MemoryFilter(tenant="acme", created_after=30, created_before=40))
        fresh.upsert(kept)
        assert churned.total() == fresh.total() == len(kept)
        assert ranking_overlap(churned, fresh, make_vectors(12, seed=78)) == 1.0


def test_the_embedded_mode_never_imports_psycopg(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from memory_core import Memory, MemoryConfig
        from memory_core.history import open_history
        from memory_core.vector_store import open_vector_store
        cfg = MemoryConfig(data_dir=Path({str(tmp_path)!r}))
        open_vector_store(cfg.resolved_vector_store, cfg.data_dir, 8).close()
        open_history(cfg).close()
        assert not [m for m in sys.modules if m.startswith("psycopg")], "psycopg was imported"
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
