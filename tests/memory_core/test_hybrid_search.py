"""search() ranks by dense + BM25 + conversational context (docs/retrieval.md):
keyword-only matches, answers found through the question before them, Chinese
keywords through character bigrams, and the session date as keywords."""

import pytest

from memory_core.items import point_id

from memory_core import ValidationError
from memory_core.vector_store import MemoryFilter
from memory_core.vector_store.sparse import cjk_bigrams, sparse_query

DISTRACTORS = [
    "I go hiking in the mountains most weekends",
    "My sister lives in Toronto with her two cats",
    "I started learning the piano last winter",
    "Coffee in the morning is the best part of my day",
    "We adopted a golden retriever puppy in June",
    "I work as a nurse at the city hospital",
    "My favourite book is a long fantasy novel",
    "I am allergic to peanuts and shellfish",
    "We painted the kitchen a bright yellow",
    "I usually cook pasta on Friday evenings",
]


def ranked(memory, query, user="u1", limit=10):
    return [r["memory"] for r in memory.search(query, user_id=user, limit=limit, threshold=0.0)["results"]]


def dense_only(memory, query, user="u1", limit=3):
    vector = memory.embedder.embed_queries([query])[0]
    return [p.payload["memory"] for p in memory._store.search(vector, MemoryFilter(tenant="default", user_id=user), limit)]


CATS = ["My sister's cats are called Milo and Luna", "My sister sends me photos of her cats every day",
        "The cats knocked over my sister's vase"]
NAMED = ["Wojciechowski owes me forty dollars", "The storage unit number is 8841",
         "Thanh lent me his drill", "Booked flight LX1612", "Meet Ngozi at the station"]


@pytest.mark.parametrize(("query", "target"), [
    ("Wojciechowski and my sibling's felines", "Wojciechowski owes me forty dollars"),
    ("Thanh's feline pets and siblings", "Thanh lent me his drill"),
])
def test_a_rare_name_is_found_by_keyword_where_dense_ranks_it_lower(memory, query, target):
    # The query's meaning points at the cat memories; only its rare name points at the target.
    for text in DISTRACTORS + CATS + NAMED:
        memory.add(text, user_id="u1", infer=False)
    assert dense_only(memory, query, limit=1) != [target]
    assert ranked(memory, query)[0] == target


def test_an_answer_in_the_next_message_is_found_through_its_question(memory):
    for text in DISTRACTORS:
        memory.add(text, user_id="u1", infer=False)
    out = memory.add([
        {"role": "user", "content": "Which city did you move to after college?"},
        {"role": "assistant", "content": "Lisbon. We still love it there."},
        {"role": "user", "content": "Nice, the weather must be great."},
    ], user_id="u1", infer=False)["results"]
    top = ranked(memory, "Where did they move after college?", limit=3)
    assert "Lisbon. We still love it there." in top
    # the turns are linked to their neighbours; the facts stored before (plain strings) are no turns
    first, second, third = (memory._store.retrieve([r["id"][4:]])[0].payload for r in out)
    assert "prev" not in first and second["prev"] and second["next"] and "next" not in third


def test_messages_added_one_at_a_time_are_found_through_their_question_as_a_batch_is(memory):
    # As a chat proxy stores them: one add() per message. Alone, "Lisbon, in the end."
    # scores ~0.1 for this question; with the previous turn as its context, as in a batch.
    for text in DISTRACTORS:
        memory.add(text, user_id="u1", infer=False)
    for role, text in [("user", "Which city did you move to after college?"),
                       ("assistant", "Lisbon, in the end."),
                       ("user", "Nice, the weather must be great.")]:
        memory.add([{"role": role, "content": text}], user_id="u1", infer=False, continues=True)
    found = memory.search("Where did they move after college?", user_id="u1")["results"]  # default threshold
    assert "Lisbon, in the end." in [r["memory"] for r in found]


def test_separate_adds_that_do_not_continue_a_conversation_are_unrelated(memory):
    first = memory.add([{"role": "user", "content": "I have a golden retriever"}], user_id="u1", infer=False)
    second = memory.add([{"role": "user", "content": "I have a broken bicycle"}], user_id="u1", infer=False)
    ids = [point_id(r["results"][0]["id"]) for r in (first, second)]
    assert all("prev" not in p.payload and "next" not in p.payload for p in memory._store.retrieve(ids))


