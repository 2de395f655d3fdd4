"""What the proxy adds: latency over calling the upstream directly, and requests/s, next
to LiteLLM's own proxy server measured in the same run, on the same machine.

    python -m bench.proxy_bench                      # everything (~6 min)
    python -m bench.proxy_bench --duration 5 --skip-litellm
    python -m bench.proxy_bench --alt-python .venv-newest/bin/python   # + memproxy on the newest releases

Every server is its own process: the fake OpenAI upstream (tests/proxy/fake_upstream.py,
answering at once), memproxy (`python -m proxy serve`), LiteLLM's proxy (`litellm` from
a separate virtual environment, .venv-litellm-proxy, created here on first use with
`litellm[proxy]` at the version this project uses, or the newest release known to
install when that one's [proxy] extra does not resolve). The load comes from `wrk` (one
thread, so it takes little CPU from the servers on a 2-core machine; `apt-get install
wrk`), with a counter in every prompt so no two requests are alike.

Scenarios, each at concurrency 1 and 32 (non-streaming chat completions):
  direct          wrk -> fake upstream
  memory-off      wrk -> memproxy -> fake upstream            (no memory subject)
  memory-on       wrk -> memproxy -> fake upstream            (user with --memories memories:
                  the query is embedded by the real offline embedder, the store searched,
                  the top 10 injected; writes off, so the figure is the read path)
  litellm-proxy   wrk -> LiteLLM proxy -> fake upstream
Added latency = the scenario's percentile minus the direct percentile, same concurrency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
LITELLM_VENV = REPO / ".venv-litellm-proxy"
LUA = Path(__file__).resolve().parent / "proxy_bench.lua"
BENCH_USER = "bench-user"
PROMPT = "给我推荐一些四川美食，第{n}次提问"


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def litellm_version() -> str:
    from importlib.metadata import version

    return version("litellm")


# A litellm[proxy] release known to install from PyPI (its litellm-proxy-extras pin is
# published): the comparison falls back to it when this project's litellm release has a
# [proxy] extra that does not resolve (1.109.x needs litellm-proxy-extras 0.4.113, which
# was never published).
LITELLM_PROXY_FALLBACK = "1.108.7"


def ensure_litellm_proxy(wanted: str | None = None) -> tuple[Path, str]:
    """LiteLLM's proxy in its own venv (its dependencies must not leak into ours): the
    binary and the litellm release it runs. Tries ``wanted`` (default: the release this
    project runs on), then LITELLM_PROXY_FALLBACK, and says which one it took."""
    binary = LITELLM_VENV / "bin" / "litellm"
    python = LITELLM_VENV / "bin" / "python"
    if binary.exists():
        done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                              capture_output=True, text=True)
        if done.returncode == 0 and (wanted is None or done.stdout.strip() == wanted):
            return binary, done.stdout.strip()
        shutil.rmtree(LITELLM_VENV)
    candidates = [wanted or litellm_version(), LITELLM_PROXY_FALLBACK]
    for release in dict.fromkeys(candidates):
        log(f"creating {LITELLM_VENV} with litellm[proxy]=={release} (one time, a few minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        done = subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={release}"],
                              capture_output=True, text=True)
        if done.returncode == 0:
            return binary, release
        reason = (done.stderr.strip().splitlines() or ["?"])[-1]
        log(f"litellm[proxy]=={release} does not install here ({reason}); trying the next release")
        shutil.rmtree(LITELLM_VENV)
    raise RuntimeError(f"no litellm[proxy] release of {candidates} installs; pass --litellm-proxy-version")


def seed_memories(data_dir: Path, count: int, memory_config: dict[str, Any] | None = None) -> dict[str, float]:
    """``count`` memories for BENCH_USER. Their vectors are real embeddings of 200 varied
    sentences plus a little noise (embedding 10,000 texts here would take minutes); the
    search itself is the same work either way. ``memory_config``: more of MemoryConfig
    (a ``database_url`` seeds PostgreSQL)."""
    import numpy as np

    from memory_core import Memory
    from memory_core.embedding import create_embedder
    from memory_core.embedding.config import EmbedderConfig

    embedder = create_embedder(EmbedderConfig())
    foods = ["火锅", "麻婆豆腐", "担担面", "回锅肉", "夫妻肺片", "pizza", "sushi", "tacos", "饺子", "粥"]
    habits = ["每天早上跑步", "周末去爬山", "喜欢看科幻电影", "在学日语", "养了一只猫", "对花生过敏",
              "住在成都", "在上海工作", "喜欢喝绿茶", "不喝咖啡", "plays the guitar", "likes jazz",
              "works as a nurse", "has two kids", "is vegetarian on Mondays", "collects stamps",
              "is learning to swim", "drives an old Volvo", "reads before bed", "hates mornings"]
    pool_texts = [f"{habits[i % len(habits)]}，最近常吃{foods[(i * 7) % len(foods)]}" for i in range(200)]
    pool = embedder.embed_documents(pool_texts)
    rng = np.random.default_rng(0)
    with Memory({"data_dir": str(data_dir), **(memory_config or {})}, embedder=embedder) as memory:
        step = 2000
        for start in range(0, count, step):
            n = min(step, count - start)
            picks = rng.integers(0, len(pool), n)
            vectors = pool[picks] + rng.normal(0, 0.03, (n, pool.shape[1])).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            points = []
            for j in range(n):
                i = start + j
                text = f"{pool_texts[picks[j]]}（#{i}）"
                payload = {"tenant": "default", "user_id": BENCH_USER, "agent_id": None, "run_id": None,
                           "memory": text, "hash": uuid.uuid4().hex, "role": "user", "tags": [], "metadata": {},
                           "created_at": "2026-01-01T00:00:00.000000Z",
                           "updated_at": "2026-01-01T00:00:00.000000Z", "created_ts": i}
                points.append((str(uuid.uuid4()), vectors[j], payload))
            memory._store.upsert(points)  # bulk load; the public add() would embed each text
        total = memory.get_all(user_id=BENCH_USER, page_size=1).get("total")
        if total is not None and total != count:
            raise RuntimeError(f"seeded {total} memories, wanted {count}")
        return search_cost(memory)


def search_cost(memory: Any, n: int = 100) -> dict[str, float]:
    """memory_core's own search (query embedding + store search), in this process, with
    the prompts the benchmark sends: the floor under memory-on's added latency."""
    import resource

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    for i in range(10):
        memory.search(PROMPT.replace("{n}", f"w{i}"), user_id=BENCH_USER, threshold=0.0)
    times, cpu_before = [], cpu()
    for i in range(n):
        started = time.perf_counter()
        memory.search(PROMPT.replace("{n}", str(i)), user_id=BENCH_USER, threshold=0.0)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": times[n // 2], "p95_ms": times[int(n * 0.95)], "cpu_ms": (cpu() - cpu_before) * 1000 / n}


