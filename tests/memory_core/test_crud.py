"""get / get_all / update / delete / delete_all / history / reset."""

import pytest

from memory_core import MemoryNotFoundError, MissingScopeError, ValidationError


def _add(memory, text, **kw):
    return memory.add(text, infer=False, **{"user_id": "u1", **kw})["results"][0]["id"]


def test_get_all_pages_newest_first_with_a_total(memory):
    ids = [_add(memory, f"fact number {i}") for i in range(5)]
    page1 = memory.get_all(user_id="u1", page=1, page_size=2)
    page3 = memory.get_all(user_id="u1", page=3, page_size=2)
    beyond = memory.get_all(user_id="u1", page=4, page_size=2)

    assert [r["id"] for r in page1["results"]] == ids[::-1][:2]
    assert [r["id"] for r in page3["results"]] == [ids[0]]
    assert page1["total"] == page3["total"] == 5
    assert beyond["results"] == []


def test_get_all_filters_by_tags(memory):
    _add(memory, "likes jazz", tags=["music"])
    _add(memory, "likes tennis", tags=["sport"])
    assert [r["memory"] for r in memory.get_all(user_id="u1", tags=["music"])["results"]] == [
        "likes jazz"]


def test_update_changes_text_and_is_recorded_in_history(memory):
    mid = _add(memory, "I live in Paris")
    updated = memory.update(mid, "I live in Lyon", tags=["home"])

    assert updated["memory"] == "I live in Lyon" and updated["tags"] == ["home"]
    assert memory.search("where do I live?", user_id="u1")["results"][0]["memory"] == "I live in Lyon"
    events = [(h["event"], h["old_memory"], h["new_memory"]) for h in memory.history(mid)]
    assert events == [("ADD", None, "I live in Paris"), ("UPDATE", "I live in Paris", "I live in Lyon")]


def test_delete_removes_the_memory_and_keeps_its_history(memory):
    mid = _add(memory, "temporary fact")
    assert memory.delete(mid)["id"] == mid
    assert memory.get(mid) is None
    assert [h["event"] for h in memory.history(mid)] == ["ADD", "DELETE"]
    assert memory.history(mid)[-1]["is_deleted"] is True


def test_unknown_ids(memory):
    unknown = "mem_" + "0" * 32
    assert memory.get(unknown) is None
    with pytest.raises(MemoryNotFoundError):
        memory.update(unknown, "x")
    with pytest.raises(MemoryNotFoundError):
        memory.delete(unknown)
    assert memory.history(unknown) == []


@pytest.mark.parametrize("bad", ["42", "mem_xyz", "mem_" + "0" * 31, "", "../etc/passwd"])
def test_malformed_ids_are_validation_errors(memory, bad):
    with pytest.raises(ValidationError):
        memory.delete(bad)


def test_another_tenants_memory_is_not_found_even_by_exact_id(memory):
    mid = _add(memory, "acme secret", tenant="acme")
    assert memory.get(mid, tenant="globex") is None
    with pytest.raises(MemoryNotFoundError):
        memory.update(mid, "hijacked", tenant="globex")
    with pytest.raises(MemoryNotFoundError):
        memory.delete(mid, tenant="globex")
    assert memory.history(mid, tenant="globex") == []
    assert memory.get(mid, tenant="acme")["memory"] == "acme secret"


def test_delete_all_is_scoped_and_never_global(memory):
    _add(memory, "u1 fact a")
    _add(memory, "u1 fact b")
    _add(memory, "u2 fact", user_id="u2")

    with pytest.raises(MissingScopeError):
        memory.delete_all()
    assert memory.delete_all(user_id="u1")["deleted"] == 2
    assert memory.get_all(user_id="u1")["total"] == 0
    assert memory.get_all(user_id="u2")["total"] == 1


def test_update_refuses_empty_or_huge_text(memory):
    mid = _add(memory, "something")
    with pytest.raises(ValidationError):
        memory.update(mid, "  ")
    with pytest.raises(ValidationError):
        memory.update(mid, "y" * 10_001)
    assert memory.get(mid)["memory"] == "something"


def test_reset_forgets_everything(memory):
    mid = _add(memory, "something")
    memory.reset()
    assert memory.get(mid) is None and memory.history(mid) == []


def test_entities_lists_the_tenants_subjects_with_counts(memory):
    _add(memory, "a")
    _add(memory, "b")
    _add(memory, "c", user_id="u2", agent_id="bot")
    _add(memory, "other tenant", tenant="acme")

    got = {(e["type"], e["name"]): e["total_memories"] for e in memory.entities()}

    assert got == {("user", "u1"): 2, ("user", "u2"): 1, ("agent", "bot"): 1}


def test_update_many_is_all_or_nothing(memory):
    import pytest

    from memory_core.errors import ValidationError

    a = memory.add("alpha", user_id="u", infer=False)["results"][0]["id"]
    b = memory.add("beta", user_id="u", infer=False)["results"][0]["id"]

    with pytest.raises(ValidationError):
        memory.update_many([{"memory_id": a, "data": "ALPHA"}, {"memory_id": b, "metadata": {"bad key": 1}}])
    assert memory.get(a)["memory"] == "alpha"

    done = memory.update_many([{"memory_id": a, "data": "ALPHA"}, {"memory_id": b, "metadata": {"k": 1}}])
    assert [d["memory"] for d in done] == ["ALPHA", "beta"] and memory.get(b)["metadata"] == {"k": 1}
