"""/v1/memories as the API reference defines it: every route, camelCase bodies,
pagination, tags AND, threshold and limit, Chinese content, history."""

from __future__ import annotations

import pytest


def add(api, user_id, content, **more):
    response = api.post("/v1/memories", json={"content": content, "userId": user_id, **more})
    assert response.status_code == 201, response.text
    return response.json()


def test_post_stores_content_verbatim_and_returns_the_memory(api, user_id):
    response = api.post("/v1/memories", json={
        "content": "我叫张三，我不能吃辣。", "userId": user_id, "agentId": "chef",
        "tags": ["food", "profile"], "metadata": {"source": "onboarding", "level": 3},
    })

    assert response.status_code == 201
    memory = response.json()
    assert memory["id"].startswith("mem_")
    assert memory["content"] == "我叫张三，我不能吃辣。"
    assert memory["userId"] == user_id and memory["agentId"] == "chef"
    assert memory["tags"] == ["food", "profile"]
    assert memory["metadata"] == {"source": "onboarding", "level": 3}
    assert memory["createdAt"] and memory["updatedAt"]
    assert {"id", "content", "userId", "agentId", "tags", "metadata", "createdAt", "updatedAt"} <= set(memory)


def test_posting_the_same_content_twice_keeps_one_memory(api, user_id):
    first = add(api, user_id, "I like green tea")
    again = api.post("/v1/memories", json={"content": "I like green tea", "userId": user_id})

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert api.get("/v1/memories", params={"userId": user_id}).json()["pagination"]["total"] == 1


def test_get_returns_the_memory_by_id(api, user_id):
    memory = add(api, user_id, "住在杭州")

    response = api.get(f"/v1/memories/{memory['id']}")

    assert response.status_code == 200
    assert response.json() == memory


def test_search_ranks_by_meaning_best_first_with_scores_in_0_1(api, user_id):
    spicy = add(api, user_id, "我不能吃辣")
    add(api, user_id, "我的猫叫小白")
    add(api, user_id, "I work as a nurse in Shanghai")

    response = api.post("/v1/memories/search", json={"query": "推荐一些四川菜？我能吃什么？", "userId": user_id,
                                                     "threshold": 0})

    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["id"] == spicy["id"]
    assert results[0]["content"] == "我不能吃辣"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert {"id", "content", "score", "userId", "agentId", "tags", "createdAt"} <= set(results[0])


def test_search_threshold_drops_weak_matches(api, user_id):
    add(api, user_id, "我不能吃辣")
    add(api, user_id, "The quarterly tax filing is due in April")

    everything = api.post("/v1/memories/search", json={"query": "我能吃辣的吗", "userId": user_id,
                                                       "threshold": 0}).json()["results"]
    strict = api.post("/v1/memories/search", json={"query": "我能吃辣的吗", "userId": user_id,
                                                   "threshold": 0.99}).json()["results"]
    default = api.post("/v1/memories/search", json={"query": "我能吃辣的吗", "userId": user_id}).json()["results"]

    assert len(everything) == 2
    assert strict == []
    assert all(r["score"] >= 0.5 for r in default)
    assert "我不能吃辣" in [r["content"] for r in default]


def test_search_limit_caps_the_results(api, user_id):
    for i in range(5):
        add(api, user_id, f"fact number {i} about gardening")

    results = api.post("/v1/memories/search", json={"query": "gardening", "userId": user_id, "limit": 2,
                                                    "threshold": 0}).json()["results"]

    assert len(results) == 2


@pytest.mark.parametrize("limit", [1, 100])
def test_search_accepts_limits_from_1_to_100(api, user_id, limit):
    add(api, user_id, "something")
    response = api.post("/v1/memories/search", json={"query": "something", "userId": user_id, "limit": limit})
    assert response.status_code == 200


@pytest.mark.parametrize("threshold", [0, 0.0, 0.5, 1, 1.0])
def test_search_accepts_thresholds_from_0_to_1(api, user_id, threshold):
    response = api.post("/v1/memories/search", json={"query": "x", "userId": user_id, "threshold": threshold})
    assert response.status_code == 200


def test_search_tags_must_all_match(api, user_id):
    both = add(api, user_id, "spicy noodles recipe", tags=["food", "recipe"])
    add(api, user_id, "spicy food is bad for me", tags=["food"])
    add(api, user_id, "recipe for a spicy cake", tags=["recipe"])

    results = api.post("/v1/memories/search", json={"query": "spicy", "userId": user_id,
                                                    "tags": ["food", "recipe"], "threshold": 0}).json()["results"]

    assert [r["id"] for r in results] == [both["id"]]


def test_search_by_agent_id_alone(api, user_id):
    add(api, user_id, "the agent knows this", agentId=f"agent-{user_id}")

    results = api.post("/v1/memories/search", json={"query": "knows", "agentId": f"agent-{user_id}",
                                                    "threshold": 0}).json()["results"]

    assert [r["content"] for r in results] == ["the agent knows this"]


def test_list_is_newest_first_with_pagination(api, user_id):
    ids = [add(api, user_id, f"memory {i}")["id"] for i in range(5)]

    page1 = api.get("/v1/memories", params={"userId": user_id, "page": 1, "limit": 2}).json()
    page3 = api.get("/v1/memories", params={"userId": user_id, "page": 3, "limit": 2}).json()

    assert [m["id"] for m in page1["items"]] == ids[::-1][:2]
    assert page1["pagination"] == {"page": 1, "limit": 2, "total": 5, "totalPages": 3}
    assert [m["id"] for m in page3["items"]] == [ids[0]]
    assert page3["pagination"]["page"] == 3


