"""add(infer=True) with an LLM: facts in the user's language, ADD/UPDATE/DELETE/NONE
decisions, repair of malformed JSON, and nothing half-stored when the LLM fails.
The LLM is a scripted OpenAI-compatible endpoint (respx); embeddings and store are real."""

from datetime import datetime, timezone

import pytest

from memory_core import LLMError, Memory
LLM_BASE = "http://llm.test/v1"  # the scripted endpoint of the fake_llm fixture (tests/conftest.py)

LLM = {"model": "openai/test-model", "api_base": LLM_BASE, "api_key": "sk-test"}


def test_chinese_facts_are_stored_in_chinese(llm_memory, fake_llm):
    fake_llm.script({"facts": ["名字是张三", "不能吃辣"]},
                    {"memory": [{"id": "0", "text": "名字是张三", "event": "ADD"},
                                {"id": "1", "text": "不能吃辣", "event": "ADD"}]})

    out = llm_memory.add("我叫张三，我不能吃辣", user_id="zs")["results"]

    assert [(r["memory"], r["event"]) for r in out] == [("名字是张三", "ADD"), ("不能吃辣", "ADD")]
    assert "我叫张三，我不能吃辣" in fake_llm.prompt_text(0)
    assert "SAME LANGUAGE" in fake_llm.prompt_text(0)
    found = llm_memory.search("给我推荐一些四川美食", user_id="zs", threshold=0.0)["results"]
    assert "不能吃辣" in [r["memory"] for r in found]


def test_extraction_prompt_knows_todays_date(tmp_path, embedder, fake_llm):
    class Fixed:
        def now(self):
            return datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)

    m = Memory({"data_dir": str(tmp_path), "llm": LLM}, embedder=embedder, clock=Fixed())
    fake_llm.script({"facts": []})
    assert m.add("I fly to Rome tomorrow", user_id="u")["results"] == []
    assert "2026-03-14" in fake_llm.prompt_text(0)
    m.close()


def test_update_and_delete_use_short_ids_mapped_back_to_real_ones(llm_memory, fake_llm):
    paris = llm_memory.add("I live in Paris", user_id="u", infer=False)["results"][0]["id"]
    cat = llm_memory.add("I have a cat", user_id="u", infer=False)["results"][0]["id"]
    fake_llm.script(
        {"facts": ["Moved to Lyon", "No longer has a cat"]},
        # The model only ever sees ids "0" and "1"; which one is which depends on ranking,
        # so the script answers by reading the prompt.
    )
    def decide(request):
        import json
        prompt = json.loads(request.content)["messages"][1]["content"]
        ref = {line.split(": ", 1)[1]: line.split(": ", 1)[0]
               for line in prompt.splitlines() if line[:1].isdigit() and ": " in line}
        return {"memory": [
            {"id": ref["I live in Paris"], "text": "Lives in Lyon", "event": "UPDATE",
             "old_memory": "I live in Paris"},
            {"id": ref["I have a cat"], "text": "", "event": "DELETE"},
            {"id": "99", "text": "", "event": "DELETE"},  # invented id: ignored
        ]}
    fake_llm.route.side_effect = _then(fake_llm, decide)

    out = {r["event"]: r for r in llm_memory.add("I moved to Lyon and gave my cat away",
                                                 user_id="u")["results"]}

    assert out["UPDATE"]["id"] == paris and out["UPDATE"]["previous_memory"] == "I live in Paris"
    assert out["DELETE"]["id"] == cat
    assert llm_memory.get(paris)["memory"] == "Lives in Lyon"
    assert llm_memory.get(cat) is None
    assert [h["event"] for h in llm_memory.history(paris)] == ["ADD", "UPDATE"]


def _then(fake, decide):
    """First call answers from the script, later calls with decide(request)."""
    import json

    import httpx
    first = fake._answer

    def handler(request):
        if fake.answers:
            return first(request)
        fake.requests.append(json.loads(request.content))
        body = json.dumps(decide(request))
        return httpx.Response(200, json={"id": "x", "object": "chat.completion", "created": 0,
                                         "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": body}}]})
    return handler


def test_code_fenced_json_with_prose_is_repaired(llm_memory, fake_llm):
    fake_llm.script('Sure! Here you go:\n```json\n{"facts": ["Likes green tea",]}\n```\nHope it helps',
                    'The answer: {"memory": [{"id": "0", "text": "Likes green tea", "event": "ADD"}]} done.')
    out = llm_memory.add("I love green tea", user_id="u")["results"]
    assert [r["memory"] for r in out] == ["Likes green tea"]


def test_broken_json_is_retried_once_then_succeeds(llm_memory, fake_llm):
    fake_llm.script("facts: likes tea", {"facts": ["Likes tea"]},
                    {"memory": [{"id": "0", "text": "Likes tea", "event": "ADD"}]})
    out = llm_memory.add("I like tea", user_id="u")["results"]
    assert [r["memory"] for r in out] == ["Likes tea"]
    assert "not valid JSON" in fake_llm.prompt_text(1)


def test_persistently_broken_json_raises_and_stores_nothing(llm_memory, fake_llm):
    fake_llm.script({"facts": ["Likes tea"]}, "not json", '{"wrong": "keys"}')
    with pytest.raises(LLMError, match="nothing was stored"):
        llm_memory.add("I like tea", user_id="u")
    assert llm_memory.get_all(user_id="u")["total"] == 0


def test_llm_outage_raises_a_typed_error(llm_memory, fake_llm):
    # an empty script makes the endpoint answer 500
    with pytest.raises(LLMError):
        llm_memory.add("I like tea", user_id="u")
    assert llm_memory.get_all(user_id="u")["total"] == 0


def test_an_added_fact_identical_to_a_stored_one_is_not_duplicated(llm_memory, fake_llm):
    llm_memory.add("Likes tea", user_id="u", infer=False)
    fake_llm.script({"facts": ["Likes tea"]},
                    {"memory": [{"id": "1", "text": "Likes tea", "event": "ADD"}]})
    llm_memory.add("I like tea", user_id="u")
    assert llm_memory.get_all(user_id="u")["total"] == 1
