"""The behaviour every VectorStore adapter promises, run on Qdrant Edge (a temp dir),
on qdrant-client's in-process ``:memory:`` mode (standing in for a server) and on
pgvector in a real PostgreSQL (skipped where pgserver is not installed)."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from memory_core.errors import DimensionMismatchError, ValidationError
from memory_core.vector_store import MemoryFilter

from conftest import precision

ACME = MemoryFilter(tenant="acme")
ALICE = MemoryFilter(tenant="acme", user_id="alice")


def ids_of(points) -> list[str]:
    return [p.id for p in points]


# -- upsert, search, retrieve -------------------------------------------------------


def test_search_returns_nearest_points_best_first_with_raw_cosine_scores(store, seed):
    ids = seed.add_many([{"ts": i} for i in range(20)])
    query = seed.vectors[ids[7]]

    hits = store.search(query, ALICE, limit=5)

    assert hits[0].id == ids[7]
    expected = sorted((float(np.dot(query, seed.vectors[i])) for i in ids), reverse=True)[:5]
    assert [h.score for h in hits] == pytest.approx(expected, abs=precision(store))
    assert hits[0].payload["user_id"] == "alice"


def test_search_returns_at_most_limit_points(store, seed):
    seed.add_many([{"ts": i} for i in range(12)])
    assert len(store.search(seed.vectors[next(iter(seed.vectors))], ALICE, limit=3)) == 3
    assert store.search(seed.vectors[next(iter(seed.vectors))], ALICE, limit=0) == []


def test_upsert_replaces_the_point_with_the_same_id(store, make_vectors, make_payload):
    pid = str(uuid.uuid4())
    first, second = make_vectors(2, seed=1)
    store.upsert([(pid, first, make_payload(text="old"))])
    store.upsert([(pid, second, make_payload(text="new"))])

    [point] = store.retrieve([pid], with_vectors=True)
    assert point.payload["memory"] == "new"
    np.testing.assert_allclose(point.vector, second, atol=precision(store))
    assert store.count(ALICE) == 1


def test_retrieve_returns_existing_points_in_requested_order_and_skips_unknown_ids(store, seed):
    a, b = seed.add_many([{"ts": 1}, {"ts": 2}])
    found = store.retrieve([b, str(uuid.uuid4()), "not-a-uuid", a])
    assert ids_of(found) == [b, a]
    assert all(p.vector is None and p.score is None for p in found)


def test_retrieve_ignores_the_tenant_so_callers_can_check_it(store, seed):
    other = seed.add(tenant="globex")
    assert store.retrieve([other])[0].payload["tenant"] == "globex"


def test_ids_come_back_as_canonical_uuid_strings(store, make_vectors, make_payload):
    pid = uuid.uuid4()
    store.upsert([(str(pid).upper(), make_vectors(1)[0], make_payload())])
    [point] = store.retrieve([str(pid)])
    assert point.id == str(pid) and type(point.id) is str
    assert store.search(make_vectors(1)[0], ALICE, 1)[0].id == str(pid)
    assert store.list(ALICE, 0, 1)[0].id == str(pid)


def test_upsert_rejects_ids_that_are_not_uuids(store, make_vectors, make_payload):
    with pytest.raises(ValidationError, match="not a UUID"):
        store.upsert([("memory-1", make_vectors(1)[0], make_payload())])


def test_vectors_of_another_size_are_refused(store, make_vectors, make_payload):
    wrong = make_vectors(1, dims=store.dims + 1)[0]
    with pytest.raises(DimensionMismatchError):
        store.upsert([(str(uuid.uuid4()), wrong, make_payload())])
    with pytest.raises(DimensionMismatchError):
        store.search(wrong, ALICE, 3)


# -- list, count ----------------------------------------------------------------------


def test_list_returns_newest_first(store, seed):
    ids = seed.add_many([{"ts": ts} for ts in (30, 10, 50, 20, 40)])
    listed = store.list(ALICE, 0, 10)
    assert [p.payload["created_ts"] for p in listed] == [50, 40, 30, 20, 10]
    assert set(ids_of(listed)) == set(ids)


def test_list_pages_through_every_point_once(store, seed):
    seed.add_many([{"ts": ts} for ts in range(23)])
    pages = [store.list(ALICE, offset, 5) for offset in range(0, 25, 5)]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [p.payload["created_ts"] for page in pages for p in page]
    assert listed == list(range(22, -1, -1))
    assert store.list(ALICE, 30, 5) == []


def test_points_without_created_ts_are_counted_and_found_but_not_listed(store, make_vectors, make_payload):
    pid = str(uuid.uuid4())
    untimed = make_payload()
    del untimed["created_ts"]
    store.upsert([(pid, make_vectors(1)[0], untimed)])
    assert store.count(ALICE) == 1
    assert ids_of(store.search(make_vectors(1)[0], ALICE, 5)) == [pid]
    assert store.list(ALICE, 0, 5) == []


def test_list_and_search_reject_negative_pages(store):
    with pytest.raises(ValidationError, match="offset"):
        store.list(ALICE, -1, 5)
    with pytest.raises(ValidationError, match="limit"):
        store.list(ALICE, 0, -5)
    with pytest.raises(ValidationError, match="limit"):
        store.search(np.ones(store.dims) / np.sqrt(store.dims), ALICE, -1)


def test_count_counts_matching_points(store, seed):
    seed.add_many([{"ts": 1}, {"ts": 2}, {"user_id": "bob"}])
    assert store.count(ALICE) == 2
    assert store.count(ACME) == 3
    assert store.count(MemoryFilter(tenant="nobody")) == 0


# -- delete, delete_where, reset ------------------------------------------------------


def test_delete_removes_only_the_given_ids(store, seed):
    a, b, c = seed.add_many([{"ts": 1}, {"ts": 2}, {"ts": 3}])
    store.delete([a, c, str(uuid.uuid4()), "not-a-uuid"])
    assert ids_of(store.list(ALICE, 0, 10)) == [b]


def test_delete_where_deletes_matching_points_and_returns_their_ids(store, seed):
    alice = seed.add_many([{"ts": i} for i in range(3)])
    bob = seed.add(user_id="bob")

    deleted = store.delete_where(ALICE)

    assert sorted(deleted) == sorted(alice)
    assert ids_of(store.list(ACME, 0, 10)) == [bob]
    assert store.delete_where(ALICE) == []


def test_delete_where_handles_more_points_than_one_scroll_page(store, seed):
    seed.add_many([{"ts": i} for i in range(1205)])
    assert len(store.delete_where(ALICE)) == 1205
    assert store.count(ALICE) == 0


def test_reset_deletes_every_point_of_every_tenant(store, seed):
    seed.add_many([{"tenant": "acme"}, {"tenant": "globex"}, {"tenant": "initech", "user_id": "x"}])
    store.reset()
    for tenant in ("acme", "globex", "initech"):
        assert store.count(MemoryFilter(tenant=tenant)) == 0
    seed.add()
    assert store.count(ACME) == 1


# -- tenant isolation -----------------------------------------------------------------


def test_tenants_never_see_or_touch_each_other_even_with_identical_user_ids(store, seed):
    ours = seed.add_many([{"tenant": "acme", "ts": i} for i in range(3)])
    theirs = seed.add_many([{"tenant": "globex", "ts": i} for i in range(3)])
    alice_at_globex = MemoryFilter(tenant="globex", user_id="alice")

    for pid in theirs:
        assert set(ids_of(store.search(seed.vectors[pid], ALICE, 10))) == set(ours)
    assert set(ids_of(store.list(ALICE, 0, 10))) == set(ours)
    assert store.count(ALICE) == 3

    assert sorted(store.delete_where(ALICE)) == sorted(ours)
    assert sorted(ids_of(store.list(alice_at_globex, 0, 10))) == sorted(theirs)


# -- scope, tags, hash, created_ts ----------------------------------------------------


def test_user_agent_and_run_ids_each_restrict_when_given(store, seed):
    a = seed.add(user_id="alice", agent_id="travel", run_id="r1")
    b = seed.add(user_id="alice", agent_id="travel", run_id="r2")
    c = seed.add(user_id="alice", agent_id="support")
    d = seed.add(user_id=None, agent_id="travel")

    def matching(**scope):
        return sorted(ids_of(store.list(MemoryFilter(tenant="acme", **scope), 0, 10)))

    assert matching(user_id="alice") == sorted([a, b, c])
    assert matching(agent_id="travel") == sorted([a, b, d])
    assert matching(user_id="alice", agent_id="travel") == sorted([a, b])
    assert matching(user_id="alice", agent_id="travel", run_id="r2") == [b]


def test_tags_filter_requires_every_tag(store, seed):
    both = seed.add(tags=["work", "urgent"])
    seed.add(tags=["work"])
    seed.add(tags=["urgent"])
    seed.add(tags=[])
    assert ids_of(store.list(MemoryFilter(tenant="acme", tags=("work", "urgent")), 0, 10)) == [both]
    assert store.count(MemoryFilter(tenant="acme", tags=("work",))) == 2


def test_hash_filter_finds_the_exact_duplicate(store, seed):
    dup = seed.add(text="likes tea", hash="h-tea")
    seed.add(text="likes coffee", hash="h-coffee")
    assert ids_of(store.list(MemoryFilter(tenant="acme", user_id="alice", hash="h-tea"), 0, 1)) == [dup]


def test_created_after_is_inclusive_and_created_before_exclusive(store, seed):
    seed.add_many([{"ts": ts} for ts in (100, 200, 300, 400)])
    window = MemoryFilter(tenant="acme", created_after=200, created_before=400)
    assert [p.payload["created_ts"] for p in store.list(window, 0, 10)] == [300, 200]


# -- metadata -------------------------------------------------------------------------


def metadata_matches(store, seed_ids: dict[str, str], condition) -> set[str]:
    """Names (keys of ``seed_ids``) of the points the metadata condition keeps."""
    names = {pid: name for name, pid in seed_ids.items()}
    flt = MemoryFilter(tenant="acme", metadata=condition)
    listed = {names[p.id] for p in store.list(flt, 0, 100)}
    assert store.count(flt) == len(listed)
    return listed


@pytest.fixture(scope="module")
def catalog(shared_store, make_seeder) -> dict[str, str]:
    """Four memories of alice with varied metadata, in a store the tests only read."""
    rows = {
        "tea": {"lang": "en", "n": 1, "score": 0.5, "pinned": True, "due": "2024-05-01"},
        "cafe": {"lang": "fr", "n": 2, "score": 1.5, "pinned": False, "due": "2024-05-02T09:30:00+02:00"},
        "cha": {"lang": "zh", "n": 3, "score": 2.5, "due": "2024-05-03T00:00:00Z"},
        "bare": {},
    }
    ids = make_seeder(shared_store).add_many([{"metadata": m, "ts": i} for i, m in enumerate(rows.values())])
    return dict(zip(rows, ids))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"lang": "en"}, {"tea"}),
        ({"n": 2}, {"cafe"}),
        ({"score": 1.5}, {"cafe"}),
        ({"pinned": True}, {"tea"}),
        ({"pinned": False}, {"cafe"}),
        ({"lang": {"eq": "zh"}}, {"cha"}),
        ({"lang": "en", "n": 1}, {"tea"}),
        ({"lang": "en", "n": 2}, set()),
        ({"lang": {"in": ["en", "zh"]}}, {"tea", "cha"}),
        ({"n": {"in": [1, 3]}}, {"tea", "cha"}),
        ({"score": {"in": [0.5, 2.5]}}, {"tea", "cha"}),
        ({"lang": {"nin": ["en", "zh"]}}, {"cafe", "bare"}),
        ({"lang": {"ne": "en"}}, {"cafe", "cha", "bare"}),
        ({"n": {"ne": 2}}, {"tea", "cha", "bare"}),
        ({"n": {"gte": 2}}, {"cafe", "cha"}),
        ({"n": {"gt": 1, "lt": 3}}, {"cafe"}),
        ({"score": {"lte": 1.5}}, {"tea", "cafe"}),
        ({"n": {"gte": 2, "ne": 3}}, {"cafe"}),
    ],
    ids=repr,
)
def test_metadata_conditions_select_the_expected_memories(shared_store, catalog, condition, expected):
    assert metadata_matches(shared_store, catalog, condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"due": {"gte": "2024-05-02"}}, {"cafe", "cha"}),
        ({"due": {"gte": "2024-05-02T08:00:00Z"}}, {"cha"}),  # 09:30+02:00 is 07:30Z
        ({"due": {"lt": "2024-05-02T09:30:00+02:00"}}, {"tea"}),
        ({"due": {"lte": "2024-05-02T07:30:00"}}, {"tea", "cafe"}),  # no zone: UTC
        ({"due": {"gt": "2024-05-01", "lt": "2024-05-03"}}, {"cafe"}),
    ],
    ids=repr,
)
def test_metadata_date_ranges_compare_iso_dates_across_time_zones(shared_store, catalog, condition, expected):
    assert metadata_matches(shared_store, catalog, condition) == expected


@pytest.mark.parametrize(
    "condition",
    [
        {"lang": {"like": "e%"}},
        {"lang": {}},
        {"lang": None},
        {"lang": ["en", "fr"]},
        {"lang": {"in": "en"}},
        {"lang": {"in": []}},
        {"n": {"gte": "tomorrow"}},
        {"n": {"gte": 1, "lt": "2024-01-01"}},
        {"n": {"gte": True}},
        {"n": {"gte": float("nan")}},
        {"lang": {"eq": {"nested": "garbage"}}},
        {"a.b": "x"},
        {"tags[0]": "x"},
        {"": "x"},
        {"x" * 65: "x"},
    ],
    ids=repr,
)
def test_invalid_metadata_filters_raise_validation_error_on_every_operation(shared_store, catalog, condition):
    store = shared_store
    flt = MemoryFilter(tenant="acme", metadata=condition)
    for operation in (
        lambda: store.search(np.ones(store.dims) / np.sqrt(store.dims), flt, 5),
        lambda: store.list(flt, 0, 5),
        lambda: store.count(flt),
        lambda: store.delete_where(flt),
    ):
        with pytest.raises(ValidationError):
            operation()
    assert store.count(ACME) == len(catalog)  # nothing deleted


# -- concurrency ----------------------------------------------------------------------


def test_concurrent_writers_and_readers_lose_nothing(store, make_vectors, make_payload):
    def writer(worker: int) -> None:
        vectors = make_vectors(50, seed=worker)
        for i, v in enumerate(vectors):
            store.upsert([(str(uuid.uuid4()), v, make_payload(ts=worker * 100 + i))])

    def reader() -> None:
        for _ in range(30):
            store.search(make_vectors(1, seed=99)[0], ALICE, 5)
            store.list(ALICE, 0, 5)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count(ALICE) == 200


# -- hybrid search (dense + ctx + BM25 sparse, RRF, neighbour smoothing) ---------------


def hybrid_point(store, text, dense, ctx=None, ctx_text=None, **fields):
    from memory_core.vector_store import Vectors
    from memory_core.vector_store.sparse import sparse_document

    from tests.vector_store.conftest import payload

    pid = str(uuid.uuid4())
    vectors = Vectors(dense, ctx, sparse_document(text), sparse_document(ctx_text or text, 32))
    return pid, vectors, payload(text=text, **fields)


def hybrid_query(dense, text):
    from memory_core.vector_store import QueryVectors
    from memory_core.vector_store.sparse import sparse_query

    return QueryVectors(dense, sparse_query(text))


def test_hybrid_search_finds_a_keyword_match_the_dense_vectors_miss(store, make_vectors):
    vectors = make_vectors(12, seed=5)
    query = vectors[0]
    texts = [f"ordinary remark number {i}" for i in range(11)] + ["my locker code is Zorblax 4471"]
    points = [hybrid_point(store, t, v) for t, v in zip(texts, vectors)]
    store.upsert(points)
    # dense alone ranks the keyword memory nowhere near the top
    assert points[11][0] not in ids_of(store.search(query, ALICE, 2))
    hits = store.search(hybrid_query(query, "what is the Zorblax code?"), ALICE, 2)
    assert points[11][0] in ids_of(hits)


def test_hybrid_scores_are_the_max_cosine_to_the_plain_and_ctx_vectors(store, make_vectors):
    v = make_vectors(6, seed=6)
    points = [hybrid_point(store, f"note {i}", v[i], ctx=v[i + 3]) for i in range(3)]
    store.upsert(points)
    q = make_vectors(1, seed=7)[0]
    hits = store.search(hybrid_query(q, "note"), ALICE, 3)
    assert len(hits) == 3
    expected = {pid: max(float(np.dot(q, vec.dense)), float(np.dot(q, vec.ctx_dense))) for pid, vec, _ in points}
    for h in hits:
        assert h.score == pytest.approx(expected[h.id], abs=precision(store))
        assert h.payload["memory"].startswith("note")


def test_hybrid_search_pulls_in_the_neighbour_of_a_strong_hit(store, make_vectors):
    vectors = make_vectors(30, seed=8)
    texts = [f"filler sentence {i} about nothing" for i in range(30)]
    texts[10] = "Where did you travel in spring? Kyoto again?"
    texts[11] = "Yes, we went there in April."
    points = [hybrid_point(store, t, v) for t, v in zip(texts, vectors)]
    points[10][2]["next"] = points[11][0]
    points[11][2]["prev"] = points[10][0]
    store.upsert(points)
    q = vectors[10] * 0.7 + vectors[11] * 0.3
    q /= np.linalg.norm(q)
    top = ids_of(store.search(hybrid_query(q, "travel to Kyoto in spring"), ALICE, 2))
    assert top == [points[10][0], points[11][0]]


def test_hybrid_search_respects_tenant_scope_and_filters(store, make_vectors):
    v = make_vectors(3, seed=9)
    ours = hybrid_point(store, "Zorblax at acme", v[0], tags=["x"])
    theirs = hybrid_point(store, "Zorblax at globex", v[1], tenant="globex")
    untagged = hybrid_point(store, "Zorblax untagged", v[2])
    store.upsert([ours, theirs, untagged])
    q = hybrid_query(v[1], "Zorblax")
    assert set(ids_of(store.search(q, ALICE, 10))) == {ours[0], untagged[0]}
    assert ids_of(store.search(q, MemoryFilter(tenant="acme", tags=("x",)), 10)) == [ours[0]]
    assert store.search(q, ALICE, 0) == []
    with pytest.raises(DimensionMismatchError):
        store.search(hybrid_query(make_vectors(1, dims=store.dims + 1)[0], "Zorblax"), ALICE, 3)


def test_points_written_with_a_bare_vector_are_found_by_the_hybrid_search(store, seed):
    ids = seed.add_many([{"ts": i} for i in range(5)])
    hits = store.search(hybrid_query(seed.vectors[ids[2]], "anything"), ALICE, 5)
    assert hits[0].id == ids[2] and hits[0].score == pytest.approx(1.0, abs=precision(store))
    assert set(ids_of(hits)) == set(ids)


def test_hybrid_search_with_collection_wide_idf_still_matches_keywords(store, make_vectors):
    store.scope_idf = False  # vector_store.idf: collection
    vectors = make_vectors(8, seed=11)
    texts = [f"plain remark {i}" for i in range(7)] + ["the Zorblax key is under the mat"]
    points = [hybrid_point(store, t, v) for t, v in zip(texts, vectors)]
    store.upsert(points + [hybrid_point(store, "Zorblax elsewhere", vectors[1], user_id="bob")])
    assert ids_of(store.search(hybrid_query(vectors[0], "Zorblax"), ALICE, 1)) == [points[7][0]]


def test_a_subjects_ranking_is_the_same_whether_or_not_others_share_the_store(store, make_vectors):
    # Alone in the store, a subject's scope conditions select every point (the Edge store
    # then leaves them out of the search); the answer must not depend on it.
    vectors = make_vectors(40, seed=12)
    texts = [f"remark {i} about the Zorblax garden and its {i % 7} roses" for i in range(30)]
    ours = [hybrid_point(store, t, v) for t, v in zip(texts, vectors)]
    store.upsert(ours)
    queries = [hybrid_query(vectors[30 + k], f"Zorblax roses {k}") for k in range(5)]
    alone = [[(h.id, round(h.score, 5)) for h in store.search(q, ALICE, 10)] for q in queries]
    dense_alone = [ids_of(store.search(q.dense, ALICE, 5)) for q in queries]
    others = [hybrid_point(store, f"Zorblax roses {k} of someone else", vectors[30 + k], user_id="bob")
              for k in range(5)]
    others += [hybrid_point(store, f"Zorblax roses {k} at another tenant", vectors[30 + k], tenant="globex")
               for k in range(5)]
    store.upsert(others)
    shared = [[(h.id, round(h.score, 5)) for h in store.search(q, ALICE, 10)] for q in queries]
    assert [sorted(a) for a in shared] == [sorted(a) for a in alone]
    assert [ids_of(store.search(q.dense, ALICE, 5)) for q in queries] == dense_alone


def test_a_subject_alone_in_the_store_never_gets_a_point_written_later_by_another(store, make_vectors):
    v = make_vectors(3, seed=13)
    ours = hybrid_point(store, "Zorblax mine", v[0])
    store.upsert([ours])
    assert ids_of(store.search(hybrid_query(v[1], "Zorblax"), ALICE, 10)) == [ours[0]]
    store.upsert([hybrid_point(store, "Zorblax theirs", v[1], user_id="bob"),
                  hybrid_point(store, "Zorblax elsewhere", v[2], tenant="globex")])
    q = hybrid_query(v[1], "Zorblax")
    assert ids_of(store.search(q, ALICE, 10)) == [ours[0]]
    assert ids_of(store.search(q.dense, ALICE, 10)) == [ours[0]]
    assert {h.payload["user_id"] for h in store.search(q, MemoryFilter(tenant="acme", user_id="bob"), 10)} == {"bob"}
