"""Benchmark of the background write queue alone: jobs/s through put + ready + done.

    python -m bench.queue_bench                           # a throwaway PostgreSQL (pgserver) in a temp dir
    python -m bench.queue_bench --url postgresql://u:p@db/memproxy --jobs 5000
    python -m bench.queue_bench --replicas 1,2,4 --sqlite-dir /tmp/q

Each replica is a process of its own (as memproxy replicas are): a pool, a
PostgresWriteQueue and a MemoryWriter whose memory does nothing, so only the queue is
measured. Cases:

- ``pipeline``: every replica submits its share of ``--jobs`` (spread over ``--subjects``
  users) while its writer drains the shared queue; jobs/s from the start signal until
  the queue is empty. The SQLite queue (one process) is the baseline.
- ``drain``: the queue is filled first; jobs/s of ready + done alone.
- ``put``: put latency from one thread, and puts/s from 8 threads.
- ``wake``: one replica enqueues a job every ~50 ms and another applies it; the delay
  from put to apply, with LISTEN/NOTIFY and with polling alone (every 0.5 s).

Destructive on ``--url``: it empties the queue's tables there. Figures depend on the
machine and on how far the database is (pgserver: a Unix socket on the same host).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from memory_core.postgres import connect

from proxy.config import WriterConfig
from proxy.subject import Subject
from proxy.writer import MemoryWriter, PostgresWriteQueue, WriteQueue
from proxy.writer.postgres_queue import DEAD, JOBS


class NoopMemory:
    """Accepts every write at once; records the put-to-apply delay when the payload says when."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def add(self, messages: Any, *, metadata: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        if metadata and "t" in metadata:
            self.delays.append(time.time() - metadata["t"])
        return {"results": []}


def open_queue(target: str, name: str, *, listen: bool = True, poll: float = 0.5) -> tuple[Any, Any]:
    if target.startswith("sqlite:"):
        return WriteQueue(target.removeprefix("sqlite:")), None
    pool = connect(target, max_size=4)
    return PostgresWriteQueue(pool, name, listen=listen, poll_interval=poll), pool


def replica_main(target: str, name: str, puts: int, subjects: int, offset: int, concurrency: int,
                 listen: bool, go: Any, results: Any) -> None:
    results.put(asyncio.run(_replica(target, name, puts, subjects, offset, concurrency, listen, go)))


async def _replica(target: str, name: str, puts: int, subjects: int, offset: int, concurrency: int,
                   listen: bool, go: Any) -> dict[str, Any]:
    queue, pool = open_queue(target, name, listen=listen)
    memory = NoopMemory()
    writer = MemoryWriter(queue, WriterConfig(concurrency=concurrency), memory=lambda: memory)
    await asyncio.to_thread(go.wait)
    started = time.perf_counter()
    writer.start()

    def submit_all() -> None:
        for i in range(offset, offset + puts):
            writer.submit(Subject("bench", f"u{i % subjects}"), [{"role": "user", "content": f"fact {i}"}])

    await asyncio.to_thread(submit_all)
    put_s = time.perf_counter() - started
    await writer.drain(timeout=900)
    elapsed = time.perf_counter() - started
    await writer.stop()
    queue.close()
    if pool is not None:
        pool.close()
    return {"name": name, "applied": writer.applied, "elapsed": elapsed, "put_s": put_s}


def empty(target: str) -> None:
    if target.startswith("sqlite:"):
        Path(target.removeprefix("sqlite:")).unlink(missing_ok=True)
        return
    queue, pool = open_queue(target, "bench", listen=False)  # creates the tables
    with pool.connection() as conn:
        conn.execute(f"TRUNCATE {JOBS}, {DEAD} RESTART IDENTITY")
    pool.close()


def fill(target: str, jobs: int, subjects: int) -> None:
    queue, pool = open_queue(target, "filler", listen=False)

    def put_range(start: int) -> None:
        for i in range(start, jobs, 8):
            queue.put(f"bench:u{i % subjects}", {"messages": [{"role": "user", "content": f"fact {i}"}],
                                                 "tenant": "bench", "user_id": f"u{i % subjects}"})

    with ThreadPoolExecutor(8) as threads:
        list(threads.map(put_range, range(8)))
    queue.close()
    if pool is not None:
        pool.close()


def run_replicas(target: str, replicas: int, jobs: int, subjects: int, concurrency: int, *,
                 prefilled: bool, listen: bool = True) -> dict[str, Any]:
    empty(target)
    if prefilled:
        fill(target, jobs, subjects)
    spawn = multiprocessing.get_context("spawn")
    go, results = spawn.Event(), spawn.Queue()
    share = 0 if prefilled else jobs // replicas
    processes = [spawn.Process(target=replica_main, args=(target, f"r{n}", share, subjects, n * share,
                                                          concurrency, listen, go, results))
                 for n in range(replicas)]
    for process in processes:
        process.start()
    time.sleep(3.0)  # every replica imported and connected
    go.set()
    reports = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join()
    elapsed = max(r["elapsed"] for r in reports)
    applied = sum(r["applied"] for r in reports)
    assert applied >= jobs, f"applied {applied} of {jobs}"
    return {"replicas": replicas, "jobs": jobs, "jobs_per_s": round(jobs / elapsed),
            "seconds": round(elapsed, 2), "submit_seconds": round(max(r["put_s"] for r in reports), 2),
            "applied_per_replica": [r["applied"] for r in reports]}


