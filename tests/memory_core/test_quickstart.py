"""The first thing every user tries, in Chinese and in English, fully offline."""

from memory_core import Memory


def test_chinese_name_is_found_first_by_a_chinese_question(tmp_path, embedder):
    m = Memory({"data_dir": str(tmp_path)}, embedder=embedder)
    m.add("你好，我叫张三", user_id="zhangsan")
    m.add("我喜欢打篮球", user_id="zhangsan")
    m.add("我住在北京海淀区", user_id="zhangsan")
    m.add("我明天要去上海出差", user_id="zhangsan")

    results = m.search("我是谁？", user_id="zhangsan")["results"]

    assert results, "the name memory must clear the default threshold"
    assert results[0]["memory"] == "你好，我叫张三"
    assert 0.5 <= results[0]["score"] <= 1.0
    m.close()


def test_memory_survives_reopening_the_data_directory(tmp_path, embedder):
    with Memory({"data_dir": str(tmp_path)}, embedder=embedder) as m:
        added = m.add("我不能吃辣", user_id="zhangsan")["results"][0]
    with Memory({"data_dir": str(tmp_path)}, embedder=embedder) as m:
        results = m.search("推荐一些四川菜", user_id="zhangsan", threshold=0.0)["results"]
        assert results[0]["id"] == added["id"]


def test_english_preference_is_found_by_a_paraphrase(memory):
    memory.add("I am allergic to peanuts", user_id="alice")
    memory.add("My daughter plays the violin", user_id="alice")

    results = memory.search("what am I allergic to?", user_id="alice")["results"]
    assert [r["memory"] for r in results] == ["I am allergic to peanuts"]

    # An indirect question still ranks the right memory first, even if below 0.5.
    ranked = memory.search("what foods should I avoid?", user_id="alice", threshold=0.0)
    assert ranked["results"][0]["memory"] == "I am allergic to peanuts"
