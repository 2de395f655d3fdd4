"""The shared-state mode under load: requests/s with memory on (a user with
--memories memories, the top 10 injected) for one embedded server, one replica on
PostgreSQL and two replicas on the same PostgreSQL, in the same run on this machine; then
how many exchanges each setup stores per second (chats with memory writes on, raw mode:
every write embeds and stores the user's message), until the write queue is empty.

    python -m bench.replicas_bench                    # ~3 min
    python -m bench.replicas_bench --duration 10 --rounds 3 --json out.json

Every server is its own process; PostgreSQL is the pgserver wheel's (16 + pgvector) on a
Unix socket in a temporary folder. With two replicas, two wrk processes load one replica
each with half the connections, and their requests are added up (what a load balancer in
front of both would see). On a 2-core machine both replicas, PostgreSQL and wrk share
the same two cores, so two replicas show the cost of sharing, not a scale-out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.proxy_bench import (BENCH_USER, REPO, body, free_port, log, median, rss_mb, seed_memories, spawn,
                               stop_all, wrk)


class Cluster:
    def __init__(self, workdir: Path, memories: int) -> None:
        self.workdir, self.memories = workdir, memories
        self.processes: list[subprocess.Popen] = []
        self.env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(REPO)}
        self.database_url = ""
        self.urls: dict[str, str] = {}
        self.pids: dict[str, int] = {}

    def start(self) -> None:
        import pgserver

        self.postgres = pgserver.get_server(str(self.workdir / "postgres"), cleanup_mode="stop")
        self.database_url = self.postgres.get_uri()
        port = free_port()
        self._spawn("upstream", [sys.executable, str(REPO / "tests/proxy/fake_upstream.py"), "--port", str(port)],
                    f"http://127.0.0.1:{port}", "/v1/models")
        self.upstream = f"http://127.0.0.1:{port}/v1"
        log(f"seeding {self.memories} memories into the embedded store and into PostgreSQL ...")
        seed_memories(self.workdir / "embedded-data", self.memories)
        seed_memories(self.workdir / "seed-data", self.memories, {"database_url": self.database_url})
        self._serve("embedded", {})
        self.replica(1)

    def replica(self, n: int) -> None:
        self._serve(f"replica-{n}", {"database": {"url": self.database_url, "replica": f"replica-{n}"}})

    def _serve(self, name: str, extra: dict[str, Any]) -> None:
        port = free_port()
        config = {"server": {"host": "127.0.0.1", "port": port},
                  "models": [{"name": "echo", "model": "openai/echo", "api_base": self.upstream, "api_key": "sk-b"}],
                  "router": {"num_retries": 0}, "memory": {"data_dir": str(self.workdir / f"{name}-data")},
                  "injection": {"threshold": 0.0, "limit": 10}, **extra}
        if name == "embedded":
            config["memory"]["data_dir"] = str(self.workdir / "embedded-data")
        path = self.workdir / f"{name}.yaml"
        path.write_text(json.dumps(config))
        self._spawn(name, [sys.executable, "-m", "proxy", "serve", "--config", str(path)],
                    f"http://127.0.0.1:{port}", "/readyz", timeout=180)

    def _spawn(self, name: str, command: list[str], url: str, probe: str, timeout: float = 60) -> None:
        process = spawn(self.processes, self.workdir, name, command, self.env, url + probe, timeout)
        self.urls[name], self.pids[name] = url, process.pid
        log(f"{name} ready at {url}")

    def stop(self) -> None:
        stop_all(self.processes)
        self.postgres.cleanup()


def load(urls: list[str], concurrency: int, duration: float) -> dict[str, float]:
    """wrk on each url at once (concurrency split between them); requests/s summed."""
    request = body(BENCH_USER)
    share = max(1, concurrency // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        runs = list(pool.map(lambda u: wrk(u + "/v1/chat/completions", share, duration, request,
                                           "X-Memory-Write: false"), urls))
    return {"rps": sum(r["rps"] for r in runs), "p50_ms": max(r["p50_us"] for r in runs) / 1000,
            "p95_ms": max(r["p95_us"] for r in runs) / 1000,
            "errors": sum(r["socket_errors"] + r["non2xx"] for r in runs)}


def store_rate(urls: list[str], exchanges: int, tag: str) -> float:
    """Exchanges stored per second: ``exchanges`` chats (40 users, 8 at a time, spread over
    ``urls``) with memory writes on, timed from the first chat until the queue is empty."""
    import httpx

    def chat(i: int) -> int:
        return httpx.post(urls[i % len(urls)] + "/v1/chat/completions", timeout=60, json={
            "model": "echo", "user": f"{tag}-{i % 40}",
            "messages": [{"role": "user", "content": f"fact number {i}: I collect {tag} stamps from {i}"}]}).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(chat, range(exchanges)))
    if statuses.count(200) != exchanges:
        raise RuntimeError(f"{exchanges - statuses.count(200)} chats failed")
    while httpx.get(urls[0] + "/readyz", timeout=30).json()["write_queue"]["pending"]:
        time.sleep(0.05)
    return exchanges / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--exchanges", type=int, default=300, help="chats stored for the queue throughput")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the load (apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="replicas-bench-"))
    cluster = Cluster(workdir, args.memories)
    scenarios = {"embedded, 1 server": ["embedded"], "PostgreSQL, 1 replica": ["replica-1"],
                 "PostgreSQL, 2 replicas": ["replica-1", "replica-2"]}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
    stored: dict[str, float] = {}

    def measure(names: list[str]) -> None:
        for name in names:
            load([cluster.urls[s] for s in scenarios[name]], 4, 2)  # warm-up
        for round_no in range(args.rounds):
            for name in names:
                figures = load([cluster.urls[s] for s in scenarios[name]], args.concurrency, args.duration)
                runs[name].append(figures)
                log(f"round {round_no + 1} {name:>24}: {figures['rps']:6.1f} req/s  p50 {figures['p50_ms']:.1f} ms  "
                    f"p95 {figures['p95_ms']:.1f} ms  errors {figures['errors']}")
        for name in names:
            stored[name] = store_rate([cluster.urls[s] for s in scenarios[name]], args.exchanges,
                                      name.split(",")[0].split()[0].lower() + str(len(scenarios[name])))
            log(f"{name:>24}: {stored[name]:.1f} exchanges stored/s")

    try:
        cluster.start()
        measure(["embedded, 1 server", "PostgreSQL, 1 replica"])  # replica 2 not started: it would drain too
        cluster.replica(2)
        measure(["PostgreSQL, 2 replicas"])
        rss = {name: rss_mb(pid) for name, pid in cluster.pids.items()}
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    summary = {name: {k: median([r[k] for r in rounds]) for k in ("rps", "p50_ms", "p95_ms", "errors")}
               for name, rounds in runs.items()}
    print(f"\nmemory on, {args.memories} memories, c={args.concurrency}, median of {args.rounds} rounds "
          f"of {args.duration:.0f} s (load before {os.getloadavg()[0]:.1f}):")
    print("| setup | req/s | p50 ms | p95 ms | errors | exchanges stored/s |\n|---|---|---|---|---|---|")
    for name, figures in summary.items():
        print(f"| {name} | {figures['rps']:.1f} | {figures['p50_ms']:.1f} | {figures['p95_ms']:.1f} | "
              f"{figures['errors']:.0f} | {stored[name]:.1f} |")
    print("RSS MB (current, peak): " + ", ".join(f"{n} {v[0]:.0f}/{v[1]:.0f}" for n, v in rss.items()
                                                 if n != "upstream"))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary, "stored_per_s": stored, "rss_mb": rss,
                                         "args": vars(args)},
                                        default=str, indent=2))


if __name__ == "__main__":
    main()
