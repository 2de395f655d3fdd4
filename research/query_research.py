"""What should a chat message's search query be: the message alone, or with the user's
messages before it? The research behind docs/retrieval.md "The query: the conversation's
last message" (memory_core/search_query.py).

    python -m research.query_research --locomo ../shared/data/locomo/locomo-dev.json \
        --madial ../shared/data/madial-zh [--unrelated] [--embedding-cache DIR]

For each half (bench/memory_bench.py's halves), R@5 / R@10 of:
- the last user turn alone (what the proxy did before);
- the last three user turns as one text ("window"), and the RRF of the window's and the
  last turn's top 20 (weights 1:1 and 2:1 for the last turn);
- the last turn in context (memory_core's QueryEncoder, the product's own code) with
  context weight w and follow-up margin g: "always" leans on the two earlier turns, a
  margin g only when the model's ``follows`` says they are about the same thing (g is
  ``follow_up`` in embedding/calibration.py). The shipped setting is w 0.25, g 0.045;
  "window used" is the share of queries that leaned on their earlier turns.

MADial's dialogues give the turns before the test turn (one topic each). LoCoMo's
questions have none, so each question gets the two questions asked before it about the
same conversation as its earlier turns. With --unrelated the earlier turns come from
another conversation or dialogue: a user who changed the subject entirely.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
from pathlib import Path

from bench.embedding_cache import CachedEmbedder
from bench.memory_bench import halves, store_set
from bench.retrieval_sets import load_locomo, load_madial, recall_at
from memory_core import Memory
from memory_core.embedding import create_embedder
from memory_core.embedding.config import EmbedderConfig
from memory_core.items import public_id
from memory_core.search_query import CONTEXT_MESSAGES, QueryEncoder

WEIGHTS = (0.25, 0.5, 0.75, 1.0)
MARGINS = (None, 0.03, 0.045, 0.06)  # None: always lean on the earlier turns
GATED_WEIGHTS = (0.25, 0.5)  # the weights tried with each margin


def rrf(rankings: list[list[str]], weights: list[float], k: int = 60) -> list[str]:
    scores: dict[str, float] = {}
    for weight, ranking in zip(weights, rankings):
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores, key=lambda i: -scores[i])


def settings() -> list[tuple[float, float | None]]:
    return [(w, None) for w in WEIGHTS] + [(w, g) for w in GATED_WEIGHTS for g in MARGINS if g is not None]


def label(weight: float, margin: float | None) -> str:
    return f"in context, w {weight}, " + ("always" if margin is None else f"g {margin}")


def in_context(m: Memory, embedder, turns: list[str], user: str, weight: float,
               margin: float | None) -> tuple[list[str], bool]:
    """The product's query for the last turn in context, with this weight and margin (the
    model's calibration with ``follow_up`` = margin; "always": a margin nothing misses)."""
    real = embedder._real
    shipped = real.calibration
    real.calibration = dataclasses.replace(shipped, follow_up=-2.0 if margin is None else margin)
    try:
        context = turns[:-1][-CONTEXT_MESSAGES:]
        query = QueryEncoder(embedder, weight).encode(turns[-1], context)
        alone = QueryEncoder(embedder, 0.0).encode(turns[-1])
        leaned = bool(context) and (query.dense != alone.dense).any()
        hits = m._store.search(query, m._filter(m._scope(None, user, None, None)), 20)
    finally:
        real.calibration = shipped
    return [public_id(h.id) for h in hits], bool(leaned)


def rankings(m: Memory, embedder, turns: list[str], user: str) -> dict[str, tuple[list[str], bool]]:
    """Each query's top-20 ranking, and whether it leaned on the earlier turns."""
    def ids(text: str) -> list[str]:
        return [r["id"] for r in m.search(text, user_id=user, limit=20, threshold=0.0)["results"]]

    last, window = ids(turns[-1]), ids("\n".join(turns[-3:]))
    out = {"last user turn": (last, False), "last 3 user turns": (window, True),
           "RRF 1:1": (rrf([last, window], [1, 1]), True), "RRF 2:1": (rrf([last, window], [2, 1]), True)}
    for weight, margin in settings():
        out[label(weight, margin)] = in_context(m, embedder, turns, user, weight, margin)
    return out


def recalls(m: Memory, embedder, keys_of: dict, turns_per_query: list[list[str]],
            queries) -> dict[str, tuple[float, float, float]]:
    """R@5, R@10 and the share of queries that leaned on their earlier turns, per query form."""
    figures: dict[str, tuple[list[float], list[float], list[float]]] = {}
    for turns, q in zip(turns_per_query, queries):
        for name, (order, leaned) in rankings(m, embedder, turns, q.user).items():
            ranked = [k for i in order[:10] for k in keys_of[i]]
            r5, r10, used = figures.setdefault(name, ([], [], []))
            r5.append(recall_at(ranked, q.gold, 5))
            r10.append(recall_at(ranked, q.gold, 10))
            used.append(float(leaned))
    return {name: (statistics.mean(a), statistics.mean(b), statistics.mean(c)) for name, (a, b, c) in figures.items()}


def unrelated(turns: list[list[str]], queries) -> list[list[str]]:
    """Each query's last turn after the earlier turns of another query: of another user
    where there is one (LoCoMo: another conversation's questions, spread over them),
    else of the query half the list away (MADial: another dialogue)."""
    n, out = len(turns), []
    users = sorted({q.user for q in queries})
    full = {u: [j for j, q in enumerate(queries) if q.user == u and len(turns[j]) > 2] for u in users}
    for i, q in enumerate(queries):
        others = [u for u in users if u != q.user and full[u]]
        j = full[others[i % len(others)]][i % len(full[others[i % len(others)]])] if others else (i + n // 2) % n
        out.append(turns[j][:-1][-2:] + [turns[i][-1]])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locomo", help="path to locomo-dev.json")
    ap.add_argument("--madial", help="folder with dev-memories.jsonl and dev-queries.jsonl")
    ap.add_argument("--embedding-cache", type=Path, help="folder that keeps the dev-set texts' vectors between runs")
    ap.add_argument("--unrelated", action="store_true",
                    help="the turns before each question come from another conversation (LoCoMo: another "
                         "user's questions) or another dialogue (MADial): a user who changed the subject entirely")
    args = ap.parse_args()
    embedder = CachedEmbedder(create_embedder(EmbedderConfig()), args.embedding_cache)
    sets = []
    if args.madial:
        sets.append(("madial-zh", load_madial(args.madial, in_context=True), "message"))
    if args.locomo:
        sets.append(("locomo", load_locomo(args.locomo), "session"))
    print("| set | half | query | R@5 | R@10 | leaned on earlier turns |\n|---|---|---|---|---|---|")
    for name, rs, protocol in sets:
        for half, part in halves(rs).items():
            if name == "locomo":
                asked: dict[str, list[str]] = {}
                turns = []
                for q in part.queries:
                    before = asked.setdefault(q.user, [])
                    turns.append(before[-2:] + [q.text])
                    before.append(q.text)
            else:
                turns = [[*q.context, q.text] for q in part.queries]
            if args.unrelated:
                turns = unrelated(turns, part.queries)
            with tempfile.TemporaryDirectory() as d, Memory({"data_dir": d}, embedder=embedder) as m:
                keys_of = store_set(m, part, protocol)
                for query, (r5, r10, used) in recalls(m, embedder, keys_of, turns, part.queries).items():
                    print(f"| {name} | {half} | {query} | {r5:.3f} | {r10:.3f} | {used:.0%} |", flush=True)


if __name__ == "__main__":
    main()
