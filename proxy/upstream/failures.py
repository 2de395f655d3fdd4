"""An upstream failure, as raised by litellm, turned into the OpenAI-shaped error the
client receives: the upstream's status, message, type, code and ``Retry-After``."""

from __future__ import annotations

import httpx
import litellm
import openai

from proxy.error_responses import openai_type
from proxy.errors import ApiError, UpstreamError


def upstream_error(exc: BaseException) -> ApiError:
    """The upstream's failure as an OpenAI-shaped error with the upstream's status."""
    if isinstance(exc, ApiError):
        return exc
    status = _status(exc)
    body = getattr(exc, "body", None)
    body = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
        kind, code, param = body.get("type"), body.get("code"), body.get("param")
    else:
        message = _clean_message(exc)
        kind, code, param = None, None, None
    headers = {}
    retry_after = _header(exc, "retry-after")
    if retry_after:
        headers["Retry-After"] = retry_after
    return UpstreamError(
        message,
        status=status,
        type=kind or openai_type(status),
        code=str(code) if code is not None else None,
        param=param,
        headers=headers,
    )


def _status(exc: BaseException) -> int:
    if _caused_by(exc, (openai.APITimeoutError, httpx.TimeoutException)) or isinstance(exc, litellm.Timeout):
        status = int(getattr(exc, "status_code", 0) or 0)
        return status if status in (408, 504) else 504
    if _caused_by(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError)) or isinstance(
        exc, litellm.APIConnectionError
    ):
        return 502  # the upstream could not be reached, or dropped the connection
    if _INVALID_RESPONSE in str(exc):
        return 502  # the upstream answered, but not with something usable (a 200 that is not JSON)
    try:
        status = int(getattr(exc, "status_code", 500))
    except (TypeError, ValueError):
        status = 500
    return status if 400 <= status <= 599 else 500


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kinds) and not isinstance(seen, openai.APIStatusError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _header(exc: BaseException, name: str) -> str | None:
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(getattr(exc, "response", None), "headers", None)):
        try:
            value = headers.get(name) if headers is not None else None
        except Exception:
            value = None
        if value:
            return str(value)
    return None


def _clean_message(exc: BaseException) -> str:
    message = str(getattr(exc, "message", None) or exc)
    # litellm prefixes "litellm.XError: XError: OpenAIException - " and appends routing notes.
    message = message.split("\n\nLiteLLM:", 1)[0].split("\nDeployment Info:", 1)[0]
    if "Exception - " in message:
        message = message.split("Exception - ", 1)[1]
    return message.strip() or type(exc).__name__


def ended_without_finish(exc: BaseException) -> bool:
    """Whether a stream failed only because the upstream closed it cleanly before sending
    a ``finish_reason``, as opposed to a connection cut mid-answer. litellm reports that
    case as a connection error with its own wording, which is what this recognises (a
    test fails if that wording changes: tests/proxy/test_proxy_streaming.py)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if _CLEAN_EOF in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# litellm's wording for the two upstream answers it cannot use; tests/proxy fails if it changes.
_CLEAN_EOF = "Stream ended before a finish_reason was received"
_INVALID_RESPONSE = "Empty or invalid response from LLM endpoint"