def wrk(url: str, concurrency: int, duration: float, body: str, headers: str = "") -> dict[str, Any]:
    env = {**os.environ, "BENCH_BODY": body, "BENCH_HEADERS": headers}
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "10s", "-s", str(LUA), url]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


SCENARIOS = ("direct", "memory-off", "memory-off-alt", "memory-on", "litellm-proxy",
             "direct-stream", "memory-off-stream", "litellm-proxy-stream")


def body(user: str | None = None, stream: bool = False) -> str:
    request: dict[str, Any] = {"model": "echo", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64}
    if user:
        request["user"] = user
    if stream:
        request["stream"] = True
    return json.dumps(request, ensure_ascii=False)


class Servers:
    def __init__(self, workdir: Path, memories: int, with_litellm: bool, litellm_proxy_version: str | None = None,
                 alt_python: str | None = None) -> None:
        self.workdir = workdir
        self.memories = memories
        self.with_litellm = with_litellm
        self.litellm_proxy_version = litellm_proxy_version
        self.alt_python = str(Path(alt_python).absolute()) if alt_python else None  # spawned in workdir
        self.versions: dict[str, str] = {}
        self.processes: list[subprocess.Popen] = []
        self.urls: dict[str, str] = {}
        self.pids: dict[str, int] = {}
        self.search_cost: dict[str, float] = {}

    def start(self) -> None:
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(REPO)}
        upstream_port = free_port()
        self._spawn("upstream", [sys.executable, str(REPO / "tests/proxy/fake_upstream.py"), "--port",
                                 str(upstream_port)], env, f"http://127.0.0.1:{upstream_port}", "/v1/models")
        upstream_base = f"http://127.0.0.1:{upstream_port}/v1"

        data_dir = self.workdir / "memproxy-data"
        log(f"seeding {self.memories} memories for {BENCH_USER} ...")
        started = time.monotonic()
        self.search_cost = seed_memories(data_dir, self.memories)
        log(f"  seeded in {time.monotonic() - started:.1f} s; memory_core search alone: "
            f"p50 {self.search_cost['p50_ms']:.2f} ms, {self.search_cost['cpu_ms']:.2f} ms CPU")
        port = free_port()
        config = {
            "server": {"host": "127.0.0.1", "port": port},
            "models": [{"name": "echo", "model": "openai/echo", "api_base": upstream_base, "api_key": "sk-bench"}],
            "router": {"num_retries": 0},
            "memory": {"data_dir": str(data_dir)},
            "injection": {"threshold": 0.0, "limit": 10},  # always inject the top 10
        }
        (self.workdir / "memproxy.yaml").write_text(json.dumps(config))
        self._spawn("memproxy", [sys.executable, "-m", "proxy", "serve", "--config", str(self.workdir / "memproxy.yaml")],
                    env, f"http://127.0.0.1:{port}", "/readyz", timeout=180)
        self.versions["memproxy"] = litellm_version()
        if self.alt_python:  # the same memproxy on another environment (another litellm release)
            port = free_port()
            alt = {**config, "server": {"host": "127.0.0.1", "port": port},
                   "memory": {"data_dir": str(self.workdir / "memproxy-alt-data")}}
            (self.workdir / "memproxy-alt.yaml").write_text(json.dumps(alt))
            self._spawn("memproxy-alt", [self.alt_python, "-m", "proxy", "serve", "--config",
                                         str(self.workdir / "memproxy-alt.yaml")],
                        env, f"http://127.0.0.1:{port}", "/readyz", timeout=180)
            self.versions["memproxy-alt"] = subprocess.run(
                [self.alt_python, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                capture_output=True, text=True, check=True).stdout.strip()

        if self.with_litellm:
            binary, self.versions["litellm-proxy"] = ensure_litellm_proxy(self.litellm_proxy_version)
            port = free_port()
            # No master key (so no auth work per request): LiteLLM's cheapest configuration.
            litellm_config = {"model_list": [{"model_name": "echo", "litellm_params": {
                "model": "openai/echo", "api_base": upstream_base, "api_key": "sk-bench"}}],
                "general_settings": {"dangerously_permit_weak_or_unset_master_key": True}}
            (self.workdir / "litellm.yaml").write_text(json.dumps(litellm_config))
            self._spawn("litellm-proxy", [str(binary), "--config", str(self.workdir / "litellm.yaml"), "--host",
                                          "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                        {**env, "PYTHONPATH": ""}, f"http://127.0.0.1:{port}", "/health/liveliness", timeout=180)

    def _spawn(self, name: str, command: list[str], env: dict[str, str], url: str, probe: str,
               timeout: float = 60) -> None:
        process = spawn(self.processes, self.workdir, name, command, env, url + probe, timeout)
        self.urls[name] = url
        self.pids[name] = process.pid
        log(f"{name} ready at {url} (pid {process.pid})")

    def stop(self) -> None:
        stop_all(self.processes)


def spawn(processes: list[subprocess.Popen], workdir: Path, name: str, command: list[str], env: dict[str, str],
          ready_url: str, timeout: float) -> subprocess.Popen:
    """Start ``command`` in ``workdir`` (output in ``<name>.log``), add it to ``processes``
    and wait until ``ready_url`` answers."""
    log_file = open(workdir / f"{name}.log", "w")
    process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir)
    processes.append(process)
    wait_http(ready_url, timeout, process)
    return process


def stop_all(processes: list[subprocess.Popen]) -> None:
    """Terminate, newest first; kill what does not exit within 30 s."""
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (LiteLLM may fork workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(current, []))
    return total


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the load (apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="proxy-bench-"))
    servers = Servers(workdir, args.memories, not args.skip_litellm, args.litellm_proxy_version, args.alt_python)
    scenarios = [("direct", "upstream", body(), ""), ("memory-off", "memproxy", body(), ""),
                 ("memory-on", "memproxy", body(BENCH_USER), "X-Memory-Write: false")]
    if args.alt_python:
        scenarios.append(("memory-off-alt", "memproxy-alt", body(), ""))
    if not args.skip_litellm:
        scenarios.append(("litellm-proxy", "litellm-proxy", body(), ""))
    if args.stream:  # the same, streamed (the fake upstream sends 5 content chunks)
        scenarios += [("direct-stream", "upstream", body(stream=True), ""),
                      ("memory-off-stream", "memproxy", body(stream=True), "")]
        if not args.skip_litellm:
            scenarios.append(("litellm-proxy-stream", "litellm-proxy", body(stream=True), ""))
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
                               "litellm": litellm_version(), "memories": args.memories,
                               "rounds": args.rounds, "duration_s": args.duration, "runs": {}}
    try:
        servers.start()
        for name, server, request, headers in scenarios:  # first requests pay for lazy imports
            wrk(servers.urls[server] + "/v1/chat/completions", 4, 3, request, headers)
        for concurrency in args.concurrency:
            for round_no in range(args.rounds):
                # rotate the order each round, so slow drifts in the machine's load hit every scenario
                shift = round_no % len(scenarios)
                for name, server, request, headers in scenarios[shift:] + scenarios[:shift]:
                    url = servers.urls[server] + "/v1/chat/completions"
                    wrk(url, concurrency, args.warmup, request, headers)  # warm connections and caches
                    cpu_before = cpu_seconds(servers.pids[server])
                    figures = wrk(url, concurrency, args.duration, request, headers)
                    figures["server_cpu_ms_per_request"] = (
                        (cpu_seconds(servers.pids[server]) - cpu_before) * 1000 / max(figures["requests"], 1))
                    results["runs"].setdefault(f"{name}@c{concurrency}", []).append(figures)
                    log(f"round {round_no + 1} {name:>14} c={concurrency:<3} p50 {figures['p50_us'] / 1000:7.2f} ms  "
                        f"p95 {figures['p95_us'] / 1000:7.2f} ms  p99 {figures['p99_us'] / 1000:7.2f} ms  "
                        f"{figures['rps']:8.1f} req/s  cpu {figures['server_cpu_ms_per_request']:.2f} ms/req  "
                        f"errors {figures['socket_errors'] + figures['non2xx']}")
        results["rss_mb"] = {name: rss_mb(pid) for name, pid in servers.pids.items()}
        results["litellm_by_server"] = servers.versions
        results["memory_core_search"] = servers.search_cost
        results["machine"]["load_after"] = os.getloadavg()
    except BaseException:
        log(f"failed: the servers' logs are in {workdir}")
        servers.stop()
        raise
    servers.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    results["summary"] = summarize(results["runs"], args.concurrency)
    return results


