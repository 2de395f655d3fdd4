"""Labelled (question, memory) pairs for score calibration, written for this project.

Each question is related to its own memory; crossing a question with every other
memory of the same language gives the unrelated pairs. Some crossings are near
misses on purpose ("Where do I live?" / "I grew up in Ohio"): the threshold is set
from the 95th percentile of unrelated scores, not their maximum.
"""

ZH = [
    ("我是谁？", "你好，我叫张三"),
    ("我喜欢什么运动？", "我喜欢打篮球"),
    ("我住在哪里？", "我住在上海浦东"),
    ("我对什么过敏？", "我对花生过敏"),
    ("我是做什么工作的？", "我是一名软件工程师"),
    ("我养了什么宠物？", "我家有一只叫小白的猫"),
    ("我的生日是哪天？", "我的生日是五月三号"),
    ("我最喜欢吃什么？", "我最爱吃四川火锅"),
    ("我在学什么语言？", "我最近在学日语"),
    ("我女儿几岁了？", "我女儿今年六岁了"),
    ("我开什么车？", "我开一辆特斯拉 Model 3"),
    ("我喜欢听什么音乐？", "我平时喜欢听周杰伦的歌"),
    ("我的老家在哪？", "我是湖南长沙人"),
    ("我周末一般做什么？", "周末我通常去爬山"),
]

EN = [
    ("What is my name?", "Hi, my name is John Smith"),
    ("Which sport do I play?", "I play tennis every Saturday"),
    ("Where do I live?", "I live in Berlin, near the Tiergarten"),
    ("What am I allergic to?", "I'm allergic to shellfish"),
    ("What do I do for work?", "I work as a nurse at the city hospital"),
    ("Do I have any pets?", "I have a golden retriever named Max"),
    ("When is my birthday?", "My birthday is on October 12"),
    ("What is my favorite food?", "I love Thai green curry"),
    ("Which language am I learning?", "I'm learning Spanish on Duolingo"),
    ("How old is my son?", "My son just turned nine"),
    ("What car do I drive?", "I drive a red Honda Civic"),
    ("What music do I like?", "I mostly listen to jazz"),
    ("Where did I grow up?", "I grew up in a small town in Ohio"),
    ("What do I do on weekends?", "On weekends I usually go hiking"),
]


def split_pairs(pairs):
    """(related, unrelated) lists of (question, memory)."""
    related = list(pairs)
    unrelated = [(q, m) for i, (q, _) in enumerate(pairs) for j, (_, m) in enumerate(pairs) if i != j]
    return related, unrelated