def test_list_defaults_to_page_1_of_20(api, user_id):
    add(api, user_id, "only one")

    body = api.get("/v1/memories", params={"userId": user_id}).json()

    assert body["pagination"] == {"page": 1, "limit": 20, "total": 1, "totalPages": 1}


def test_list_past_the_last_page_is_empty_not_an_error(api, user_id):
    add(api, user_id, "one")

    response = api.get("/v1/memories", params={"userId": user_id, "page": 99})

    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["pagination"]["total"] == 1


def test_list_of_a_user_without_memories_is_empty(api, user_id):
    body = api.get("/v1/memories", params={"userId": user_id}).json()
    assert body == {"items": [], "pagination": {"page": 1, "limit": 20, "total": 0, "totalPages": 0}}


def test_list_accepts_limit_100(api, user_id):
    assert api.get("/v1/memories", params={"userId": user_id, "limit": 100}).status_code == 200


def test_list_tags_are_comma_separated_and_anded(api, user_id):
    both = add(api, user_id, "a", tags=["x", "y"])
    add(api, user_id, "b", tags=["x"])

    body = api.get("/v1/memories", params={"userId": user_id, "tags": "x,y"}).json()

    assert [m["id"] for m in body["items"]] == [both["id"]]
    assert body["pagination"]["total"] == 1


def test_list_filters_by_agent(api, user_id):
    mine = add(api, user_id, "for the tutor", agentId="tutor")
    add(api, user_id, "for the chef", agentId="chef")

    body = api.get("/v1/memories", params={"userId": user_id, "agentId": "tutor"}).json()

    assert [m["id"] for m in body["items"]] == [mine["id"]]


def test_patch_changes_content_tags_and_metadata_and_records_history(api, user_id):
    memory = add(api, user_id, "我住在北京", tags=["home"])

    response = api.patch(f"/v1/memories/{memory['id']}", json={"content": "我住在上海",
                                                               "metadata": {"moved": True}})

    assert response.status_code == 200
    updated = response.json()
    assert updated["content"] == "我住在上海"
    assert updated["tags"] == ["home"]
    assert updated["metadata"] == {"moved": True}
    assert updated["createdAt"] == memory["createdAt"]
    assert updated["updatedAt"] >= memory["updatedAt"]
    retagged = api.patch(f"/v1/memories/{memory['id']}", json={"tags": ["city"]}).json()
    assert retagged["content"] == "我住在上海" and retagged["tags"] == ["city"]
    found = api.post("/v1/memories/search", json={"query": "上海", "userId": user_id, "threshold": 0}).json()
    assert found["results"][0]["content"] == "我住在上海"


def test_history_lists_every_change_oldest_first(api, user_id):
    memory = add(api, user_id, "v1")
    api.patch(f"/v1/memories/{memory['id']}", json={"content": "v2"})
    api.delete(f"/v1/memories/{memory['id']}")

    response = api.get(f"/v1/memories/{memory['id']}/history")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(h["event"], h["oldContent"], h["newContent"]) for h in items] == [
        ("ADD", None, "v1"), ("UPDATE", "v1", "v2"), ("DELETE", "v2", None)]
    assert all(h["memoryId"] == memory["id"] for h in items)


def test_delete_removes_the_memory(api, user_id):
    memory = add(api, user_id, "temporary")

    response = api.delete(f"/v1/memories/{memory['id']}")

    assert response.status_code == 200
    assert response.json() == {"success": True, "id": memory["id"]}
    assert api.get(f"/v1/memories/{memory['id']}").status_code == 404


def test_delete_by_user_removes_only_that_users_memories(api, user_id):
    add(api, user_id, "one")
    add(api, user_id, "two")
    other = add(api, user_id + "-other", "keep me")

    response = api.delete("/v1/memories", params={"userId": user_id})

    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": 2}
    assert api.get("/v1/memories", params={"userId": user_id}).json()["items"] == []
    assert api.get(f"/v1/memories/{other['id']}").status_code == 200


def test_messages_without_inference_store_each_message(api, user_id):
    response = api.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "我对花生过敏"}, {"role": "assistant", "content": "好的"}],
        "infer": False, "userId": user_id})

    assert response.status_code == 200
    events = response.json()["results"]
    assert [(e["event"], e["content"]) for e in events] == [("ADD", "我对花生过敏"), ("ADD", "好的")]
    assert all(e["id"].startswith("mem_") for e in events)


def test_messages_with_inference_but_no_llm_keep_the_users_words(api, user_id):
    response = api.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "I'm allergic to peanuts"},
                     {"role": "assistant", "content": "Noted."}], "userId": user_id})

    assert response.status_code == 200
    assert [(e["event"], e["content"]) for e in response.json()["results"]] == [("ADD", "I'm allergic to peanuts")]


def test_content_of_exactly_10000_characters_is_accepted(api, user_id):
    response = api.post("/v1/memories", json={"content": "记" * 10_000, "userId": user_id})
    assert response.status_code == 201
    assert len(response.json()["content"]) == 10_000


def test_search_leans_on_the_conversation_given_as_context(api, user_id):
    add(api, user_id, "My daughter is in the city piano competition next month")
    son = add(api, user_id, "My son is in the school football tournament next month")
    add(api, user_id, "I work at a bank")
    query = {"query": "What should I pack for the competition day?", "userId": user_id, "threshold": 0}

    alone = api.post("/v1/memories/search", json=query).json()["results"]
    in_context = api.post("/v1/memories/search", json={**query, "context": [
        "My son plays football after school every day", "His coach is really strict"]}).json()["results"]

    score = {r["id"]: r["score"] for r in in_context}
    assert score[son["id"]] > {r["id"]: r["score"] for r in alone}[son["id"]]
    assert max(score, key=score.get) == son["id"]
