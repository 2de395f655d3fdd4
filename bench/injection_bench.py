"""What the proxy injects, measured through the chat API on the dev sets: per chat turn,
how many memories go into the prompt and what share of them is relevant (gold).

    python -m bench.injection_bench --locomo ../shared/data/locomo/locomo-dev.json \
                                    --madial ../shared/data/madial-zh [--queries 150]

For each set and each half (users split as in bench/memory_bench.py: tuning half, check
half), the memories are stored with the library one message per add() (as the proxy
writes a chat), then a real `memproxy serve` process (its default injection settings:
threshold, limit, token budget) answers one chat per question through HTTP (LoCoMo: the
question as the user's message; MADial: the dialogue up to its last user turn, so the
proxy's search leans on the earlier turns as it would in that chat), `user` = the set's
user, and writing off. The fake
upstream (tests/proxy/fake_upstream.py) answers; the injected ids come from the
`X-Memory-Ids` header. Reported per half: mean memories injected per turn, their
precision (gold among injected), recall (gold found among all gold), and the share of
turns with nothing injected.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from bench.memory_bench import gold_count, halves, store_set
from bench.proxy_bench import free_port, spawn, stop_all
from bench.retrieval_sets import load_locomo, load_madial
from memory_core import Memory

REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(message, flush=True)


@contextmanager
def fake_upstream(workdir: Path) -> Iterator[str]:
    """The fake OpenAI upstream (tests/proxy/fake_upstream.py) running, as its base URL."""
    processes: list = []
    port = free_port()
    try:
        spawn(processes, workdir, "upstream", [sys.executable, str(REPO / "tests/proxy/fake_upstream.py"),
                                              "--port", str(port)],
              dict(os.environ), f"http://127.0.0.1:{port}/v1/models", 60)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_all(processes)


def measure(rs, label: str, queries: int, workdir: Path, upstream: str, memory: dict | None = None,
            embedder=None) -> dict[str, float]:
    """Store ``rs`` one message per add(), then ask ``queries`` of its questions (a fixed
    sample) through a `memproxy serve` on ``upstream``. ``memory``: more memory config,
    for the store and the server alike; ``embedder``: an already loaded one that matches it."""
    data_dir = workdir / f"data-{rs.name}-{label.replace(' ', '-')}"
    memory = {**(memory or {}), "data_dir": str(data_dir)}
    log(f"\n## {rs.name} {label}: storing {sum(len(v) for v in rs.memories.values())} memories, one add() per message")
    with Memory(memory, embedder=embedder) as m:
        keys_of = store_set(m, rs, "message")
    port = free_port()
    config = {"server": {"host": "127.0.0.1", "port": port}, "auth": {"open": True},
              "models": [{"name": "echo", "model": "openai/echo", "api_base": upstream, "api_key": "sk-bench"}],
              "memory": memory}
    (workdir / "memproxy.yaml").write_text(json.dumps(config))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    url = f"http://127.0.0.1:{port}"
    processes: list = []
    try:
        spawn(processes, workdir, "memproxy", [sys.executable, "-m", "proxy", "serve", "--config",
                                               str(workdir / "memproxy.yaml")], env, url + "/readyz", 180)
        picked = random.Random(0).sample(rs.queries, min(queries, len(rs.queries)))
        injected, precision, recall, empty = [], [], [], 0
        with httpx.Client(base_url=url, timeout=60) as client:
            for i, q in enumerate(picked):
                # The chat as it happened where the set has one (MADial), else the question alone.
                messages = [{"role": role, "content": text} for role, text in q.dialogue] or \
                    [{"role": "user", "content": q.text}]
                response = client.post("/v1/chat/completions", json={
                    "model": "echo", "user": q.user, "memory": {"write": False}, "messages": messages})
                response.raise_for_status()
                ids = [i for i in response.headers.get("x-memory-ids", "").split(",") if i]
                keys = {k for mid in ids for k in keys_of.get(mid, [])}
                injected.append(len(ids))
                if ids:
                    precision.append(gold_count(ids, keys_of, q.gold) / len(ids))
                else:
                    empty += 1
                recall.append(len(keys & q.gold) / len(q.gold) if q.gold else 0.0)
                if (i + 1) % 50 == 0:
                    log(f"  {i + 1}/{len(picked)} chats")
    finally:
        stop_all(processes)
    figures = {"injected per turn": statistics.mean(injected),
               "precision": statistics.mean(precision) if precision else 0.0,
               "recall": statistics.mean(recall), "turns with none": empty / len(picked)}
    log("  " + "  ".join(f"{name} {value:.2f}" for name, value in figures.items()) + f"  (n={len(picked)})")
    return figures


def injection_sets(locomo: str | None, madial: str | None) -> list:
    """The sets as the chat sees them: LoCoMo's questions (each a new chat of one user
    message), MADial's dialogues up to the last user turn (the chat's messages)."""
    return ([load_locomo(locomo)] if locomo else []) + \
        ([load_madial(madial, in_context=True)] if madial else [])


def measure_sets(sets: list, queries: int, memory: dict | None = None, embedder=None) -> dict[str, dict[str, float]]:
    """measure() on each half of each set, with one fake upstream, in a temporary folder;
    figures by "set half"."""
    results: dict[str, dict[str, float]] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="injection_bench_") as tmp, fake_upstream(Path(tmp)) as upstream:
        for rs in sets:
            for label, part in halves(rs).items():
                results[f"{rs.name} {label}"] = measure(part, f"{label} half", queries, Path(tmp), upstream,
                                                        memory, embedder)
    log(f"({time.monotonic() - started:.0f} s)")
    return results


def print_table(results: dict[str, dict[str, float]]) -> None:
    log("\n| set, half | injected per turn | precision | recall | turns with none |\n|---|---|---|---|---|")
    for name, f in results.items():
        log(f"| {name} | {f['injected per turn']:.2f} | {f['precision']:.2f} | {f['recall']:.2f} | "
            f"{f['turns with none']:.0%} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locomo", help="path to locomo-dev.json")
    ap.add_argument("--madial", help="folder with dev-memories.jsonl and dev-queries.jsonl")
    ap.add_argument("--queries", type=int, default=150, help="chats per half (a fixed random sample)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not (args.locomo or args.madial):
        ap.error("give --locomo and/or --madial")
    results = measure_sets(injection_sets(args.locomo, args.madial), args.queries)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
