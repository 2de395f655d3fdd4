"""``POST /v1/chat/completions``: OpenAI's chat API, with the subject's memories.

HTTP in (one JSON parse), recall (memory search -> one system message), litellm out,
and, once the answer is complete, a memory write committed to the durable queue before
the answer's last byte is sent (the write itself happens later, in the background).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from proxy import sse
from proxy.errors import InvalidRequest, PayloadTooLarge
from proxy.request_log import note
from proxy.services import Services
from proxy.subject import take_controls, take_subject

# OpenAI's chat-completion request fields; anything else is removed before forwarding
# (it could otherwise steer litellm itself: api_base, api_key, mock_response ...).
OPENAI_FIELDS = frozenset(
    """messages model audio frequency_penalty function_call functions logit_bias logprobs
    max_completion_tokens max_tokens metadata modalities n parallel_tool_calls prediction
    presence_penalty prompt_cache_key reasoning_effort response_format safety_identifier seed
    service_tier stop store stream stream_options temperature tool_choice tools top_logprobs
    top_p user verbosity web_search_options""".split()
)


async def completions(request: Request) -> Response:
    services: Services = request.state.services
    tenant = await services.tenancy.tenant_for(request)  # 401 before reading anything else
    body = await read_json(request, services.config.server.max_body_bytes)
    subject = take_subject(body, request.headers, tenant)
    controls = take_controls(body, request.headers, services.config.injection, services.config.writer)
    params = {key: value for key, value in body.items() if key in OPENAI_FIELDS}
    model = _validate(params, services)
    original = params["messages"]

    params["messages"], recall = await services.injector.recall(services.memory, subject, controls, original)
    note(request, model=model, stream=params.get("stream") is True, memory=recall.status, memories=len(recall.ids))
    headers = recall.headers()
    writes = subject is not None and controls.write
    headers["X-Memory-Write"] = "on" if writes else "off"

    async def remember(reply: str) -> None:
        assert subject is not None
        # A commit to the queue (a database round trip in the shared mode): off the event loop.
        await asyncio.to_thread(services.remember, subject, original, reply, model)

    if params.pop("stream", False):
        chunks = await services.upstream.stream(params)
        headers.update(sse.HEADERS)
        return StreamingResponse(
            sse.completion_events(chunks, remember if writes else None),
            media_type="text/event-stream",
            headers=headers,
        )

    completion = await services.upstream.complete(params)
    if writes:  # queued (committed) before the answer leaves: a crash after it loses nothing
        await remember(_reply_text(completion))
    return Response(orjson.dumps(completion), media_type="application/json", headers=headers)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than this server's limit of {limit} bytes.")
    raw = bytearray()
    async for piece in request.stream():
        raw += piece
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than this server's limit of {limit} bytes.")
    if not raw:
        raise InvalidRequest("The request body is empty; send a JSON object with `model` and `messages`.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def _validate(params: dict[str, Any], services: Services) -> str:
    model = params.get("model")
    if model is None:
        raise InvalidRequest("Missing required parameter: `model`.", param="model", code="MISSING_REQUIRED_PARAMETER")
    if not isinstance(model, str):
        raise InvalidRequest("`model` must be a string.", param="model")
    messages = params.get("messages")
    if messages is None:
        raise InvalidRequest("Missing required parameter: `messages`.", param="messages", code="MISSING_REQUIRED_PARAMETER")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("`messages` must be a non-empty array of message objects.", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest(f"`messages[{i}]` must be an object with a `role`.", param=f"messages[{i}]")
    if params.get("stream") is not None and not isinstance(params["stream"], bool):
        raise InvalidRequest("`stream` must be true or false (a JSON boolean, not a string).", param="stream")
    return services.upstream.require(model)


def _reply_text(completion: dict[str, Any]) -> str:
    for choice in completion.get("choices") or ():
        if choice.get("index", 0) == 0:
            message = choice.get("message") or {}
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""