def put_latency(target: str, n: int = 500) -> dict[str, Any]:
    empty(target)
    queue, pool = open_queue(target, "putter", listen=False)
    times = []
    for i in range(n):
        started = time.perf_counter()
        queue.put(f"bench:u{i % 50}", {"messages": [{"role": "user", "content": "x" * 200}]})
        times.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as threads:
        list(threads.map(lambda i: queue.put(f"bench:u{i % 50}", {"messages": []}), range(n * 4)))
    parallel = n * 4 / (time.perf_counter() - started)
    queue.close()
    if pool is not None:
        pool.close()
    times.sort()
    return {"put_p50_ms": round(times[len(times) // 2], 2), "put_p95_ms": round(times[int(len(times) * 0.95)], 2),
            "puts_per_s_8_threads": round(parallel)}


def wake_delay(url: str, listen: bool, n: int = 60) -> dict[str, Any]:
    """put on one replica (a thread here), apply on another with its own pool and writer."""
    empty(url)
    delays: list[float] = []
    done = threading.Event()

    async def consumer() -> None:
        queue, pool = open_queue(url, "consumer", listen=listen, poll=0.5)
        memory = NoopMemory()
        writer = MemoryWriter(queue, WriterConfig(concurrency=2), memory=lambda: memory)
        writer.start()
        await asyncio.to_thread(done.wait)
        await writer.drain()
        await writer.stop()
        queue.close()
        pool.close()
        delays.extend(memory.delays)

    thread = threading.Thread(target=asyncio.run, args=(consumer(),))
    thread.start()
    time.sleep(1.0)
    producer, pool = open_queue(url, "producer", listen=False)
    for i in range(n):
        time.sleep(0.03 + (i * 0.0137) % 0.05)  # spread over the poll's phase
        producer.put(f"bench:u{i}", {"messages": [{"role": "user", "content": "x"}], "tenant": "bench",
                                     "user_id": f"u{i}", "metadata": {"t": time.time()}})
    done.set()
    thread.join()
    producer.close()
    pool.close()
    ms = sorted(d * 1000 for d in delays)
    return {"listen": listen, "wake_p50_ms": round(statistics.median(ms), 1),
            "wake_p95_ms": round(ms[int(len(ms) * 0.95)], 1), "wake_max_ms": round(ms[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a PostgreSQL to use (its queue tables are emptied); default: pgserver")
    parser.add_argument("--pg-dir", type=Path, help="where the pgserver lives (default: a temp dir)")
    parser.add_argument("--sqlite-dir", type=Path, help="where the SQLite baseline's file goes (default: a temp dir)")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--concurrency", type=int, default=8, help="writer.concurrency of each replica")
    parser.add_argument("--cases", default="put,pipeline,drain,wake")
    parser.add_argument("--no-listen", action="store_true", help="pipeline and drain with polling alone")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    counts = [int(r) for r in args.replicas.split(",")]

    server = None
    url = args.url
    if url is None:
        import pgserver

        server = pgserver.get_server(str(args.pg_dir or tempfile.mkdtemp(prefix="memproxy-queue-bench-")),
                                     cleanup_mode="stop")
        url = server.get_uri()
    sqlite = f"sqlite:{(args.sqlite_dir or Path(tempfile.mkdtemp(prefix='memproxy-queue-bench-'))) / 'q.sqlite3'}"
    results: dict[str, Any] = {"jobs": args.jobs, "subjects": args.subjects, "concurrency": args.concurrency}
    try:
        if "put" in cases:
            results["put"] = {"postgres": put_latency(url), "sqlite": put_latency(sqlite)}
            print("put", json.dumps(results["put"]), flush=True)
        for case in ("pipeline", "drain"):
            if case not in cases:
                continue
            rows = [{"queue": "sqlite", **run_replicas(sqlite, 1, args.jobs, args.subjects, args.concurrency,
                                                       prefilled=case == "drain")}]
            for n in counts:
                rows.append({"queue": "postgres", "listen": not args.no_listen,
                             **run_replicas(url, n, args.jobs, args.subjects, args.concurrency,
                                            prefilled=case == "drain", listen=not args.no_listen)})
            results[case] = rows
            for row in rows:
                print(case, json.dumps(row), flush=True)
        if "wake" in cases:
            results["wake"] = [wake_delay(url, listen=True), wake_delay(url, listen=False)]
            for row in results["wake"]:
                print("wake", json.dumps(row), flush=True)
    finally:
        if server is not None:
            server.cleanup()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
