"""``GET /healthz``: the process answers. ``GET /readyz``: memory (embedder and store) is
loaded and answering and the write queue readable (its counts are in the answer);
otherwise 503 with the reason."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proxy.services import Services


async def alive(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    services: Services = request.state.services
    problem = services.memory_problem
    if problem is None and services.memory is not None:
        try:
            check = getattr(services.memory, "ready", None)
            if check is not None and not await asyncio.wait_for(check(), 5.0):
                problem = "memory reports it is not ready"
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
    body = {"status": "ready" if problem is None else "not_ready", "memory": problem or "ready"}
    if services.writer is not None:
        try:  # a database round trip in the shared mode: off the event loop
            body["write_queue"] = await asyncio.to_thread(services.writer.queue.counts)
        except Exception as exc:
            problem = f"the write queue cannot be read: {type(exc).__name__}: {exc}"
            body.update(status="not_ready", write_queue=problem)
    return JSONResponse(body, status_code=200 if problem is None else 503)
