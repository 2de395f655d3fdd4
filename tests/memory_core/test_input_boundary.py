"""Input the store could not read back is refused at the library's boundary, for every
entry point (the server's routes call the same methods): too deep, too many values,
text that is not valid Unicode, numbers and dates no filter can hold."""

from __future__ import annotations

import pytest

from memory_core.errors import ValidationError

SURROGATE = "\ud800"


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_metadata_nested_past_the_limit_is_refused_and_nothing_is_written(memory):
    with pytest.raises(ValidationError, match="nested deeper"):
        memory.add("hello", user_id="u", metadata=nested(126), infer=False)
    assert memory.get_all(user_id="u")["total"] == 0
    memory.add("hello", user_id="u", metadata=nested(16), infer=False)  # the limit itself is fine
    assert memory.get_all(user_id="u")["results"][0]["metadata"] == nested(16)


def test_metadata_with_too_many_values_is_refused(memory):
    with pytest.raises(ValidationError, match="more than"):
        memory.add("hello", user_id="u", metadata={"k": list(range(3000))}, infer=False)


@pytest.mark.parametrize("where", ["metadata", "tag", "message", "query", "update", "filters"])
def test_a_lone_surrogate_is_refused_wherever_text_enters(memory, where):
    mid = memory.add("clean text", user_id="u", infer=False)["results"][0]["id"]
    calls = {
        "metadata": lambda: memory.add("x", user_id="u", metadata={"k": SURROGATE}, infer=False),
        "tag": lambda: memory.add("x", user_id="u", tags=[f"t{SURROGATE}"], infer=False),
        "message": lambda: memory.add([{"role": "user", "content": f"hi {SURROGATE}"}], user_id="u", infer=False),
        "query": lambda: memory.search(f"what {SURROGATE}", user_id="u"),
        "update": lambda: memory.update(mid, f"new {SURROGATE}"),
        "filters": lambda: memory.get_all(user_id="u", filters={"k": SURROGATE}),
    }
    with pytest.raises(ValidationError, match="Unicode"):
        calls[where]()
    assert [m["memory"] for m in memory.get_all(user_id="u")["results"]] == ["clean text"]


@pytest.mark.parametrize("bound", [{"gte": 10**400}, {"lte": "9999-12-31T23:59:59-12:00"}])
def test_filter_bounds_no_store_can_hold_are_refused(memory, bound):
    with pytest.raises(ValidationError, match="out of range"):
        memory.search("anything", user_id="u", filters={"n": bound})


def test_filters_nested_past_the_limit_are_refused(memory):
    with pytest.raises(ValidationError, match="nested deeper"):
        memory.get_all(user_id="u", filters=nested(50))


def test_a_subject_whose_stored_data_cannot_be_read_back_can_still_be_deleted(tmp_path, embedder):
    """Data an older version wrote without these checks (here: metadata nested 130 deep,
    put straight into the store) makes reads fail; deleting the subject still works."""
    from memory_core import Memory
    from memory_core.errors import UnreadableDataError
    from memory_core.items import point_id
    from memory_core.vector_store import VectorStoreConfig, open_vector_store

    store = open_vector_store(VectorStoreConfig(), tmp_path, embedder.dims)
    with Memory({"data_dir": str(tmp_path)}, embedder=embedder, vector_store=store) as memory:
        poisoned = memory.add("I like tea", user_id="u", infer=False)["results"][0]["id"]
        memory.add("I live in Lyon", user_id="u", infer=False)
        memory.add("I like coffee", user_id="someone-else", infer=False)
        [point] = store.retrieve([point_id(poisoned)], with_vectors=True)
        store.upsert([(point.id, point.vector, {**point.payload, "metadata": nested(130)})])
        with pytest.raises(UnreadableDataError, match="delete"):
            memory.get_all(user_id="u")

        assert memory.delete_all(user_id="u")["deleted"] == 2
        assert memory.get_all(user_id="u")["total"] == 0
        assert [h["event"] for h in memory.history(poisoned)] == ["ADD", "DELETE"]
        assert memory.get_all(user_id="someone-else")["total"] == 1


@pytest.mark.parametrize("key", ["city\n", "ci.ty", "", "x" * 65, "名字"])
def test_a_metadata_key_outside_letters_digits_dash_and_underscore_is_refused(memory, key):
    with pytest.raises(ValidationError):
        memory.add("hello", user_id="u", metadata={key: 1}, infer=False)
    assert memory.get_all(user_id="u")["total"] == 0
