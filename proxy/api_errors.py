"""Errors of the memory APIs (``/v1/memories`` and the Mem0-compatible routes).

Each is a type with a stable ``code``, an HTTP ``status`` and a ``message`` written
for the person who sent the request. They are raised where the problem is found;
each API family turns them into its own body in one place:

    {"error": {"code": "MEMORY_NOT_FOUND", "message": "no memory with id mem_..."}}   # /v1/memories
    {"detail": "no memory with id mem_..."}                                          # Mem0 routes

memory_core's errors already carry a code and a status; :func:`as_api_error` maps
them (and pydantic's validation errors) onto this one type.
"""

from __future__ import annotations

from typing import Any

import pydantic

from memory_core.errors import MemoryCoreError


class ApiError(Exception):
    """An error the memory APIs answer with."""

    code = "INTERNAL_ERROR"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


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


class MemoryNotFound(ApiError):
    """No memory with that id in the caller's tenant (another tenant's looks the same)."""

    code = "MEMORY_NOT_FOUND"
    status = 404


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


# pydantic error types whose field is the subject, and those that mean "too long".
_TOO_LONG = {"string_too_long"}
_SUBJECT_FIELDS = {"userId", "user_id"}


def as_api_error(exc: BaseException) -> ApiError | None:
    """The :class:`ApiError` for an exception raised while serving, or None if it is a bug."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, MemoryCoreError):
        return ApiError(exc.message, code=exc.code, status=exc.status)
    if isinstance(exc, pydantic.ValidationError):
        return from_validation_error(exc)
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
    return f"{field}: {error['msg']}"


def _did_you_mean(field: str) -> str:
    if "_" not in field:
        return ""
    head, *rest = field.split("_")
    camel = head + "".join(part.title() for part in rest)
    return f" (field names are camelCase: did you mean {camel!r}?)"
