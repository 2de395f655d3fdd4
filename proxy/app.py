"""The application, assembled in one place.

    app = create_app(ProxyConfig.load("config.yaml"))

``memory`` and ``upstream`` may be passed in (tests hand in fakes); by default memory is
memory_core's ``AsyncMemory`` on ``config.memory``, loaded in the background at start-up.

Each app has its own metrics registry (``GET /metrics``, unless ``server.metrics`` is
false) and, with ``server.log_format: json``, writes one JSON line per request to the
``memproxy.access`` logger.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from proxy.config import ProxyConfig
from proxy.error_responses import EXCEPTION_HANDLERS, AnswerBugs
from proxy.metrics import NO_METRICS, Metrics, metrics_routes
from proxy.observe import ObserveRequests
from proxy.openapi import openapi_routes
from proxy.request_log import AccessLog
from proxy.routes import chat, health, models
from proxy.routes.mem0 import mem0_routes
from proxy.routes.memories import memory_routes
from proxy.routes.page import page_routes
from proxy.services import Services
from proxy.upstream import Upstream

VERSION = "0.1.0"


def create_app(config: ProxyConfig | None = None, *, memory: Any = None, upstream: Upstream | None = None) -> Starlette:
    config = config or ProxyConfig()
    services = Services(config, memory=memory, upstream=upstream)

    def current_memory() -> Any:  # None while memory is loading: the memory API answers 503
        return services.memory

    replica = replica_name(config)
    metrics = Metrics(replica=replica, version=VERSION) if getattr(config.server, "metrics", True) else None
    if metrics is not None:
        metrics.watch(services)
    services.injector.metrics = services.upstream.metrics = metrics or NO_METRICS
    access_log = AccessLog(replica) if getattr(config.server, "log_format", "text") == "json" else None
    observed = [] if metrics is None and access_log is None else [
        Middleware(ObserveRequests, metrics=metrics, access_log=access_log)]

    limit = config.server.memory_api_max_body_bytes
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat.completions, methods=["POST"]),
            Route("/chat/completions", chat.completions, methods=["POST"]),
            Route("/v1/models", models.list_models, methods=["GET"]),
            Route("/healthz", health.alive, methods=["GET"]),
            Route("/readyz", health.ready, methods=["GET"]),
            *metrics_routes(metrics),
            *memory_routes(current_memory, services.auth, max_body_bytes=limit),
            *mem0_routes(current_memory, services.auth, max_body_bytes=limit),
            *openapi_routes(title="memproxy", version=VERSION),
            *page_routes(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[*observed, Middleware(AnswerBugs)],  # outside AnswerBugs: a bug's 500 is counted
        lifespan=services.lifespan,
    )
    app.state.services = services  # for tests and embedding; handlers use request.state
    app.state.metrics = metrics
    return app


def replica_name(config: ProxyConfig) -> str:
    """This process's name in metrics and logs: ``database.replica``, else host:pid."""
    named = getattr(getattr(config, "database", None), "replica", None)
    return named or f"{socket.gethostname()}:{os.getpid()}"
