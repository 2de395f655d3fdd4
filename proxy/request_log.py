"""One JSON object per request on the ``memproxy.access`` logger (``server.log_format:
json``), for log pipelines that count and join what operators need::

    {"time": "2026-12-01T10:00:00.123Z", "replica": "web-1:4242", "method": "POST",
     "route": "/v1/chat/completions", "status": 200, "duration_ms": 812.4, "ttfb_ms": 95.1,
     "model": "gpt-4o-mini", "stream": true, "memory": "injected", "memories": 3,
     "request_id": "5f0c..."}

The route is the template, never the path a client sent; nothing about the messages,
the user or the tenant is written. A handler adds what only it knows with :func:`note`
(the chat route: the model, whether it streams, what recall did). ``request_id`` is the
caller's ``X-Request-Id`` header, when it sent one.

:func:`log_json_lines` gives the logger its own handler that writes each record's message
and nothing else, so every line of that stream is one JSON object.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

import orjson
from starlette.requests import Request
from starlette.types import Scope

ACCESS_LOGGER = "memproxy.access"
_NOTES = "memproxy.notes"
_REQUEST_ID = b"x-request-id"
_MAX_REQUEST_ID = 128


def note(request: Request, **fields: Any) -> None:
    """Add ``fields`` to this request's access-log line (and nothing else)."""
    notes = request.scope.get(_NOTES)
    if notes is None:
        request.scope[_NOTES] = fields
    else:
        notes.update(fields)


class AccessLog:
    """Writes the line of each finished request to the ``memproxy.access`` logger, at INFO."""

    def __init__(self, replica: str, logger: logging.Logger | None = None) -> None:
        self.replica = replica
        self.log = logger or logging.getLogger(ACCESS_LOGGER)
        self._second, self._stamp = -1, ""  # strftime once a second, not once a request

    def _time(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}Z"

    def write(self, scope: Scope, route: str, status: int, seconds: float, first_byte: float | None) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        line: dict[str, Any] = {
            "time": self._time(time.time()),
            "replica": self.replica,
            "method": scope.get("method"),
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "ttfb_ms": None if first_byte is None else round(first_byte * 1000, 2),
        }
        notes = scope.get(_NOTES)
        if notes:
            line.update(notes)
        request_id = _request_id(scope)
        if request_id is not None:
            line["request_id"] = request_id
        self.log.info(orjson.dumps(line).decode())


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == _REQUEST_ID:
            return value[:_MAX_REQUEST_ID].decode("latin-1")
    return None


class _JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The message alone: the access line is already one JSON object."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))


def log_json_lines(stream: IO[str] | None = None) -> None:
    """Write the ``memproxy.access`` lines to ``stream`` (stderr) as bare JSON, one per
    line, and not through the root logger's text format. Idempotent; for the command
    line (``memproxy serve`` with ``server.log_format: json``), not for embedders, whose
    logging is theirs to configure."""
    logger = logging.getLogger(ACCESS_LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _JsonLines)]:
        logger.removeHandler(handler)
    logger.addHandler(_JsonLines(stream or sys.stderr))
    logger.setLevel(logging.INFO)
    logger.propagate = False