def summarize(runs: dict[str, list[dict[str, Any]]], concurrency: list[int]) -> dict[str, Any]:
    """Median over rounds; added latency is taken round by round against that round's direct run."""
    summary: dict[str, Any] = {}
    for c in concurrency:
        for name in SCENARIOS:
            rounds = runs.get(f"{name}@c{c}")
            if not rounds:
                continue
            direct = runs[f"direct-stream@c{c}" if name.endswith("-stream") else f"direct@c{c}"]
            entry: dict[str, float] = {
                "rps": median([r["rps"] for r in rounds]),
                "server_cpu_ms_per_request": median([r["server_cpu_ms_per_request"] for r in rounds]),
                "errors": sum(r["socket_errors"] + r["non2xx"] for r in rounds),
            }
            for key in ("p50", "p95", "p99"):
                entry[f"{key}_ms"] = median([r[f"{key}_us"] for r in rounds]) / 1000
                entry[f"added_{key}_ms"] = median(
                    [(r[f"{key}_us"] - d[f"{key}_us"]) / 1000 for r, d in zip(rounds, direct)])
            summary[f"{name}@c{c}"] = entry
    return summary


def report(results: dict[str, Any], concurrency: list[int]) -> str:
    summary = results["summary"]
    lines = ["| scenario | c | p50 ms | added p50 ms | added p95 ms | added p99 ms | req/s | server CPU ms/req |",
             "|---|---|---|---|---|---|---|---|"]
    for c in concurrency:
        for name in SCENARIOS:
            s = summary.get(f"{name}@c{c}")
            if s is None:
                continue
            added = ["—"] * 3 if name.startswith("direct") else [f"{s[f'added_{k}_ms']:.2f}" for k in ("p50", "p95", "p99")]
            lines.append(f"| {name} | {c} | {s['p50_ms']:.2f} | {' | '.join(added)} | {s['rps']:.0f} | "
                         f"{s['server_cpu_ms_per_request']:.2f} |")
    lines.append("")
    if "litellm-proxy@c1" in summary:
        ref = summary["litellm-proxy@c1"]["added_p50_ms"]
        ours = summary["memory-off@c1"]["added_p50_ms"]
        mem = summary["memory-on@c1"]["added_p50_ms"]
        lines.append(f"- added p50 at c=1: memproxy memory-off {ours:.2f} ms = {ours / ref:.2f}x LiteLLM proxy's "
                     f"{ref:.2f} ms (target <= 0.5x); memory-on {mem:.2f} ms = {mem / ref:.2f}x (target <= 1x)")
    if "litellm-proxy@c1" in summary and "memory-off-alt@c1" in summary:
        ref = summary["litellm-proxy@c1"]["added_p50_ms"]
        alt = summary["memory-off-alt@c1"]["added_p50_ms"]
        lines.append(f"- added p50 at c=1, memproxy on the other environment: {alt:.2f} ms = {alt / ref:.2f}x")
    last = max(concurrency)
    if f"litellm-proxy@c{last}" in summary:
        for name in ("memory-off", "memory-off-alt"):
            if f"{name}@c{last}" in summary:
                ratio = summary[f"{name}@c{last}"]["rps"] / summary[f"litellm-proxy@c{last}"]["rps"]
                lines.append(f"- req/s at c={last}: memproxy {name} / LiteLLM proxy = {ratio:.2f}x (target >= 2x)")
    if results.get("litellm_by_server"):
        lines.append("- litellm release of each server: " + ", ".join(
            f"{k} {v}" for k, v in results["litellm_by_server"].items()))
    if results.get("memory_core_search"):
        cost = results["memory_core_search"]
        lines.append(f"- memory_core search alone ({results['memories']} memories, in-process): p50 {cost['p50_ms']:.2f} ms, "
                     f"p95 {cost['p95_ms']:.2f} ms, {cost['cpu_ms']:.2f} ms CPU per search")
    lines.append("- server RSS MB (now/peak): " + ", ".join(
        f"{k} {v[0]:.0f}/{v[1]:.0f}" for k, v in results["rss_mb"].items()))
    load = results["machine"]
    lines.append(f"- load average before: {', '.join(f'{x:.1f}' for x in load['load_before'])}; after: "
                 f"{', '.join(f'{x:.1f}' for x in load['load_after'])} ({load['cpus']} CPUs)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per scenario and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions (medians are reported)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--skip-litellm", action="store_true", help="no LiteLLM proxy comparison")
    parser.add_argument("--litellm-proxy-version", help="litellm[proxy] release to compare with "
                        f"(default: this environment's litellm, else {LITELLM_PROXY_FALLBACK})")
    parser.add_argument("--alt-python", help="also run memproxy (memory off) with this Python, e.g. "
                        ".venv-newest/bin/python: the same code on other releases, in the same run")
    parser.add_argument("--stream", action="store_true", help="also measure streamed answers (memory off)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    results = run(args)
    log("")
    log(report(results, args.concurrency))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
