"""search(context=...): a chat message is searched together with the user's earlier
messages when they are about the same thing, and alone when the subject changed."""

import numpy as np
import pytest

from memory_core import Memory, ValidationError
from memory_core.search_query import QueryEncoder

KIDS = {
    "zh": ["我女儿下个月要参加全市的钢琴比赛", "我儿子下个月要参加学校的足球比赛", "我对花生过敏",
           "我在一家银行上班", "我养了一只叫豆豆的猫", "我老家在四川"],
    "en": ["My daughter is in the city piano competition next month",
           "My son is in the school football tournament next month", "I am allergic to peanuts",
           "I work at a bank", "I have a cat called Bean", "I grew up in Sichuan"],
}
FOOTBALL = {"zh": ["我儿子每天放学都去踢球", "他们足球队的教练要求很严格"],
            "en": ["My son plays football after school every day", "His coach is really strict"]}
PIANO = {"zh": ["我女儿每天放学都在家练琴", "她最近在练一首很难的肖邦"],
         "en": ["My daughter practises the piano every day after school", "She's learning a hard Chopin piece"]}
QUESTION = {"zh": "你觉得他能进球吗？", "en": "What should I pack for the competition day?"}


@pytest.fixture
def parents(memory):
    for lang, texts in KIDS.items():
        for text in texts:
            memory.add(text, user_id=lang, infer=False)
    return memory


def scores(memory: Memory, lang: str, **kwargs) -> dict[str, float]:
    found = memory.search(QUESTION[lang], user_id=lang, threshold=0.0, **kwargs)["results"]
    return {r["memory"]: r["score"] for r in found}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_follow_up_message_leans_on_the_conversation_before_it(parents, lang):
    son = KIDS[lang][1]
    alone, in_context = scores(parents, lang), scores(parents, lang, context=FOOTBALL[lang])
    assert in_context[son] > alone[son] + 0.02
    assert max(in_context, key=in_context.get) == son


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_after_a_change_of_subject_the_earlier_messages_are_left_out(parents, lang):
    assert scores(parents, lang, context=PIANO[lang]) == scores(parents, lang)


def test_unusable_earlier_messages_and_a_zero_weight_change_nothing(parents, tmp_path, embedder):
    assert scores(parents, "en", context=["", "  ", "\ud800 broken"]) == scores(parents, "en")
    with Memory({"data_dir": str(tmp_path / "off"), "search": {"context_weight": 0}}, embedder=embedder) as off:
        for text in KIDS["en"]:
            off.add(text, user_id="en", infer=False)
        assert scores(off, "en", context=FOOTBALL["en"]) == scores(off, "en")


@pytest.mark.parametrize("context", ["one string", [1, 2], [None], {"a": "b"}])
def test_context_must_be_a_list_of_strings(parents, context):
    with pytest.raises(ValidationError):
        parents.search("hello", user_id="en", context=context)


class CountingEmbedder:
    """The real embedder, counting the query texts it embeds."""

    def __init__(self, real) -> None:
        self.real, self.name, self.dims = real, real.name, real.dims
        self.queries: list[str] = []

    def embed_queries(self, texts):
        self.queries += list(texts)
        return self.real.embed_queries(texts)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_earlier_messages_searched_before_are_not_embedded_again(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    with Memory({"data_dir": str(tmp_path)}, embedder=counting) as m:
        m.add("My son is in the school football tournament next month", user_id="en", infer=False)
        for i, text in enumerate(FOOTBALL["en"]):
            m.search(text, user_id="en", context=FOOTBALL["en"][:i])
        m.search(QUESTION["en"], user_id="en", context=FOOTBALL["en"])
        assert counting.queries == [*FOOTBALL["en"], QUESTION["en"]]
        # Another tenant's search of the same text is its own: not answered from this one's.
        m.search(QUESTION["en"], user_id="en", tenant="other")
        assert counting.queries[-1] == QUESTION["en"] and len(counting.queries) == 4


def test_a_query_in_context_stays_closer_to_the_message_than_to_the_conversation(embedder):
    encoder = QueryEncoder(embedder, weight=0.25)
    query = encoder.encode(QUESTION["en"], FOOTBALL["en"])
    own, earlier = encoder.vectors([QUESTION["en"], *FOOTBALL["en"]])[0], encoder.vectors(FOOTBALL["en"]).mean(axis=0)
    assert abs(float(np.linalg.norm(query.dense)) - 1.0) < 1e-5
    assert float(query.dense @ own) > float(query.dense @ earlier) / float(np.linalg.norm(earlier))


def test_an_earlier_message_never_searched_is_embedded_from_its_end_only(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    long_message = "I wrote this long story about my son's football season. " * 20 + FOOTBALL["en"][0]
    with Memory({"data_dir": str(tmp_path)}, embedder=counting) as m:
        m.add("My son is in the school football tournament next month", user_id="en", infer=False)
        m.search(QUESTION["en"], user_id="en", context=[long_message])
        assert counting.queries[0] == QUESTION["en"]
        assert counting.queries[1] == long_message[-200:]
        # Searched before, it is taken whole from the cache.
        m.search(long_message, user_id="en")
        m.search(QUESTION["en"] + "!", user_id="en", context=[long_message])
        assert counting.queries[2:] == [long_message, QUESTION["en"] + "!"]
