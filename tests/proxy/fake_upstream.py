"""A fake OpenAI-compatible upstream for integration tests and benchmarks.

It answers ``POST /v1/chat/completions`` (plain and streaming) and ``GET /v1/models``
like OpenAI does, with an echo of the last user message. Behaviour is chosen by the
requested model name, so it works the same in-process and as a separate process:

    echo                 answer at once (any name without a keyword below)
    slow-<ms>            wait <ms> milliseconds before answering
    fail-<status>        answer with an OpenAI-shaped error of that status
                         (429 carries ``Retry-After: 7``)
    stream-break         streaming: send two chunks, then drop the connection
    stream-cut           streaming: send every content chunk, then close cleanly without
                         a finish_reason and without [DONE]
    not-json             answer 200 with a body that is not JSON

``FakeUpstream(latency_ms=..., chunks=..., chunk_delay_ms=...)`` sets the defaults;
``requests`` records every body received (``record=False`` for benchmarks).

Run it alone (benchmarks)::

    python tests/proxy/fake_upstream.py --port 9100 --latency-ms 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_SLOW = re.compile(r"slow-(\d+)")
_FAIL = re.compile(r"fail-(\d{3})")


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


class FakeUpstream:
    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        chunks: int = 5,
        chunk_delay_ms: float = 0.0,
        record: bool = True,
    ) -> None:
        self.latency_ms = latency_ms
        self.chunks = chunks
        self.chunk_delay_ms = chunk_delay_ms
        self.record = record
        self.requests: list[dict[str, Any]] = []
        self.streams_cancelled = 0  # streams whose client (the proxy) went away midway
        self._counter = 0
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "echo", "object": "model", "created": 0, "owned_by": "fake"}]})

    async def chat(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if self.record:
            self.requests.append(body)
        model = str(body.get("model", ""))
        latency = self.latency_ms
        if m := _SLOW.search(model):
            latency = float(m.group(1))
        if latency:
            await asyncio.sleep(latency / 1000)
        if m := _FAIL.search(model):
            return self._error(int(m.group(1)))
        if "not-json" in model:
            return Response("<html>upstream proxy page</html>", media_type="text/html")
        self._counter += 1
        reply = "echo: " + _last_user_text(body.get("messages") or [])
        completion_id = f"chatcmpl-fake{self._counter}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._stream(completion_id, model, reply, include_usage, "stream-break" in model,
                             "stream-cut" in model),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": self._usage(body, reply),
            }
        )

    def _usage(self, body: dict[str, Any], reply: str) -> dict[str, int]:
        prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages") or []) // 4 + 1
        completion = len(reply) // 4 + 1
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    async def _stream(self, completion_id: str, model: str, reply: str, include_usage: bool, breaks: bool,
                      cut: bool = False):
        created = int(time.time())
        n = max(1, self.chunks)
        step = max(1, -(-len(reply) // n))
        pieces = [reply[i : i + step] for i in range(0, len(reply), step)] or [""]

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                data["usage"] = None
            return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

        yield chunk({"role": "assistant", "content": "", "refusal": None}, None)
        try:
            for i, piece in enumerate(pieces):
                if breaks and i == 1:
                    raise ConnectionResetError("fake upstream dropped the stream")
                if self.chunk_delay_ms:
                    await asyncio.sleep(self.chunk_delay_ms / 1000)
                yield chunk({"content": piece}, None)
        except (asyncio.CancelledError, GeneratorExit):
            self.streams_cancelled += 1
            raise
        if cut:
            return
        yield chunk({}, "stop")
        if include_usage:
            usage = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "system_fingerprint": "fp_fake", "choices": [], "usage": self._usage({"messages": []}, reply)}
            yield b"data: " + json.dumps(usage).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    def _error(self, status: int) -> Response:
        kinds = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                 429: "rate_limit_exceeded", 500: "server_error", 503: "server_error"}
        codes = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
        body = {"error": {"message": f"fake upstream error {status}", "type": kinds.get(status, "server_error"),
                          "param": None, "code": codes.get(status)}}
        headers = {"retry-after": "7"} if status == 429 else None
        return JSONResponse(body, status_code=status, headers=headers)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=5)
    args = parser.parse_args()
    upstream = FakeUpstream(latency_ms=args.latency_ms, chunks=args.chunks, record=False)
    uvicorn.run(upstream.app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
