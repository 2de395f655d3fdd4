"""What the proxy injects, measured through the chat API on the dev sets: per chat turn,
how many memories go into the prompt and what share of them is relevant (gold).

    python -m bench.injection_bench --locomo ../shared/data/locomo/locomo-dev.json \
                                    --madial ../shared/data/madial-zh [--queries 150]

For each set and each half (users split as in bench/memory_bench.py: tuning half, check
half), the memories are stored with the library one message per add() (as the proxy
writes a chat), then a real `memproxy serve` process (its default injection settings:
threshold, limit, token budget) answers one chat per question through HTTP, with the
question as the user's message, `user` = the set's user, and writing off. The fake
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.memory_bench import halves, store_set
from bench.proxy_bench import free_port, wait_http
from bench.retrieval_sets import load_locomo, load_madial
from memory_core import Memory

REPO = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(message, flush=True)


def measure(rs, label: str, queries: int, workdir: Path, upstream: str) -> dict[str, float]:
    data_dir = workdir / f"data-{rs.name}-{label.replace(' ', '-')}"
    log(f"\n## {rs.name} {label}: storing {sum(len(v) for v in rs.memories.values())} memories, one add() per message")
    with Memory({"data_dir": str(data_dir)}) as m:
        keys_of = store_set(m, rs, "message")
    port = free_port()
    config = {"server": {"host": "127.0.0.1", "port": port}, "auth": {"open": True},
              "models": [{"name": "echo", "model": "openai/echo", "api_base": upstream, "api_key": "sk-bench"}],
              "memory": {"data_dir": str(data_dir)}}
    (workdir / "memproxy.yaml").write_text(json.dumps(config))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    server = subprocess.Popen([sys.executable, "-m", "proxy", "serve", "--config", str(workdir / "memproxy.yaml")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/readyz", 180, server)
        picked = random.Random(0).sample(rs.queries, min(queries, len(rs.queries)))
        injected, precision, recall, empty = [], [], [], 0
        with httpx.Client(base_url=url, timeout=60) as client:
            for i, q in enumerate(picked):
                response = client.post("/v1/chat/completions", json={
                    "model": "echo", "user": q.user, "memory": {"write": False},
                    "messages": [{"role": "user", "content": q.text}]})
                response.raise_for_status()
                ids = [i for i in response.headers.get("x-memory-ids", "").split(",") if i]
                keys = {k for mid in ids for k in keys_of.get(mid, [])}
                injected.append(len(ids))
                if ids:
                    precision.append(len(keys & q.gold) / len(keys))
                else:
                    empty += 1
                recall.append(len(keys & q.gold) / len(q.gold) if q.gold else 0.0)
                if (i + 1) % 50 == 0:
                    log(f"  {i + 1}/{len(picked)} chats")
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = {"injected per turn": statistics.mean(injected),
               "precision": statistics.mean(precision) if precision else 0.0,
               "recall": statistics.mean(recall), "turns with none": empty / len(picked)}
    log("  " + "  ".join(f"{name} {value:.2f}" for name, value in figures.items()) + f"  (n={len(picked)})")
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locomo", help="path to locomo-dev.json")
    ap.add_argument("--madial", help="folder with dev-memories.jsonl and dev-queries.jsonl")
    ap.add_argument("--queries", type=int, default=150, help="chats per half (a fixed random sample)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not (args.locomo or args.madial):
        ap.error("give --locomo and/or --madial")
    sets = []
    if args.locomo:
        sets.append(load_locomo(args.locomo))
    if args.madial:
        sets.append(load_madial(args.madial, last_turn_only=True))  # a chat turn is one user message
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        upstream = subprocess.Popen([sys.executable, str(REPO / "tests/proxy/fake_upstream.py"), "--port", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}/v1/models", 60, upstream)
            started = time.monotonic()
            for rs in sets:
                for label, part in halves(rs).items():
                    results[f"{rs.name} {label}"] = measure(part, f"{label} half", args.queries, workdir,
                                                            f"http://127.0.0.1:{port}/v1")
        finally:
            upstream.terminate()
    log(f"\n| set, half | injected per turn | precision | recall | turns with none |\n|---|---|---|---|---|")
    for name, f in results.items():
        log(f"| {name} | {f['injected per turn']:.2f} | {f['precision']:.2f} | {f['recall']:.2f} | "
            f"{f['turns with none']:.0%} |")
    log(f"({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
