"""The server's one error type, :class:`ApiError`, and the conversion of every other
failure onto it.

An error is raised where the problem is found, as a type with a stable ``code``, the
HTTP ``status`` and a ``message`` written for the person who sent the request.
memory_core's typed errors, pydantic's validation errors and Starlette's HTTP errors are
mapped onto it by :func:`as_api_error`. Each route family renders it in its own shape, in
one place (:mod:`proxy.error_responses`)::

    {"error": {"message": "...", "type": "invalid_request_error", "param": "model",
               "code": "model_not_found"}}                                              # chat (OpenAI's)
    {"error": {"code": "MEMORY_NOT_FOUND", "message": "no memory with id mem_..."}}     # /v1/memories
    {"detail": "no memory with id mem_...", "code": "MEMORY_NOT_FOUND"}                 # Mem0 routes
"""

from __future__ import annotations

from typing import Any

import pydantic
from starlette.exceptions import HTTPException

from memory_core.errors import MemoryCoreError


class ApiError(Exception):
    """An error the server answers with. Subclasses set the status and code; ``param``
    names the offending field and ``type`` is OpenAI's error type, where they matter."""

    code: str | None = "INTERNAL_ERROR"
    status = 500
    type: str | None = None

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 param: str | None = None, type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = dict(headers or {})
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type


class InvalidRequest(ApiError):
    """The body or query is malformed: bad JSON, a wrong type, a value out of range."""

    code = "VALIDATION_ERROR"
    status = 400


class InvalidUserId(InvalidRequest):
    """No usable subject: a user id is missing, empty, or not a sane string."""

    code = "INVALID_USER_ID"


class ContentTooLong(InvalidRequest):
    code = "CONTENT_TOO_LONG"
    status = 413


class PayloadTooLarge(InvalidRequest):
    code = "PAYLOAD_TOO_LARGE"
    status = 413


class RouteNotFound(ApiError):
    code = "NOT_FOUND"
    status = 404


class MethodNotAllowed(ApiError):
    """The path exists, the method does not; ``Allow`` lists the methods it has."""

    code = "METHOD_NOT_ALLOWED"
    status = 405


class MemoryNotFound(ApiError):
    """No memory with that id in the caller's tenant (another tenant's looks the same)."""

    code = "MEMORY_NOT_FOUND"
    status = 404


class ModelNotFound(ApiError):
    code = "MODEL_NOT_FOUND"
    status = 404


class ModelNotConfigured(ApiError):
    """The model exists in the config but cannot be called (no API key). 503, and
    ``x-should-retry: false`` so OpenAI SDKs report it at once instead of retrying."""

    code = "MODEL_NOT_CONFIGURED"
    status = 503
    type = "service_unavailable"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers = {"x-should-retry": "false", **self.headers}


class UpstreamError(ApiError):
    """The upstream model failed; ``status``, ``code`` (None when it gave none) and
    ``Retry-After`` are the upstream's."""

    code = None  # type: ignore[assignment]
    status = 502
    type = "upstream_error"


class Unauthorized(ApiError):
    code = "UNAUTHORIZED"
    status = 401


class RateLimited(ApiError):
    code = "RATE_LIMITED"
    status = 429


class QuotaExceeded(ApiError):
    """The key's monthly quota is used up; ``Retry-After`` says when the month turns."""

    code = "QUOTA_EXCEEDED"
    status = 429


class MemoryUnavailable(ApiError):
    """The memory store is still loading, or failed to load."""

    code = "MEMORY_UNAVAILABLE"
    status = 503


class NotSupported(ApiError):
    """A route Mem0's platform has and this server does not implement."""

    code = "NOT_IMPLEMENTED"
    status = 501


def as_api_error(exc: BaseException) -> ApiError | None:
    """The :class:`ApiError` for an exception raised while serving, or None if it is a bug."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, MemoryCoreError):
        return ApiError(exc.message, code=exc.code, status=exc.status)
    if isinstance(exc, pydantic.ValidationError):
        return from_validation_error(exc)
    if isinstance(exc, HTTPException):
        return ApiError(str(exc.detail), code=f"HTTP_{exc.status_code}", status=exc.status_code,
                        headers=dict(exc.headers or {}))
    return None


def from_validation_error(exc: pydantic.ValidationError) -> ApiError:
    """A clear message naming every problem pydantic found (at most three), with the
    code of the most telling one: the subject first, then a too-long text."""
    errors = sorted(exc.errors(include_url=False), key=_priority)
    described = [_describe(e, ".".join(str(p) for p in e["loc"]) or "body") for e in errors[:3]]
    message = "; ".join(described)
    if len(errors) > 3:
        message += f"; and {len(errors) - 3} more"
    rank = _priority(errors[0])
    if rank == 0:
        return InvalidUserId(message)
    if rank == 1:
        return ContentTooLong(message)
    return InvalidRequest(message)


# pydantic error types whose field is the subject, and those that mean "too long".
_TOO_LONG = {"string_too_long"}
_SUBJECT_FIELDS = {"userId", "user_id"}
_TEXT_FIELDS = {"content", "query", "text"}


def _priority(error: Any) -> int:
    top = str(error["loc"][0]) if error["loc"] else ""
    if top in _SUBJECT_FIELDS and error["type"] != "extra_forbidden":
        return 0
    if error["type"] in _TOO_LONG and top in _TEXT_FIELDS:
        return 1
    return 2


_PLAIN = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _describe(error: Any, field: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"{field} is required"
    if kind == "extra_forbidden":
        return f"unknown field {field!r}{_did_you_mean(field)}"
    if kind in _PLAIN:
        return f"{field} {_PLAIN[kind]}"
    if kind == "string_too_long":
        return f"{field} is longer than {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"{field} must not be empty"
    if kind == "too_long":
        return f"{field} has more than {ctx.get('max_length')} items"
    if kind == "too_short":
        return f"{field} must not be empty"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{field} must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"{field} must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "literal_error":
        return f"{field} must be one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{field} does not match the pattern {ctx.get('pattern')}"
    return f"{field}: {error['msg']}"


def _did_you_mean(field: str) -> str:
    if "_" not in field:
        return ""
    head, *rest = field.split("_")
    camel = head + "".join(part.title() for part in rest)
    return f" (field names are camelCase: did you mean {camel!r}?)"
