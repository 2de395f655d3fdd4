"""The shared-state mode: ``Memory({"database_url": ...})`` keeps vectors (pgvector) and
history in PostgreSQL, so several processes ("replicas") share one memory store. Runs
on a real PostgreSQL 16 + pgvector (the ``postgres_url`` fixture); skipped where
pgserver is not installed."""

from __future__ import annotations

import pytest

from memory_core import Memory
from memory_core.history_postgres import PostgresHistoryStore
from memory_core.vector_store.pgvector import PgVectorStore


@pytest.fixture
def replica(tmp_path, embedder, postgres_url):
    """``replica(name)``: a Memory on the shared database with a data directory of its own."""
    opened: list[Memory] = []

    def make(name: str = "a", **config) -> Memory:
        m = Memory({"data_dir": str(tmp_path / name), "database_url": postgres_url, **config}, embedder=embedder)
        opened.append(m)
        return m

    yield make
    for m in opened:
        m.close()


def test_a_database_url_puts_vectors_and_history_in_postgresql(replica, tmp_path):
    m = replica()
    assert isinstance(m._store, PgVectorStore) and isinstance(m._history, PostgresHistoryStore)
    m.add("我叫张三", user_id="zhangsan", infer=False)
    assert not (tmp_path / "a" / "vectors").exists() and not (tmp_path / "a" / "history.sqlite3").exists()


def test_add_search_update_delete_and_history_work_as_embedded_chinese_included(replica):
    m = replica()
    for text in ("你好，我叫张三", "我喜欢打篮球", "我住在北京海淀区", "我明天要去上海出差"):
        m.add(text, user_id="zhangsan")
    mid = m.add("我不能吃辣", user_id="zhangsan")["results"][0]["id"]

    found = m.search("我是谁？", user_id="zhangsan")["results"]
    assert found[0]["memory"] == "你好，我叫张三" and 0.5 <= found[0]["score"] <= 1.0
    assert m.search("推荐一些四川菜", user_id="zhangsan", threshold=0.0)["results"][0]["id"] == mid
    listed = m.get_all(user_id="zhangsan", page_size=2)
    assert listed["total"] == 5 and [r["memory"] for r in listed["results"]] == ["我不能吃辣", "我明天要去上海出差"]

    assert m.update(mid, "我现在能吃一点辣", tags=["饮食"])["memory"] == "我现在能吃一点辣"
    assert m.get_all(user_id="zhangsan", tags=["饮食"])["results"][0]["id"] == mid
    m.delete(mid)
    assert m.get(mid) is None
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in m.history(mid)] == [
        ("ADD", None, "我不能吃辣"), ("UPDATE", "我不能吃辣", "我现在能吃一点辣"), ("DELETE", "我现在能吃一点辣", None)]
    assert m.history(mid)[-1]["is_deleted"] is True and m.history(mid)[0]["is_deleted"] is False

    assert m.delete_all(user_id="zhangsan")["deleted"] == 4
    assert m.get_all(user_id="zhangsan")["total"] == 0


def test_a_follow_up_leans_on_its_conversation_on_pgvector_too(replica):
    m = replica()
    for text in ("My daughter is in the city piano competition next month",
                 "My son is in the school football tournament next month", "I work at a bank"):
        m.add(text, user_id="en", infer=False)
    question = "What should I pack for the competition day?"
    alone = {r["memory"]: r["score"] for r in m.search(question, user_id="en", threshold=0)["results"]}
    found = m.search(question, user_id="en", threshold=0,
                     context=["My son plays football after school every day", "His coach is really strict"])["results"]
    in_context = {r["memory"]: r["score"] for r in found}
    son = "My son is in the school football tournament next month"
    assert in_context[son] > alone[son] + 0.02 and max(in_context, key=in_context.get) == son


def test_two_replicas_see_each_others_memories_and_history(replica):
    a, b = replica("a"), replica("b")
    mid = a.add("I am allergic to peanuts", user_id="alice", infer=False)["results"][0]["id"]

    assert b.search("what am I allergic to?", user_id="alice")["results"][0]["id"] == mid
    b.update(mid, "I am allergic to peanuts and shellfish")
    assert a.get(mid)["memory"] == "I am allergic to peanuts and shellfish"
    assert [h["event"] for h in a.history(mid)] == ["ADD", "UPDATE"]

    assert b.add("I am allergic to peanuts and shellfish", user_id="alice")["results"][0]["event"] == "NONE"
    a.delete(mid)
    assert b.get(mid) is None and b.get_all(user_id="alice")["total"] == 0
    assert [h["event"] for h in b.history(mid)] == ["ADD", "UPDATE", "DELETE"]


def test_a_conversation_added_on_one_replica_is_ranked_the_same_on_the_other(replica):
    a, b = replica("a"), replica("b")
    for text in ("I go hiking in the mountains most weekends", "My sister lives in Toronto with her two cats",
                 "I work as a nurse at the city hospital"):
        a.add(text, user_id="u1", infer=False)
    a.add([{"role": "user", "content": "Which city did you move to after college?"},
           {"role": "assistant", "content": "Lisbon. We still love it there."}],
          user_id="u1", infer=False, timestamp="2023-05-08")

    def ranked(m):
        return [(r["memory"], r["score"]) for r in m.search("where do they live now, in May 2023?", user_id="u1",
                                                            threshold=0.0)["results"]]

    assert ranked(a) == ranked(b)
    assert "Lisbon. We still love it there." in [text for text, _ in ranked(b)[:2]]


def test_reset_on_one_replica_clears_every_tenant_for_all(replica):
    a, b = replica("a"), replica("b")
    mid = a.add("fact one", user_id="u1", infer=False)["results"][0]["id"]
    a.add("fact two", user_id="u2", infer=False, tenant="other")
    b.reset()
    assert a.get_all(user_id="u1")["total"] == 0 and a.get_all(user_id="u2", tenant="other")["total"] == 0
    assert a.history(mid) == []


def test_text_postgresql_cannot_hold_comes_back_exactly(replica):
    m = replica()
    mid = m.add("before\x00after \ue000 marked", user_id="u1", infer=False, metadata={"k": "v\x00"})["results"][0]["id"]
    item = m.get(mid)
    assert item["memory"] == "before\x00after \ue000 marked" and item["metadata"] == {"k": "v\x00"}
    assert m.get_all(user_id="u1", filters={"k": "v\x00"})["total"] == 1
    assert m.history(mid)[0]["new_memory"] == "before\x00after \ue000 marked"
    assert m.ready()


def test_an_explicit_embedded_vector_store_keeps_vectors_local_and_history_shared(replica, tmp_path):
    a = replica("a", vector_store={"provider": "edge"})
    mid = a.add("local vectors", user_id="u1", infer=False)["results"][0]["id"]
    assert (tmp_path / "a" / "vectors").is_dir() and not (tmp_path / "a" / "history.sqlite3").exists()
    assert [h["event"] for h in replica("b").history(mid)] == ["ADD"]
