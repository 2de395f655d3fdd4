"""Should the proxy search with the recent user turns instead of the last one? The
research behind docs/retrieval.md "The query: the last user message".

    python -m research.query_research --locomo ../shared/data/locomo/locomo-dev.json \
        --madial ../shared/data/madial-zh

For each half (bench/memory_bench.py's halves), R@5 / R@10 of four queries: the last user
turn; the last three user turns as one text ("window"); and the RRF of those two
searches' top 20 (weights 1:1 and 2:1 for the last turn). MADial's dialogues give the
turns before the test turn (one topic each). LoCoMo's questions have none, so each
question gets the two questions asked before it about the same conversation as its
earlier turns: what a user who changes the subject sends.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile

from bench.memory_bench import halves, store_set
from bench.retrieval_sets import load_locomo, load_madial, recall_at
from memory_core import Memory
from memory_core.embedding import create_embedder
from memory_core.embedding.config import EmbedderConfig

_TURN = re.compile(r'<([^>]+)>:"?(.*?)"?$')


def rrf(rankings: list[list[str]], weights: list[float], k: int = 60) -> list[str]:
    scores: dict[str, float] = {}
    for weight, ranking in zip(weights, rankings):
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores, key=lambda i: -scores[i])


def user_turns(dialogue: str) -> list[str]:
    turns = [_TURN.match(line.strip()) for line in dialogue.split("\n")]
    return [t.group(2) for t in turns if t and t.group(1) != "Assistant"]


def recalls(m: Memory, keys_of: dict, turns_per_query: list[list[str]], queries) -> dict[str, tuple[float, float]]:
    figures: dict[str, tuple[list[float], list[float]]] = {}
    for turns, q in zip(turns_per_query, queries):
        def ids(text: str) -> list[str]:
            return [r["id"] for r in m.search(text, user_id=q.user, limit=20, threshold=0.0)["results"]]
        last, window = ids(turns[-1]), ids("\n".join(turns[-3:]))
        for name, order in (("last user turn", last), ("last 3 user turns", window),
                            ("RRF 1:1", rrf([last, window], [1, 1])), ("RRF 2:1", rrf([last, window], [2, 1]))):
            ranked = [k for i in order[:10] for k in keys_of[i]]
            r5, r10 = figures.setdefault(name, ([], []))
            r5.append(recall_at(ranked, q.gold, 5))
            r10.append(recall_at(ranked, q.gold, 10))
    return {name: (statistics.mean(a), statistics.mean(b)) for name, (a, b) in figures.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locomo", help="path to locomo-dev.json")
    ap.add_argument("--madial", help="folder with dev-memories.jsonl and dev-queries.jsonl")
    args = ap.parse_args()
    embedder = create_embedder(EmbedderConfig())
    sets = []
    if args.madial:
        sets.append(("madial-zh", load_madial(args.madial), "message"))
    if args.locomo:
        sets.append(("locomo", load_locomo(args.locomo), "session"))
    print("| set | half | query | R@5 | R@10 |\n|---|---|---|---|---|")
    for name, rs, protocol in sets:
        for label, part in halves(rs).items():
            if name == "locomo":
                asked: dict[str, list[str]] = {}
                turns = []
                for q in part.queries:
                    before = asked.setdefault(q.user, [])
                    turns.append(before[-2:] + [q.text])
                    before.append(q.text)
            else:
                turns = [user_turns(q.text) for q in part.queries]
            with tempfile.TemporaryDirectory() as d, Memory({"data_dir": d}, embedder=embedder) as m:
                keys_of = store_set(m, part, protocol)
                for query, (r5, r10) in recalls(m, keys_of, turns, part.queries).items():
                    print(f"| {name} | {label} | {query} | {r5:.3f} | {r10:.3f} |", flush=True)


if __name__ == "__main__":
    main()
