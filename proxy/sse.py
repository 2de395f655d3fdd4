"""Server-Sent Events as OpenAI sends them: one ``data: {json}`` event per chunk, then
``data: [DONE]``. A failure after the stream started ends it with an error event (which
OpenAI's SDKs raise as ``APIError``) instead of leaving the client hanging."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable

import orjson

from proxy.errors import ProxyError

DONE = b"data: [DONE]\n\n"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


async def completion_events(
    chunks: AsyncIterator[dict[str, Any]], on_complete: Callable[[str], None] | None
) -> AsyncIterator[bytes]:
    """Relay ``chunks``; call ``on_complete`` with the reply text only if the stream ended
    normally (not on an upstream error, nor when the client went away)."""
    reply: list[str] = []
    try:
        async for chunk in chunks:
            if on_complete is not None:
                for choice in chunk.get("choices") or ():
                    if choice.get("index", 0) == 0:
                        content = choice["delta"].get("content")
                        if content:
                            reply.append(content)
            yield event(chunk)
    except ProxyError as error:
        yield event(error.body())
        return
    yield DONE
    if on_complete is not None:
        on_complete("".join(reply))
