"""The history stores, SQLite (embedded) and PostgreSQL (shared-state mode): the same rows,
in the same order, from the same calls."""

from __future__ import annotations

import threading
import uuid

import pytest

from memory_core.history import HistoryStore


@pytest.fixture(params=["sqlite", "postgres"])
def history(request, tmp_path):
    if request.param == "sqlite":
        store = HistoryStore(tmp_path / "history.sqlite3")
    else:
        from memory_core.history_postgres import PostgresHistoryStore

        store = PostgresHistoryStore(request.getfixturevalue("postgres_url"))
    yield store
    store.close()


def event(memory_id: str, kind: str = "ADD", text: str = "x", tenant: str = "t") -> dict:
    return {"memory_id": memory_id, "tenant": tenant, "event": kind, "old_memory": None if kind == "ADD" else text,
            "new_memory": None if kind == "DELETE" else text, "actor_id": "alice", "role": "user",
            "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-01-01T00:00:00.000000Z"}


def test_events_of_a_memory_come_back_oldest_first_with_every_field(history):
    mid = uuid.uuid4().hex
    history.record([event(mid, "ADD", "a")])
    history.record([event(mid, "UPDATE", "b"), event(uuid.uuid4().hex)])
    history.record([event(mid, "DELETE", "b")])

    rows = history.for_memory(mid, "t")
    assert [r["event"] for r in rows] == ["ADD", "UPDATE", "DELETE"]
    assert [r["is_deleted"] for r in rows] == [False, False, True]
    assert set(rows[0]) == {"id", "memory_id", "old_memory", "new_memory", "event", "actor_id", "role",
                            "created_at", "updated_at", "is_deleted"}
    assert rows[0]["memory_id"] == mid and rows[0]["actor_id"] == "alice"
    assert history.for_memory(mid, "another tenant") == []


def test_concurrent_writers_lose_no_event_and_keep_each_writers_order(history):
    mids = [uuid.uuid4().hex for _ in range(4)]

    def write(mid: str) -> None:
        for i in range(20):
            history.record([event(mid, "UPDATE", f"v{i}")])

    threads = [threading.Thread(target=write, args=(m,)) for m in mids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for mid in mids:
        assert [r["new_memory"] for r in history.for_memory(mid, "t")] == [f"v{i}" for i in range(20)]


def test_imported_events_keep_their_ids_and_an_import_run_twice_adds_nothing(history):
    mid = uuid.uuid4().hex
    exported = [{**event(mid, "ADD", "a"), "id": "e1", "is_deleted": 0},
                {**event(mid, "DELETE", "a"), "id": "e2", "is_deleted": 1}]
    history.import_events(exported)
    history.import_events(exported)
    rows = history.for_memory(mid, "t")
    assert [(r["id"], r["event"], r["is_deleted"]) for r in rows] == [("e1", "ADD", False), ("e2", "DELETE", True)]


def test_reset_forgets_every_event(history):
    mid = uuid.uuid4().hex
    history.record([event(mid)])
    history.reset()
    assert history.for_memory(mid, "t") == []
