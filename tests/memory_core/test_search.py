"""search(): ranking, scores, thresholds, limits, tags, metadata filters, scoping."""

import pytest

from memory_core import ContentTooLongError, MissingScopeError, ValidationError


@pytest.fixture
def alice(memory):
    memory.add("I am vegetarian", user_id="alice", tags=["food", "health"],
               metadata={"year": 2021, "city": "Paris", "day": "2021-03-04"}, infer=False)
    memory.add("I run a marathon every spring", user_id="alice", tags=["health"],
               metadata={"year": 2023, "city": "Berlin", "day": "2023-04-01"}, infer=False)
    memory.add("My favourite band is Radiohead", user_id="alice", tags=["music"],
               metadata={"year": 2024, "city": "Paris", "day": "2024-12-31"}, infer=False)
    memory.add("I am vegetarian", user_id="bob", infer=False)
    return memory


def test_results_are_best_first_with_scores_between_0_and_1(alice):
    results = alice.search("what do I eat?", user_id="alice", threshold=0.0)["results"]
    scores = [r["score"] for r in results]
    assert results[0]["memory"] == "I am vegetarian"
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_default_threshold_drops_unrelated_memories(alice):
    results = alice.search("what do I eat?", user_id="alice")["results"]
    assert "My favourite band is Radiohead" not in [r["memory"] for r in results]


def test_a_search_only_sees_its_own_subject(alice):
    results = alice.search("vegetarian", user_id="bob", threshold=0.0)["results"]
    assert [r["user_id"] for r in results] == ["bob"]


def test_limit_caps_the_result_count(alice):
    assert len(alice.search("me", user_id="alice", limit=2, threshold=0.0)["results"]) == 2


def test_tags_are_anded(alice):
    got = alice.search("anything", user_id="alice", tags=["food", "health"], threshold=0.0)
    assert [r["memory"] for r in got["results"]] == ["I am vegetarian"]


@pytest.mark.parametrize("filters, expected", [
    ({"city": "Paris"}, {"I am vegetarian", "My favourite band is Radiohead"}),
    ({"city": {"in": ["Berlin"]}}, {"I run a marathon every spring"}),
    ({"city": {"ne": "Paris"}}, {"I run a marathon every spring"}),
    ({"year": {"gte": 2023}}, {"I run a marathon every spring", "My favourite band is Radiohead"}),
    ({"year": {"gt": 2021, "lt": 2024}}, {"I run a marathon every spring"}),
    ({"day": {"lt": "2022-01-01"}}, {"I am vegetarian"}),
    ({"user_id": "alice", "city": "Berlin"}, {"I run a marathon every spring"}),
])
def test_metadata_filters(alice, filters, expected):
    kwargs = {} if "user_id" in filters else {"user_id": "alice"}
    got = alice.search("anything", filters=filters, threshold=0.0, **kwargs)["results"]
    assert {r["memory"] for r in got} == expected


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 101}, {"limit": "5"},
                                    {"threshold": -0.1}, {"threshold": 1.5},
                                    {"filters": {"year": {"between": [1, 2]}}},
                                    {"filters": "city=Paris"}])
def test_out_of_range_arguments_are_validation_errors(alice, kwargs):
    with pytest.raises(ValidationError):
        alice.search("food", user_id="alice", **kwargs)


def test_search_needs_a_subject_and_a_query(alice):
    with pytest.raises(MissingScopeError):
        alice.search("food")
    with pytest.raises(ValidationError):
        alice.search("  ", user_id="alice")
    with pytest.raises(ContentTooLongError):
        alice.search("q" * 10_001, user_id="alice")


def test_tenants_never_see_each_other(memory):
    memory.add("secret plan", user_id="u1", tenant="acme", infer=False)
    assert memory.search("secret plan", user_id="u1", tenant="globex", threshold=0.0)["results"] == []
    assert memory.get_all(user_id="u1", tenant="globex")["total"] == 0
    assert memory.search("secret plan", user_id="u1", tenant="acme")["results"]
