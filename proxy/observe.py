"""The ASGI middleware that times every HTTP request, by route template and status, for
the metrics (:mod:`proxy.metrics`) and the JSON access log (:mod:`proxy.request_log`).

It sits outside :class:`~proxy.error_responses.AnswerBugs`, so a bug's 500 is counted
as a 500, and passes every message through as it comes (a stream is not buffered); a
request ends when the app returns, which for a streamed chat is after its last byte.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.metrics import UNMATCHED, Metrics
from proxy.request_log import AccessLog


class ObserveRequests:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None, access_log: AccessLog | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        first_byte: float | None = None

        async def watched(message: Message) -> None:
            nonlocal status, first_byte
            if message["type"] == "http.response.start":
                status = message["status"]
                first_byte = time.perf_counter() - started
            await send(message)

        in_progress = self.metrics.in_progress if self.metrics is not None else None
        if in_progress is not None:
            in_progress.inc()
        try:
            await self.app(scope, receive, watched)
        except BaseException:
            status = status or 500  # what the server answers for it (or a dropped connection)
            raise
        finally:
            seconds = time.perf_counter() - started
            if in_progress is not None:
                in_progress.dec()
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.request(scope["method"], route, status, seconds)
            if self.access_log is not None:
                self.access_log.write(scope, route, status, seconds, first_byte)


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (``/v1/memories/{id}``), or
    ``unmatched``: a bounded label, whatever path the client sent."""
    route = scope.get("route")  # set by Starlette's router (1.x)
    if route is None and "endpoint" in scope:
        route = _find_route(scope)  # an older Starlette: match again, once the answer is out
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED


def _find_route(scope: Scope) -> BaseRoute | None:
    app = scope.get("app")
    partial = None
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial
