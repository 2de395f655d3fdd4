"""The application, assembled in one place.

    app = create_app(ProxyConfig.load("config.yaml"))

``memory`` and ``upstream`` may be passed in (tests hand in fakes); by default memory is
memory_core's ``AsyncMemory`` on ``config.memory``, loaded in the background at start-up.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from proxy.config import ProxyConfig
from proxy.error_responses import EXCEPTION_HANDLERS, AnswerBugs
from proxy.openapi import openapi_routes
from proxy.routes import chat, health, models
from proxy.routes.mem0 import mem0_routes
from proxy.routes.memories import memory_routes
from proxy.routes.page import page_routes
from proxy.services import Services
from proxy.upstream import Upstream


def create_app(config: ProxyConfig | None = None, *, memory: Any = None, upstream: Upstream | None = None) -> Starlette:
    config = config or ProxyConfig()
    services = Services(config, memory=memory, upstream=upstream)

    def current_memory() -> Any:  # None while memory is loading: the memory API answers 503
        return services.memory

    limit = config.server.memory_api_max_body_bytes
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat.completions, methods=["POST"]),
            Route("/chat/completions", chat.completions, methods=["POST"]),
            Route("/v1/models", models.list_models, methods=["GET"]),
            Route("/healthz", health.alive, methods=["GET"]),
            Route("/readyz", health.ready, methods=["GET"]),
            *memory_routes(current_memory, services.auth, max_body_bytes=limit),
            *mem0_routes(current_memory, services.auth, max_body_bytes=limit),
            *openapi_routes(title="memproxy", version="0.1.0"),
            *page_routes(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(AnswerBugs)],
        lifespan=services.lifespan,
    )
    app.state.services = services  # for tests and embedding; handlers use request.state
    return app
