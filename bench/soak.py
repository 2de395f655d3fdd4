"""Does memproxy's memory level off under a long mixed load? RSS, its anonymous and
file-backed parts, threads and the stored memory count, sampled while a mixed load runs.

    .venv/bin/python -m bench.soak                                  # 30 minutes, concurrency 8
    .venv/bin/python -m bench.soak --duration 5 --json soak.json
    .venv/bin/python -m bench.soak --duration 5 --server-env MALLOC_ARENA_MAX=2
    .venv/bin/python -m bench.soak --duration 5 --mix chat=1        # one kind of request only

Run it as a module from the repository root (it imports bench.proxy_bench). Two
processes are started, as bench/proxy_bench.py starts them: the fake OpenAI upstream
(tests/proxy/fake_upstream.py, answering at once) and memproxy (`python -m proxy serve`
with an API key made by `python -m proxy keys create`, or `--open`). The memory LLM is
not configured, so memories are stored as said (raw mode): every chat's user message
becomes a memory through the background writer, without LLM calls.

The load is `--concurrency` workers, each sending one request after the other, drawn
from a weighted mix (`--mix`, the kinds below) for a pool of `--users` users:

  chat   POST /v1/chat/completions, memory on (recall + a queued write), 1 in 4 streamed
  rest   /v1/memories: add, search, list, get, patch, history, delete one
  mem0   Mem0's routes: add (v3, v1), search (v3, v2), list (v3), get, update, history, ping

The stored count is kept bounded, so that a plateau means something: whenever a sample
finds more than `--max-memories` memories, the users with the most are deleted (all of
their memories, through `DELETE /v1/memories?userId=` or Mem0's entity route) until the
count is under 80% of it. History rows (kept after deletion, on disk) still grow.

Every ~10 s the server's RSS (/proc/PID/status and smaps_rollup), its thread count, the
stored count (Mem0's `GET /v1/entities/`) and the write queue (`GET /readyz`) are
sampled; a line is printed per minute; at the end a table per minute and the RSS slope
over the last half (least squares over its samples, MB/min). The exit status is 1 if any
request failed (a 5xx, a connection error, or an unexpected 4xx: a 404 for a memory that
a concurrent delete removed is expected and counted apart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.proxy_bench import REPO, Servers, free_port, litellm_version, log, rss_mb

MODEL = "echo"
SAMPLE_EVERY = 10.0  # seconds
KINDS = ("chat", "rest", "mem0")
DEFAULT_MIX = "chat=5,rest=3,mem0=2"

# Sentences are drawn from these so that raw-mode writes are mostly new memories (a near
# duplicate of an existing one is skipped) and searches find something.
_WHO = ["我", "I", "My sister", "我妈妈", "My colleague Wang", "我的室友", "My son", "我朋友李雷"]
_DOES = ["喜欢吃{x}", "likes {x}", "不能吃{x}", "is allergic to {x}", "每周都去{x}", "wants to visit {x}",
         "最近在学{x}", "collects {x}", "讨厌{x}", "bought a book about {x}", "梦想去{x}", "plays {x} on Sundays"]
_THINGS = ["火锅", "sushi", "成都", "jazz", "花生", "Kyoto", "日语", "vintage stamps", "麻婆豆腐", "tennis",
           "杭州", "green tea", "吉他", "the Alps", "饺子", "chess", "西安", "oil painting", "咖啡", "Lisbon",
           "篮球", "ramen", "云南", "sailing", "围棋", "tacos", "上海", "birdwatching", "烧烤", "Iceland"]
_WHEN = ["", "，从去年开始", " since 2019", "，每个周末", " every summer", "，已经三年了", " when it rains", "，小时候就这样"]


def sentence(rng: random.Random) -> str:
    does = rng.choice(_DOES).format(x=rng.choice(_THINGS))
    return f"{rng.choice(_WHO)} {does}{rng.choice(_WHEN)} (#{rng.randrange(10**6)})"


def parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in KINDS:
            raise argparse.ArgumentTypeError(f"unknown kind {name!r} in --mix (kinds: {', '.join(KINDS)})")
        mix[name.strip()] = float(weight or 1)
    if not any(mix.values()):
        raise argparse.ArgumentTypeError("--mix needs a positive weight")
    return mix


@dataclass
class Tally:
    """Requests and failures, in total and per minute of the run."""

    requests: int = 0
    errors: int = 0
    not_found: int = 0  # 404 for an id a concurrent delete removed: expected
    by_route: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # "POST /v1/memories 500" -> count
    per_minute: Counter = field(default_factory=Counter)
    errors_per_minute: Counter = field(default_factory=Counter)


class Load:
    """The workers' shared state: the client, the users, the ids each user is known to have."""

    def __init__(self, base: str, key: str | None, users: int, mix: dict[str, float], started: float,
                 seed: int = 0) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.AsyncClient(base_url=base, headers=headers, timeout=httpx.Timeout(30.0),
                                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        self.users = [f"soak-user-{i}" for i in range(users)]
        self.ids: dict[str, deque[str]] = {u: deque(maxlen=64) for u in self.users}
        self.kinds, self.weights = list(mix), list(mix.values())
        self.tally = Tally()
        self.started = started
        self.rng = random.Random(seed)
        self.stop = False

    async def call(self, method: str, url: str, route: str, *, expect_404: bool = False,
                   **kwargs: Any) -> httpx.Response | None:
        """One request, counted; the response if it succeeded (2xx, or an expected 404)."""
        minute = int((time.monotonic() - self.started) // 60)
        tally = self.tally
        tally.requests += 1
        tally.per_minute[minute] += 1
        tally.by_route[f"{method} {route}"] += 1
        try:
            if kwargs.pop("stream", False):
                async with self.client.stream(method, url, **kwargs) as response:
                    await response.aread()
            else:
                response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self._failed(minute, f"{method} {route} {type(exc).__name__}")
            return None
        if response.status_code == 404 and expect_404:
            tally.not_found += 1
            return None
        if response.status_code >= 400:
            self._failed(minute, f"{method} {route} {response.status_code}")
            if tally.failures[f"{method} {route} {response.status_code}"] <= 3:
                log(f"  {method} {url} -> {response.status_code}: {response.text[:300]}")
            return None
        return response

    def _failed(self, minute: int, what: str) -> None:
        self.tally.errors += 1
        self.tally.errors_per_minute[minute] += 1
        self.tally.failures[what] += 1

    def known(self, user: str, new_id: str | None) -> None:
        if new_id:
            self.ids[user].append(new_id)

    def some_id(self, user: str) -> str | None:
        ids = self.ids[user]
        return self.rng.choice(ids) if ids else None

    async def worker(self) -> None:
        while not self.stop:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            user = self.rng.choice(self.users)
            await getattr(self, kind)(user)

    async def chat(self, user: str) -> None:
        stream = self.rng.random() < 0.25
        body = {"model": MODEL, "messages": [{"role": "user", "content": sentence(self.rng)}],
                "user": user, "max_tokens": 64, "stream": stream}
        response = await self.call("POST", "/v1/chat/completions", "/v1/chat/completions", json=body,
                                   stream=stream)
        if response is not None:  # the injected memories' ids: more ids to get and change
            for memory_id in filter(None, response.headers.get("x-memory-ids", "").split(",")[:2]):
                self.known(user, memory_id)

    async def rest(self, user: str) -> None:
        rng, op = self.rng, self.rng.random()
        if op < 0.30:
            body = {"content": sentence(rng), "userId": user, "tags": [rng.choice(["food", "travel", "hobby"])],
                    "metadata": {"source": "soak", "n": rng.randrange(1000)}}
            # 404: a clean-up deleted the user's memories between the add and its read-back
            response = await self.call("POST", "/v1/memories", "/v1/memories", json=body, expect_404=True)
            if response is not None:
                self.known(user, response.json()["id"])
        elif op < 0.55:
            body = {"query": sentence(rng), "userId": user, "limit": 5, "threshold": 0.3}
            await self.call("POST", "/v1/memories/search", "/v1/memories/search", json=body)
        elif op < 0.65:
            params = {"userId": user, "page": rng.randint(1, 2), "limit": 20}
            await self.call("GET", "/v1/memories", "/v1/memories", params=params)
        else:
            memory_id = self.some_id(user)
            if memory_id is None:
                return
            path = f"/v1/memories/{memory_id}"
            if op < 0.78:
                await self.call("GET", path, "/v1/memories/{id}", expect_404=True)
            elif op < 0.88:
                await self.call("PATCH", path, "/v1/memories/{id}", expect_404=True,
                                json={"content": sentence(rng), "tags": ["changed"]})
            elif op < 0.94:
                await self.call("GET", path + "/history", "/v1/memories/{id}/history", expect_404=True)
            else:
                await self.call("DELETE", path, "/v1/memories/{id}", expect_404=True)

    async def mem0(self, user: str) -> None:
        rng, op = self.rng, self.rng.random()
        if op < 0.25:
            path = rng.choice(["/v3/memories/add/", "/v1/memories/"])
            body = {"messages": [{"role": "user", "content": sentence(rng)},
                                 {"role": "assistant", "content": "Noted."}], "user_id": user}
            response = await self.call("POST", path, path, json=body)
            if response is not None:
                for event in response.json().get("results", [])[:1]:
                    self.known(user, event.get("id"))
        elif op < 0.50:
            path = rng.choice(["/v3/memories/search/", "/v2/memories/search/"])
            body = {"query": sentence(rng), "filters": {"user_id": user}, "top_k": 5}
            await self.call("POST", path, path, json=body)
        elif op < 0.60:
            await self.call("POST", "/v3/memories/", "/v3/memories/", params={"page": 1, "page_size": 20},
                            json={"filters": {"user_id": user}})
        elif op < 0.65:
            await self.call("GET", "/v1/ping/", "/v1/ping/")
        else:
            memory_id = self.some_id(user)
            if memory_id is None:
                return
            path = f"/v1/memories/{memory_id}/"
            if op < 0.80:
                await self.call("GET", path, "/v1/memories/{id}/", expect_404=True)
            elif op < 0.92:
                await self.call("PUT", path, "/v1/memories/{id}/", expect_404=True, json={"text": sentence(rng)})
            else:
                await self.call("GET", path + "history/", "/v1/memories/{id}/history/", expect_404=True)

    async def stored(self) -> dict[str, int] | None:
        """Memories per user, from Mem0's entities route (one pass over the store)."""
        response = await self.call("GET", "/v1/entities/", "/v1/entities/")
        if response is None:
            return None
        return {e["name"]: e["total_memories"] for e in response.json()["results"] if e["type"] == "user"}

    async def prune(self, per_user: dict[str, int], ceiling: int) -> int:
        """Delete whole users, the largest first, until the store is under 80% of ``ceiling``."""
        total = sum(per_user.values())
        if total <= ceiling:
            return 0
        deleted = 0
        for user, count in sorted(per_user.items(), key=lambda item: -item[1]):
            if total <= 0.8 * ceiling:
                break
            if self.rng.random() < 0.5:
                await self.call("DELETE", "/v1/memories", "/v1/memories", params={"userId": user})
            else:
                path = f"/v2/entities/user/{user}/"
                await self.call("DELETE", path, "/v2/entities/user/{name}/")
            self.ids.get(user, deque()).clear()
            total -= count
            deleted += count
        return deleted

    async def queue(self) -> int | None:
        try:
            response = await self.client.get("/readyz")
            return response.json().get("write_queue", {}).get("pending")
        except (httpx.HTTPError, ValueError):
            return None


def memory_of(pid: int, data_dir: Path) -> dict[str, float]:
    """RSS and its parts, in MB: anonymous (heaps, arenas), file-backed (mapped files) and,
    of those, the files of the data directory (the vector store's segments and WAL)."""
    rss, peak = rss_mb(pid)
    parts = {"rss": rss, "peak": peak}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("Anonymous", "Pss_Anon", "Pss_File", "Pss_Shmem") and value.strip().endswith("kB"):
                parts[name.lower()] = int(value.split()[0]) / 1024
        store_kb, in_store = 0, False
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            if line[:1] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:  # a mapping's header
                in_store = str(data_dir) in line
            elif in_store and line.startswith("Rss:"):
                store_kb += int(line.split()[1])
        parts["store_files"] = store_kb / 1024
    except OSError:
        pass
    status = Path(f"/proc/{pid}/status").read_text()
    parts["threads"] = float(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))
    try:
        parts["fds"] = float(len(os.listdir(f"/proc/{pid}/fd")))
    except OSError:
        pass
    return parts


class SoakServers(Servers):
    """The fake upstream and memproxy, started as bench/proxy_bench.py starts them (its
    _spawn and stop), with a fresh data directory and a key unless ``open_mode``."""

    def __init__(self, workdir: Path, *, port: int, upstream_port: int, open_mode: bool,
                 server_env: dict[str, str]) -> None:
        super().__init__(workdir, 0, with_litellm=False)
        self.port, self.upstream_port = port or free_port(), upstream_port or free_port()
        self.open_mode = open_mode
        self.server_env = server_env
        self.key: str | None = None
        self.data_dir = workdir / "memproxy-data"

    def start(self) -> None:
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(REPO)}
        self._spawn("upstream", [sys.executable, str(REPO / "tests/proxy/fake_upstream.py"), "--port",
                                 str(self.upstream_port)], env, f"http://127.0.0.1:{self.upstream_port}", "/v1/models")
        data_dir = self.data_dir
        config = {
            "server": {"host": "127.0.0.1", "port": self.port, "log_level": "warning"},
            "models": [{"name": MODEL, "model": f"openai/{MODEL}", "api_base": f"http://127.0.0.1:{self.upstream_port}/v1",
                        "api_key": "sk-soak"}],
            "router": {"num_retries": 0},
            "memory": {"data_dir": str(data_dir)},  # no memory.llm: raw mode
        }
        config_file = self.workdir / "memproxy.yaml"
        config_file.write_text(json.dumps(config))
        serve = [sys.executable, "-m", "proxy", "serve", "--config", str(config_file), "--no-local-model"]
        if self.open_mode:
            serve.append("--open")
        else:
            self.key = subprocess.run(
                [sys.executable, "-m", "proxy", "keys", "create", "--config", str(config_file), "--tenant", "soak",
                 "--name", "soak"], env=env, cwd=self.workdir, capture_output=True, text=True, check=True,
            ).stdout.strip()
        self._spawn("memproxy", serve, {**env, **self.server_env}, f"http://127.0.0.1:{self.port}", "/readyz",
                    timeout=180)


