"""The memory API's errors as exception types, each carrying the API's error ``code``,
the HTTP ``status`` and the parsed ``body``::

    try:
        client.get("mem_missing")
    except MemoryNotFoundError as exc:
        print(exc.code, exc.status)        # MEMORY_NOT_FOUND 404
"""

from __future__ import annotations

from typing import Any

import httpx


class MemproxyError(Exception):
    """Base class of everything the client raises on purpose."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 body: Any = None, headers: httpx.Headers | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else httpx.Headers()

    def __str__(self) -> str:
        where = " ".join(str(part) for part in (self.status, self.code) if part)
        return f"{where}: {self.message}" if where else self.message


class APIConnectionError(MemproxyError):
    """The server could not be reached, or did not answer in time."""


class APIError(MemproxyError):
    """The server answered with an error status; subclasses narrow it down."""


class ValidationError(APIError):
    """The request was refused as invalid (400/413/422)."""


class ContentTooLongError(ValidationError):
    """``CONTENT_TOO_LONG``: the memory text is longer than the server allows."""


class InvalidUserIdError(ValidationError):
    """``INVALID_USER_ID``: missing or malformed user id (or no scope at all)."""


class AuthenticationError(APIError):
    """401/403: no API key, a wrong one, or one not allowed to do this."""


class MemoryNotFoundError(APIError):
    """``MEMORY_NOT_FOUND``: no memory with that id (for this key)."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is in seconds when the server said."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class QuotaExceededError(RateLimitError):
    """``QUOTA_EXCEEDED``: the key's memory quota is used up."""


class ServerError(APIError):
    """5xx: the server failed; retrying later may help."""


_BY_CODE: dict[str, type[APIError]] = {
    "MEMORY_NOT_FOUND": MemoryNotFoundError,
    "CONTENT_TOO_LONG": ContentTooLongError,
    "INVALID_USER_ID": InvalidUserIdError,
    "QUOTA_EXCEEDED": QuotaExceededError,
}


def _by_status(status: int) -> type[APIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return MemoryNotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    if status in (400, 409, 413, 422):
        return ValidationError
    return APIError


def error_from_response(response: httpx.Response) -> APIError:
    """The typed exception for an error response of either shape the server uses:
    ``{"error": {"code", "message"}}`` (memory API), OpenAI's ``{"error": {"message",
    "type", "param", "code"}}`` (chat), or Mem0's ``{"detail": "..."}``."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code: str | None = None
    message = ""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            code = error.get("code") or error.get("type")
            message = str(error.get("message") or error.get("detail") or "")
        elif isinstance(error, str):
            message = error
        if not message and isinstance(body.get("detail"), str):
            message = body["detail"]
    if not message:
        message = response.text[:500] or response.reason_phrase or "request failed"
    kind = _BY_CODE.get(str(code)) if code else None
    if kind is None:
        kind = _by_status(response.status_code)
        if kind is MemoryNotFoundError and code not in (None, "MEMORY_NOT_FOUND"):
            kind = APIError  # a 404 for something else, e.g. an unknown route
    return kind(message, code=str(code) if code is not None else None, status=response.status_code,
                body=body, headers=response.headers)