def test_a_message_of_another_conversation_does_not_take_the_last_one_as_context(memory):
    def add(text, day):
        memory_id = memory.add([{"role": "user", "content": text}], user_id="u1", infer=False,
                               timestamp=day, continues=True)["results"][0]["id"]
        return point_id(memory_id), memory._store.retrieve([point_id(memory_id)])[0].payload

    first, _ = add("Which city did you move to after college?", "2023-05-08")
    later, later_payload = add("Lisbon.", "2023-06-20")
    _, same_payload = add("It rained all day.", "2023-06-20")
    assert "prev" not in later_payload and "next" not in memory._store.retrieve([first])[0].payload
    assert same_payload["prev"] == later


def test_a_chinese_keyword_matches_through_character_bigrams(memory):
    for text in ["我周末喜欢去公园散步", "我的妹妹在上海工作", "我每天早上喝一杯咖啡",
                 "我们家养了一只小猫", "我最近在学习弹钢琴", "我最讨厌吃榴莲了"]:
        memory.add(text, user_id="zs", infer=False)
    assert "榴莲" in cjk_bigrams("榴莲好吃吗")
    assert len(sparse_query("榴莲").indices) >= 1
    assert ranked(memory, "榴莲", user="zs")[0] == "我最讨厌吃榴莲了"


def test_the_timestamp_date_is_searchable_and_kept(memory):
    memory.add("We had a picnic by the lake", user_id="u1", infer=False, timestamp="2023-05-08T13:56:00")
    memory.add("We had a picnic in the park", user_id="u1", infer=False, timestamp=1694304000)  # 10 Sep 2023
    assert ranked(memory, "What did we do on 8 May 2023?")[0] == "We had a picnic by the lake"
    assert ranked(memory, "What did we do in September?")[0] == "We had a picnic in the park"
    stored = memory._store.list(MemoryFilter(tenant="default", user_id="u1"), 0, 10)
    assert sorted(p.payload["timestamp"][:10] for p in stored) == ["2023-05-08", "2023-09-10"]


@pytest.mark.parametrize("bad", ["yesterday", "2023-13-01", True, [2023]])
def test_an_unusable_timestamp_is_refused(memory, bad):
    with pytest.raises(ValidationError, match="timestamp"):
        memory.add("hello", user_id="u1", infer=False, timestamp=bad)


def test_an_updated_memory_loses_its_neighbours_and_is_found_by_its_new_words(memory):
    out = memory.add(["first turn here", "second turn about Zanzibar"], user_id="u1", infer=False)["results"]
    memory.update(out[1]["id"], "second turn about Quito now")
    payload = memory._store.retrieve([out[1]["id"][4:]])[0].payload
    assert "prev" not in payload and "next" not in payload
    assert ranked(memory, "Quito")[0] == "second turn about Quito now"


def test_the_threshold_filters_on_the_score_and_keeps_the_fused_order(memory):
    for text in DISTRACTORS:
        memory.add(text, user_id="u1", infer=False)
    results = memory.search("what am I allergic to?", user_id="u1", limit=3)["results"]
    assert results and all(r["score"] >= 0.5 for r in results)
    assert results[0]["memory"] == "I am allergic to peanuts and shellfish"
    assert len(memory.search("anything at all", user_id="u1", limit=2, threshold=0.0)["results"]) == 2


def test_a_conversation_continues_only_within_exactly_its_own_scope(memory):
    def add(text, **scope):
        memory_id = memory.add([{"role": "user", "content": text}], infer=False, continues=True,
                               **scope)["results"][0]["id"]
        return memory._store.retrieve([point_id(memory_id)])[0].payload

    add("Which city did you move to after college?", user_id="u1", run_id="trip-chat")
    assert "prev" not in add("Lisbon.", user_id="u1")  # (u1) does not continue (u1, run trip-chat)


def test_an_edited_memory_is_no_longer_the_context_of_the_next_message(memory):
    first = memory.add([{"role": "user", "content": "Which city did you move to?"}], user_id="u1",
                       infer=False, continues=True)["results"][0]["id"]
    memory.update(first, "I moved to Lisbon")
    then = memory.add([{"role": "user", "content": "It rains a lot."}], user_id="u1", infer=False,
                      continues=True)["results"][0]["id"]
    assert "prev" not in memory._store.retrieve([point_id(then)])[0].payload
