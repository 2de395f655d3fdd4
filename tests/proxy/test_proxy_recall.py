"""Subject resolution, per-request controls, and how memories are put into the prompt."""

from __future__ import annotations

import pytest

from proxy.config import InjectionConfig, WriterConfig
from proxy.errors import InvalidRequest
from proxy.injection import Injector, earlier_user_texts, insert_system, last_user_text
from proxy.subject import take_controls, take_subject


def test_body_ids_win_over_headers_and_are_removed():
    body = {"user_id": "body-user", "agent_id": "a1", "messages": []}
    subject = take_subject(body, {"x-memory-user-id": "header-user", "x-memory-run-id": "r9"}, "t1")
    assert (subject.tenant, subject.user_id, subject.agent_id, subject.run_id) == ("t1", "body-user", "a1", "r9")
    assert "user_id" not in body and "agent_id" not in body


def test_openais_user_field_is_the_fallback_and_stays_in_the_body():
    body = {"user": "u-42"}
    assert take_subject(body, {}, "t").user_id == "u-42"
    assert body == {"user": "u-42"}


def test_no_ids_means_no_subject():
    assert take_subject({"messages": []}, {}, "t") is None
    assert take_subject({"user": "  "}, {}, "t") is None


def test_a_non_string_id_is_rejected():
    with pytest.raises(InvalidRequest):
        take_subject({"user_id": 5}, {}, "t")


def test_controls_merge_body_headers_and_defaults():
    body = {"memory": {"write": False, "limit": 3}}
    controls = take_controls(body, {"x-memory-threshold": "0.7", "x-memory-write": "true"},
                             InjectionConfig(), WriterConfig())
    assert (controls.read, controls.write, controls.limit, controls.threshold) == (True, False, 3, 0.7)
    assert "memory" not in body


@pytest.mark.parametrize("memory", [{"read": "maybe"}, {"limit": 0}, {"threshold": 2}, {"other": 1}, "yes"])
def test_bad_controls_are_rejected(memory):
    with pytest.raises(InvalidRequest):
        take_controls({"memory": memory}, {}, InjectionConfig(), WriterConfig())


def test_the_memory_message_goes_after_leading_system_and_developer_messages():
    messages = [{"role": "system", "content": "a"}, {"role": "developer", "content": "b"},
                {"role": "user", "content": "c"}, {"role": "system", "content": "late"}]
    out = insert_system(messages, {"role": "system", "content": "M"})
    assert [m["content"] for m in out] == ["a", "b", "M", "c", "late"]
    assert len(messages) == 4  # the caller's list is not changed


def test_the_query_is_the_last_user_message_text():
    messages = [{"role": "user", "content": "old"}, {"role": "assistant", "content": "x"},
                {"role": "user", "content": [{"type": "text", "text": "new"}, {"type": "image_url", "image_url": {}}]}]
    assert last_user_text(messages) == "new"


def test_rendering_keeps_the_best_memories_within_the_budget():
    injector = Injector(InjectionConfig(max_tokens=30, preamble="Facts:"), count_tokens=lambda s: len(s.split()))
    results = [{"id": f"m{i}", "memory": f"fact {i} has five words"} for i in range(10)]
    text, ids = injector.render(results)
    assert ids == ["m0", "m1", "m2", "m3"]
    assert text.splitlines() == ["Facts:"] + [f"- fact {i} has five words" for i in range(4)]


def test_the_search_leans_on_the_two_user_messages_before_the_last():
    messages = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "x"},
                {"role": "user", "content": [{"type": "text", "text": "second"}]}, {"role": "user", "content": " "},
                {"role": "assistant", "content": "y"}, {"role": "user", "content": "third"},
                {"role": "user", "content": "now"}]
    assert earlier_user_texts(messages) == ["second", "third"]
    assert earlier_user_texts(messages[:1]) == []
