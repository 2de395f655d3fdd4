"""Every failure while serving, answered in the shape of the route family it happened in.

The app installs :data:`EXCEPTION_HANDLERS`, which render every
:class:`~proxy.errors.ApiError` (and what :func:`~proxy.errors.as_api_error` maps onto
it) with the shape the route chose (:func:`use_shape`), OpenAI's by default, and the
:class:`AnswerBugs` middleware, which answers any other exception (a bug) with a 500 in
that shape and logs its traceback:

    openai_error      {"error": {"message", "type", "param", "code"}}   chat, models, health
    memory_api_error  {"error": {"code", "message"}}                    /v1/memories
    mem0_error        {"detail", "code"}                                 the Mem0-compatible routes

A 405 lists in ``Allow`` every method any route serves at that path.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import orjson
import pydantic
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_core.errors import MemoryCoreError
from proxy.errors import ApiError, MethodNotAllowed, RouteNotFound, UpstreamError, as_api_error

log = logging.getLogger("proxy.errors")

Shape = Callable[[ApiError], Response]
_SHAPE = "memproxy.error_shape"


def _json(body: Any, error: ApiError, status: int | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status or error.status, headers=error.headers,
                    media_type="application/json")


_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    408: "timeout",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
    504: "timeout",
}


def openai_type(status: int) -> str:
    return _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def openai_body(error: ApiError) -> dict[str, Any]:
    """OpenAI's error object; memproxy's codes in lower case, as OpenAI writes them (an
    upstream's own code is passed on as it came)."""
    code = error.code if isinstance(error, UpstreamError) or not error.code else error.code.lower()
    return {"error": {"message": error.message, "type": error.type or openai_type(error.status),
                      "param": error.param, "code": code}}


def openai_error(error: ApiError) -> Response:
    return _json(openai_body(error), error)


def memory_api_error(error: ApiError) -> Response:
    return _json({"error": {"code": error.code, "message": error.message}}, error)


# Mem0's SDK reads 413 as "memory quota exceeded", so a too-long text must be a 400 there.
_MEM0_STATUS = {"QUOTA_EXCEEDED": 413, "CONTENT_TOO_LONG": 400, "PAYLOAD_TOO_LARGE": 400}


def mem0_error(error: ApiError) -> Response:
    return _json({"detail": error.message, "code": error.code}, error, _MEM0_STATUS.get(error.code))


def use_shape(request: Request, shape: Shape) -> None:
    """Answer this request's errors in ``shape`` (a route family calls it first thing)."""
    request.scope[_SHAPE] = shape


def shaped(shape: Shape, endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``endpoint`` as answering in ``shape``, so a 405 at its path uses it too."""
    endpoint.error_shape = shape  # type: ignore[attr-defined]
    return endpoint


async def handle_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code in (404, 405):
        return _routing_error(request, exc)
    error = as_api_error(exc)
    assert error is not None, exc
    return request.scope.get(_SHAPE, openai_error)(error)


class AnswerBugs:
    """ASGI middleware: an unexpected exception is logged with its traceback and answered
    500 in the route family's shape, without the exception's text. Unlike Starlette's
    last-resort handler it does not re-raise, so the server keeps the client's
    connection open for its next request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:  # too late for an error response: the server drops the connection
                raise
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            shape = scope.get(_SHAPE, openai_error)
            await shape(ApiError("internal error in memproxy; see the server log"))(scope, receive, send)


def _routing_error(request: Request, exc: HTTPException) -> Response:
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return _shape_for_path(request.url.path)(RouteNotFound(f"no route for {where}"))
    methods: set[str] = set()
    shape: Shape = openai_error
    for route in request.scope["app"].routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and getattr(route, "methods", None):
            methods |= route.methods
            shape = getattr(getattr(route, "endpoint", None), "error_shape", shape)
    allow = ", ".join(sorted(methods)) or (exc.headers or {}).get("Allow", "")  # e.g. a Mount's own
    return shape(MethodNotAllowed(f"{where} is not supported; this path allows {allow}",
                                  headers={"Allow": allow}))


def _shape_for_path(path: str) -> Shape:
    """The family of a path no route serves: Mem0's paths end with a slash, the memory
    API's start with /v1/memories and do not; anything else is OpenAI's."""
    if path.endswith("/") and path.startswith(("/v1/", "/v2/", "/v3/")):
        return mem0_error
    if path.startswith("/v1/memories"):
        return memory_api_error
    return openai_error


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Any]] = {
    ApiError: handle_error,
    MemoryCoreError: handle_error,
    pydantic.ValidationError: handle_error,
    HTTPException: handle_error,
}