async def drive(args: argparse.Namespace, servers: SoakServers) -> dict[str, Any]:
    pid = servers.pids["memproxy"]
    started = time.monotonic()
    load = Load(servers.urls["memproxy"], servers.key, args.users, args.mix, started, args.seed)
    samples: list[dict[str, Any]] = []
    pruned = 0

    async def sample(stored: dict[str, int] | None) -> dict[str, Any]:
        point = {"t": time.monotonic() - started, "requests": load.tally.requests, "errors": load.tally.errors,
                 **memory_of(pid, servers.data_dir), "stored": sum(stored.values()) if stored is not None else None,
                 "queue": await load.queue(), "pruned": pruned}
        samples.append(point)
        return point

    await sample(await load.stored())
    log(f"before the load: RSS {samples[0]['rss']:.0f} MB (anonymous {samples[0].get('anonymous', 0):.0f} MB), "
        f"{samples[0]['threads']:.0f} threads")
    workers = [asyncio.create_task(load.worker()) for _ in range(args.concurrency)]
    end = started + args.duration * 60
    next_minute = 1
    try:
        while time.monotonic() < end:
            await asyncio.sleep(min(SAMPLE_EVERY, max(0.0, end - time.monotonic())))
            stored = await load.stored()
            point = await sample(stored)
            if stored is not None:
                pruned += await load.prune(stored, args.max_memories)
            if point["t"] >= next_minute * 60 - SAMPLE_EVERY / 2 or time.monotonic() >= end:
                minute_requests = load.tally.per_minute[next_minute - 1]
                log(f"minute {next_minute:>3}: {minute_requests:>6} requests ({minute_requests / 60:5.1f}/s), "
                    f"{load.tally.errors_per_minute[next_minute - 1]} errors; RSS {point['rss']:6.1f} MB "
                    f"(anonymous {point.get('anonymous', 0):6.1f}, files {point.get('pss_file', 0):5.1f}, of which the "
                    f"store's {point.get('store_files', 0):5.1f}); "
                    f"stored {point['stored']}; queue {point['queue']}; threads {point['threads']:.0f}")
                next_minute += 1
    finally:
        load.stop = True
        await asyncio.gather(*workers, return_exceptions=True)
    await sample(await load.stored())
    await load.client.aclose()
    tally = load.tally
    return {"samples": samples, "requests": tally.requests, "errors": tally.errors, "not_found": tally.not_found,
            "failures": dict(tally.failures), "by_route": dict(tally.by_route),
            "per_minute": {str(k): v for k, v in sorted(tally.per_minute.items())},
            "errors_per_minute": {str(k): v for k, v in sorted(tally.errors_per_minute.items())},
            "pruned": pruned}


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minutes, MB) points, MB per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def summarize(results: dict[str, Any], duration: float) -> dict[str, Any]:
    samples = results["samples"]
    half = duration * 60 / 2
    late = [(s["t"] / 60, s["rss"]) for s in samples if s["t"] >= half]
    late_anon = [(s["t"] / 60, s.get("anonymous", 0.0)) for s in samples if s["t"] >= half]
    rows = []
    for minute in range(0, int(round(duration)) + 1):
        # the sample nearest to the end of each minute (minute 0: before the load)
        nearest = min(samples, key=lambda s: abs(s["t"] - minute * 60))
        rows.append({"minute": minute, "requests": results["per_minute"].get(str(minute - 1), 0) if minute else 0,
                     "errors": results["errors_per_minute"].get(str(minute - 1), 0) if minute else 0,
                     "rss_mb": nearest["rss"], "anon_mb": nearest.get("anonymous"),
                     "store_files_mb": nearest.get("store_files"), "stored": nearest["stored"],
                     "queue": nearest["queue"], "threads": nearest["threads"]})
    return {"rows": rows, "rss_slope_last_half_mb_per_min": slope(late),
            "anon_slope_last_half_mb_per_min": slope(late_anon),
            "rss_start_mb": samples[0]["rss"], "rss_end_mb": samples[-1]["rss"],
            "rss_peak_mb": max(s["peak"] for s in samples),
            "stored_min_max_last_half": [min((s["stored"] for s in samples if s["t"] >= half and s["stored"] is not None),
                                             default=None),
                                         max((s["stored"] for s in samples if s["t"] >= half and s["stored"] is not None),
                                             default=None)]}


