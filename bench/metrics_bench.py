"""What the metrics and the JSON access log add to one request, in microseconds: the real
app (``create_app``) called in-process through ASGI, no network, on ``GET /healthz``
(the cheapest route, so the difference is the middleware and the recording) and on a
path no route serves (a 404 through the exception handlers). Routes that hop to a
thread (the memory API's key lookup) vary by more than the difference from run to run.

    python -m bench.metrics_bench              # ~20 s
    python -m bench.metrics_bench --requests 20000 --rounds 7

Variants, interleaved round by round (a shared machine's noise hits each alike; the
figure is each variant's best round of CPU time per request):
  off      server.metrics: false, log_format: text   (no middleware at all)
  metrics  server.metrics: true                      (the default)
  json     server.metrics: true, log_format: json    (lines to an in-memory stream)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import tempfile
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from proxy import ProxyConfig, create_app  # noqa: E402
from proxy.request_log import log_json_lines  # noqa: E402


def _app(data_dir: str, **server: Any) -> Any:
    config = ProxyConfig.parse({"server": server, "memory": {"data_dir": data_dir},
                                "models": [{"name": "m", "model": "openai/m", "api_key": "sk-x"}]})
    return create_app(config, memory=object())


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8888)}


async def _round(app: Any, path: str, requests: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    started = time.process_time()  # this process's CPU: what other users of the machine disturb least
    for _ in range(requests):
        await app(_scope(path), receive, send)
    return (time.process_time() - started) / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    log_json_lines(io.StringIO())
    logging.getLogger("proxy").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as data_dir:
        apps = {"off": _app(data_dir, metrics=False), "metrics": _app(data_dir),
                "json": _app(data_dir, log_format="json")}
        for path in ("/healthz", "/no/such/path"):
            best = {name: float("inf") for name in apps}
            for name, app in apps.items():
                await _round(app, path, 500)  # warm-up
            for _ in range(args.rounds):
                for name, app in apps.items():
                    best[name] = min(best[name], await _round(app, path, args.requests))
            print(f"{path}: off {best['off']:.1f} us/request; metrics +{best['metrics'] - best['off']:.1f} us; "
                  f"metrics + json log +{best['json'] - best['off']:.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
