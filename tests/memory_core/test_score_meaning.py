"""What a search score means: at the default threshold, a memory is returned when it is
more similar to the question than an everyday memory would be, in Chinese as in English;
a question about something the user never mentioned returns nothing."""

import numpy as np
import pytest

from memory_core.embedding import create_embedder
from memory_core.embedding.base import query_scorer
from memory_core.embedding.calibration import RelativeCalibration
from memory_core.embedding.config import EmbedderConfig

ZH_MEMORIES = ["我女儿下个月要上小学了", "我在杭州的一家电商公司做产品经理", "我最喜欢的运动是羽毛球",
               "我不吃辣，一吃就胃疼", "去年冬天我们全家去了哈尔滨看冰雕"]
EN_MEMORIES = ["My daughter starts primary school next month", "I work as a product manager at a retailer in Leeds",
               "Badminton is my favourite sport", "Spicy food gives me a stomach ache",
               "Last winter the whole family went to see the ice sculptures in Quebec"]


@pytest.fixture
def both(memory):
    for text in ZH_MEMORIES:
        memory.add(text, user_id="li", infer=False)
    for text in EN_MEMORIES:
        memory.add(text, user_id="sam", infer=False)
    return memory


def found(memory, question, user):
    return [r["memory"] for r in memory.search(question, user_id=user)["results"]]  # the default threshold


@pytest.mark.parametrize("question, user", [
    ("我的护照号码是多少？", "li"), ("我家的猫叫什么？", "li"), ("我上次换机油是什么时候？", "li"),
    ("What is my passport number?", "sam"), ("What is my cat called?", "sam"),
    ("When did I last change the car's oil?", "sam"),
])
def test_a_question_about_something_never_mentioned_returns_nothing(both, question, user):
    assert found(both, question, user) == []


@pytest.mark.parametrize("question, user, expected", [
    ("我女儿什么时候上学？", "li", ZH_MEMORIES[0]), ("我是做什么工作的？", "li", ZH_MEMORIES[1]),
    ("我能吃辣吗？", "li", ZH_MEMORIES[3]),
    ("When does my daughter start school?", "sam", EN_MEMORIES[0]), ("What do I do for work?", "sam", EN_MEMORIES[1]),
    ("Can I eat spicy food?", "sam", EN_MEMORIES[3]),
])
def test_a_question_about_a_stored_fact_finds_it_first(both, question, user, expected):
    assert found(both, question, user)[:1] == [expected]


def test_chinese_unrelated_memories_score_below_the_threshold_like_english_ones(both):
    # e5 puts any two Chinese texts ~0.07 closer than two English ones; the score does not.
    for question, user, relevant in (("我最喜欢什么运动？", "li", ZH_MEMORIES[2]),
                                     ("What is my favourite sport?", "sam", EN_MEMORIES[2])):
        scores = {r["memory"]: r["score"] for r in both.search(question, user_id=user, threshold=0.0)["results"]}
        assert scores.pop(relevant) >= 0.5
        assert max(scores.values()) < 0.5


def test_the_same_cosine_means_less_for_a_query_close_to_every_text(embedder):
    # A Chinese question is ~0.06 closer than an English one to any everyday memory of its
    # language, so the same cosine is weaker evidence for it.
    zh, en = embedder.embed_queries(["我最喜欢什么运动？", "What is my favourite sport?"])
    for cosine in (0.82, 0.86, 0.9):
        assert query_scorer(embedder, zh)(cosine) < query_scorer(embedder, en)(cosine)
    assert query_scorer(embedder, zh)(0.0) == 0.0 and query_scorer(embedder, zh)(1.0) == 1.0


def test_an_embedder_without_a_scorer_is_scored_by_its_score_method():
    class Plain:
        def score(self, cosine):
            return cosine / 2

    assert query_scorer(Plain(), np.zeros(3))(0.8) == 0.4


def test_a_relative_calibration_must_be_ordered():
    with pytest.raises(ValueError):
        RelativeCalibration(unrelated=0.1, threshold=0.05, top=0.2)


def test_the_first_search_embeds_nothing_but_the_query(monkeypatch):
    # create_embedder hands the embedder back with its baseline memories embedded, so
    # the first search of a process costs what every other search costs.
    fresh = create_embedder(EmbedderConfig())
    calls = []
    real = type(fresh)._vectors
    monkeypatch.setattr(type(fresh), "_vectors", lambda self, texts: calls.append(len(texts)) or real(self, texts))
    query_scorer(fresh, fresh.embed_queries(["我最喜欢什么运动？"])[0])(0.9)
    assert calls == [1]
