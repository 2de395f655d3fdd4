"""Can a per-memory baseline (hubness) make English "never mentioned" questions come
back empty? (docs/retrieval.md "What a score means": LoCoMo's chatty turns are close to
every first-person question, so one of them always clears the threshold.)

    python -m research.hub_research --locomo ../shared/data/locomo/locomo-dev.json \
        --madial ../shared/data/madial-zh --out /tmp/hub_research

For each half of each dev set (one add() per message, as the proxy stores a chat) it
stores the memories with the product's Memory and records, per question and per
never-mentioned probe (bench/retrieval_sets.py), the top 50 fused candidates with their
raw cosine, the query's baseline and each candidate's *hub*: the mean cosine of its
stored vector to a bank of generic questions (``GENERIC`` below, written for this, on
other topics than the probes). The corrected cosine is ``cos - w * max(0, hub - c)``: a
memory close to every question must be that much closer to this one. Then it prints
precision / kept / returned / probes empty at the default threshold for a grid of
(c, w), on top of the shipped score. Choose on the tuning half, read the check half.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np

from bench.memory_bench import store_set
from bench.retrieval_sets import probes_for
from memory_core import Memory
from memory_core.embedding.calibration import baseline
from memory_core.items import public_id
from memory_core.vector_store import QueryVectors
from memory_core.vector_store.sparse import sparse_query
from research.score_research import at_threshold, dev_halves, shipped

# Generic questions a user asks of a personal memory, none about the probes' topics
# (documents, numbers, money, health records).
GENERIC = {
    "en": ["What did I do last weekend?", "What are my hobbies?", "Where did I go on my last trip?",
           "Who is my best friend?", "What kind of music do I like?", "What do I do for work?",
           "What did I talk about with my family recently?", "What am I looking forward to?",
           "What book am I reading?", "What did I eat for dinner yesterday?", "How have I been feeling lately?",
           "What are my plans for next month?", "What sports do I play?", "What is my pet's name?",
           "What did my friend recommend to me?", "What was the last movie I watched?",
           "What am I working on these days?", "Where did I grow up?", "What gift did I get recently?",
           "What did I learn recently?"],
    "zh": ["我上周末做了什么？", "我有哪些爱好？", "我上次去哪里旅行了？", "我最好的朋友是谁？", "我喜欢什么音乐？",
           "我是做什么工作的？", "我最近和家人聊了什么？", "我最近在期待什么？", "我在读什么书？", "我昨天晚饭吃了什么？",
           "我最近心情怎么样？", "我下个月有什么计划？", "我平时做什么运动？", "我的宠物叫什么名字？",
           "朋友最近给我推荐了什么？", "我上次看的电影是什么？", "我最近在忙什么？", "我在哪里长大？",
           "我最近收到了什么礼物？", "我最近学到了什么？"],
}


def collect(rs, embedder, path: Path) -> list[dict]:
    if path.exists():
        return pickle.loads(path.read_bytes())
    bank = np.concatenate([embedder.embed_queries(v) for v in GENERIC.values()])
    rows = []
    with tempfile.TemporaryDirectory() as d, Memory({"data_dir": d}, embedder=embedder) as m:
        keys_of = store_set(m, rs, "message")
        refs = embedder._reference_vectors()

        def candidates(text: str, user: str) -> dict:
            qv = embedder.embed_queries([text])[0]
            hits = m._store.search(QueryVectors(qv, sparse_query(text)), m._filter(m._scope(None, user, None, None)), 50)
            vectors = {p.id: p.vector for p in m._store.retrieve([h.id for h in hits], with_vectors=True)}
            hub = np.array([float(np.mean(bank @ vectors[h.id])) for h in hits])
            return {"keys": [keys_of.get(public_id(h.id), []) for h in hits], "cos": np.array([h.score for h in hits]),
                    "hub": hub, "base": baseline(qv, refs)}

        for q in rs.queries:
            rows.append({**candidates(q.text, q.user), "gold": q.gold})
        for user in rs.memories:
            rows += [{**candidates(p, user), "gold": None} for p in probes_for(rs)]
    path.write_bytes(pickle.dumps(rows))
    return rows


def corrected(rows: list[dict], c: float, w: float) -> list[dict]:
    return [{**r, "cos": r["cos"] - w * np.maximum(0.0, r["hub"] - c)} for r in rows]


def report(name: str, rows: list[dict]) -> None:
    hubs = np.concatenate([r["hub"][:10] for r in rows])
    print(f"\n## {name}: hub of the top-10 candidates p10 {np.percentile(hubs, 10):.3f} "
          f"median {np.median(hubs):.3f} p90 {np.percentile(hubs, 90):.3f}")
    print("| c | w | precision | kept | returned | probes empty |\n|---|---|---|---|---|---|")
    grid = [(None, 0.0)] + [(c, w) for c in (0.76, 0.78, 0.80, 0.82) for w in (0.5, 1.0, 2.0)]
    for c, w in grid:
        f = at_threshold(rows if c is None else corrected(rows, c, w), shipped)
        print(f"| {c if c is not None else '- (shipped)'} | {w} | {f['precision']:.2f} | {f['kept']:.0%} | "
              f"{f['returned']:.1f} | {f['probes empty']:.0%} |")


def main() -> None:
    embedder, runs = dev_halves(__doc__)
    for name, label, part, cache in runs:
        report(f"{name} {label}", collect(part, embedder, cache))


if __name__ == "__main__":
    main()
