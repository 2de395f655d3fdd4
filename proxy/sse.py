"""Server-Sent Events as OpenAI sends them: one ``data: {json}`` event per chunk, then
``data: [DONE]``. A failure after the stream started (a dropped connection) ends it with
an error event (which OpenAI's SDKs raise as ``APIError``) instead of leaving the client
hanging, and nothing is remembered. An upstream that closes its stream cleanly without a
``finish_reason`` (some servers do) gets one: memproxy adds ``finish_reason: "stop"``
and ``[DONE]``, so the client sees a complete answer, and it is remembered."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable

import orjson

from proxy.error_responses import openai_body
from proxy.errors import ApiError

DONE = b"data: [DONE]\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


async def completion_events(
    chunks: AsyncIterator[dict[str, Any]], on_complete: Callable[[str], Awaitable[None]] | None
) -> AsyncIterator[bytes]:
    """Relay ``chunks``; call ``on_complete`` with the reply text, before ``[DONE]``, only if
    the stream ended normally (not on an upstream error, nor when the client went away)."""
    reply: list[str] = []
    last: dict[str, Any] | None = None
    finished: set[int] = set()
    try:
        async for chunk in chunks:
            for choice in chunk.get("choices") or ():
                if choice.get("finish_reason") is not None:
                    finished.add(choice.get("index", 0))
                if on_complete is not None and choice.get("index", 0) == 0:
                    content = choice["delta"].get("content")
                    if content:
                        reply.append(content)
            if chunk.get("choices"):
                last = chunk
            yield event(chunk)
    except ApiError as error:
        yield event(openai_body(error))
        return
    if last is not None and 0 not in finished:
        yield event(_finish(last))
    if on_complete is not None:  # queued before [DONE]: an answered stream is never forgotten
        await on_complete("".join(reply))
    yield DONE


def _finish(last: dict[str, Any]) -> dict[str, Any]:
    """The closing chunk an upstream left out: an empty delta with finish_reason "stop"."""
    head = {k: last[k] for k in ("id", "object", "created", "model", "system_fingerprint") if k in last}
    return {**head, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]}
