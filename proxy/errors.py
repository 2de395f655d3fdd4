"""Errors as types, turned into OpenAI-shaped responses in one place.

Every error the proxy answers with has OpenAI's shape, so OpenAI SDKs raise their usual
exception classes (``BadRequestError``, ``RateLimitError`` ...)::

    {"error": {"message": "...", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from memory_core.errors import MemoryCoreError
from proxy.api_errors import ApiError


class ProxyError(Exception):
    """An error the proxy answers with. Subclasses set the status, type and code."""

    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(ProxyError):
    status = 400
    type = "invalid_request_error"


class BodyTooLarge(InvalidRequest):
    status = 413
    code = "request_too_large"


class ModelNotFound(InvalidRequest):
    status = 404
    code = "model_not_found"


class RouteNotFound(InvalidRequest):
    status = 404
    code = "not_found"


class ModelNotConfigured(ProxyError):
    """The model exists in the config but cannot be called (no API key). 503, and
    ``x-should-retry: false`` so OpenAI SDKs report it at once instead of retrying."""

    status = 503
    type = "service_unavailable"
    code = "model_not_configured"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers = {"x-should-retry": "false", **self.headers}


class UpstreamError(ProxyError):
    """The upstream model failed; ``status`` and ``Retry-After`` are the upstream's."""

    type = "upstream_error"


_TYPES_BY_STATUS = {
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


def error_type_for(status: int) -> str:
    return _TYPES_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_response(error: ProxyError) -> Response:
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json",
    )


async def handle_proxy_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProxyError)
    return error_response(exc)


async def handle_memory_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MemoryCoreError)
    return error_response(ProxyError(exc.message, status=exc.status, type=error_type_for(exc.status), code=exc.code))


async def handle_api_error(request: Request, exc: Exception) -> Response:
    # Auth, quota and rate-limit errors raised on the chat route, in OpenAI's shape.
    assert isinstance(exc, ApiError)
    return error_response(ProxyError(exc.message, status=exc.status, type=error_type_for(exc.status),
                                     code=exc.code, headers=exc.headers))


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(RouteNotFound(f"No route for {request.method} {request.url.path}"))
    return error_response(
        ProxyError(str(exc.detail), status=exc.status_code, type=error_type_for(exc.status_code), headers=exc.headers)
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response is sent, so the server logs the traceback.
    return error_response(ProxyError("Internal error in memproxy; see the server log.", code="internal_error"))


EXCEPTION_HANDLERS = {
    ProxyError: handle_proxy_error,
    MemoryCoreError: handle_memory_error,
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
