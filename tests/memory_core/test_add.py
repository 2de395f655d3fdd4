"""add(): input shapes, verbatim storage, duplicates, and bad input."""

import pytest

from memory_core import ContentTooLongError, MissingScopeError, ValidationError


def test_add_without_inference_stores_each_message_with_its_role(memory):
    out = memory.add(
        [{"role": "system", "content": "be nice"},
         {"role": "user", "content": "I moved to Berlin"},
         {"role": "assistant", "content": "Berlin is lovely in spring"}],
        user_id="u1", infer=False,
    )["results"]

    assert [r["event"] for r in out] == ["ADD", "ADD"]
    assert all(r["id"].startswith("mem_") and len(r["id"]) == 36 for r in out)
    stored = memory.get_all(user_id="u1")["results"]
    assert {(s["memory"], s["role"]) for s in stored} == {
        ("I moved to Berlin", "user"), ("Berlin is lovely in spring", "assistant")}


def test_a_memory_item_carries_every_documented_field(memory):
    mid = memory.add("I like tea", user_id="u1", agent_id="a1", run_id="r1",
                     tags=["drinks"], metadata={"source": "chat"}, infer=False)["results"][0]["id"]
    item = memory.get(mid)
    assert set(item) >= {"id", "memory", "hash", "user_id", "agent_id", "run_id", "role", "tags",
                         "metadata", "created_at", "updated_at"}
    assert (item["user_id"], item["agent_id"], item["run_id"]) == ("u1", "a1", "r1")
    assert item["tags"] == ["drinks"] and item["metadata"] == {"source": "chat"}
    assert item["created_at"].endswith("Z")


def test_content_parts_keep_text_and_image_references(memory):
    out = memory.add([{"role": "user", "content": [
        {"type": "text", "text": "This is my dog Rex"},
        {"type": "image_url", "image_url": {"url": "https://example.com/rex.jpg"}},
    ]}], user_id="u1", infer=False)["results"]

    item = memory.get(out[0]["id"])
    assert item["memory"] == "This is my dog Rex"
    assert item["metadata"]["images"] == ["https://example.com/rex.jpg"]


def test_exact_duplicate_never_creates_a_second_memory(memory):
    first = memory.add("I live in Paris", user_id="u1", infer=False)["results"][0]
    second = memory.add("I live in Paris", user_id="u1", infer=False)["results"][0]

    assert second == {"id": first["id"], "memory": "I live in Paris", "event": "NONE"}
    assert memory.get_all(user_id="u1")["total"] == 1


def test_same_text_for_another_user_is_a_separate_memory(memory):
    memory.add("I live in Paris", user_id="u1", infer=False)
    memory.add("I live in Paris", user_id="u2", infer=False)
    assert memory.get_all(user_id="u2")["total"] == 1


def test_raw_mode_without_llm_stores_user_messages_and_skips_near_duplicates(memory):
    memory.add([{"role": "user", "content": "我叫张三"},
                {"role": "assistant", "content": "你好张三！"}], user_id="zs")
    again = memory.add("我叫张三。", user_id="zs")["results"]

    stored = memory.get_all(user_id="zs")["results"]
    assert [s["memory"] for s in stored] == ["我叫张三"]
    assert again[0]["event"] == "NONE"


@pytest.mark.parametrize("bad", ["", "   ", [], {"role": "user", "content": ""}, 42,
                                 [{"role": "wizard", "content": "hi"}],
                                 [{"role": "user", "content": [{"type": "text", "text": 5}]}]])
def test_unusable_messages_are_a_validation_error_and_store_nothing(memory, bad):
    with pytest.raises(ValidationError):
        memory.add(bad, user_id="u1")
    assert memory.get_all(user_id="u1")["total"] == 0


def test_huge_content_is_refused_with_the_limit_in_the_message(memory):
    with pytest.raises(ContentTooLongError, match="10000"):
        memory.add("x" * 10_001, user_id="u1")
    assert memory.get_all(user_id="u1")["total"] == 0


@pytest.mark.parametrize("ids", [{}, {"user_id": ""}, {"user_id": "  "}, {"user_id": 7},
                                 {"user_id": "a\x00b"}, {"agent_id": "x" * 129}])
def test_every_write_needs_a_sane_subject(memory, ids):
    with pytest.raises(MissingScopeError):
        memory.add("hello", **ids)


@pytest.mark.parametrize("kwargs", [{"tags": "a,b"}, {"tags": [""]}, {"metadata": []},
                                    {"metadata": {"a.b": 1}}, {"metadata": {"x": float("nan")}}])
def test_bad_tags_or_metadata_are_refused(memory, kwargs):
    with pytest.raises(ValidationError):
        memory.add("hello", user_id="u1", **kwargs)