def report(results: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = ["| minute | requests | errors | RSS MB | anonymous MB | store files MB | memories stored | queue | threads |",
             "|---|---|---|---|---|---|---|---|---|"]

    def mb(value: float | None) -> str:
        return "?" if value is None else f"{value:.0f}"

    for r in summary["rows"]:
        lines.append(f"| {r['minute']} | {r['requests']} | {r['errors']} | {r['rss_mb']:.0f} | {mb(r['anon_mb'])} | "
                     f"{mb(r['store_files_mb'])} | {r['stored']} | {r['queue']} | {r['threads']:.0f} |")
    low, high = summary["stored_min_max_last_half"]
    lines += [
        "",
        f"- requests {results['requests']} ({results['requests'] / (results['duration_min'] * 60):.1f}/s), "
        f"errors {results['errors']}, expected 404s {results['not_found']}; concurrency {results['concurrency']}, "
        f"{results['users']} users, mix {results['mix']}",
        f"- RSS start {summary['rss_start_mb']:.0f} MB, end {summary['rss_end_mb']:.0f} MB, "
        f"peak {summary['rss_peak_mb']:.0f} MB",
        f"- RSS slope over the last half: {summary['rss_slope_last_half_mb_per_min']:+.2f} MB/min "
        f"(anonymous {summary['anon_slope_last_half_mb_per_min']:+.2f} MB/min)",
        f"- memories stored over the last half: {low}-{high} (ceiling {results['max_memories']}); "
        f"{results['pruned']} deleted by the user clean-ups",
        f"- server env: {results['server_env'] or 'none'}; litellm {results['litellm']}; "
        f"load average at the end {', '.join(f'{x:.1f}' for x in results['load_after'])} ({os.cpu_count()} CPUs)",
    ]
    if results["failures"]:
        lines.append("- failures: " + ", ".join(f"{k} x{v}" for k, v in results["failures"].items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="minutes of load")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--users", type=int, default=40, help="users the load is spread over")
    parser.add_argument("--max-memories", type=int, default=3000,
                        help="whole users are deleted when a sample finds more memories than this")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix(DEFAULT_MIX),
                        help=f"weights of the kinds of request ({', '.join(KINDS)}); default {DEFAULT_MIX}")
    parser.add_argument("--workdir", type=Path, help="config, data directory and logs (default: a new temporary "
                        "folder, removed after a run without errors)")
    parser.add_argument("--port", type=int, default=0, help="memproxy's port (default: a free one)")
    parser.add_argument("--upstream-port", type=int, default=0, help="the fake upstream's port (default: a free one)")
    parser.add_argument("--open", action="store_true", help="run memproxy open (no key) instead of with a key")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for memproxy, e.g. MALLOC_ARENA_MAX=2 (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every sample and the table here")
    args = parser.parse_args()
    server_env = dict(item.split("=", 1) for item in args.server_env)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="memproxy-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if (workdir / "memproxy-data").exists():
        raise SystemExit(f"{workdir}/memproxy-data exists: a soak starts from an empty data directory")
    servers = SoakServers(workdir, port=args.port, upstream_port=args.upstream_port, open_mode=args.open,
                          server_env=server_env)
    log(f"soak: {args.duration:g} min at concurrency {args.concurrency}, {args.users} users, "
        f"mix {args.mix}, at most {args.max_memories} memories; logs in {workdir}")
    try:
        servers.start()
        results = asyncio.run(drive(args, servers))
    finally:
        servers.stop()
    results.update(duration_min=args.duration, concurrency=args.concurrency, users=args.users,
                   mix=args.mix, max_memories=args.max_memories, server_env=server_env,
                   litellm=litellm_version(), load_after=os.getloadavg())
    summary = summarize(results, args.duration)
    log("")
    log(report(results, summary))
    if args.json:
        args.json.write_text(json.dumps({**results, "summary": summary}, indent=2))
    if results["errors"]:
        log(f"{results['errors']} request(s) failed: the server's log is {workdir / 'memproxy.log'}")
        sys.exit(1)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
