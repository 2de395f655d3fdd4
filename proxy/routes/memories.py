"""``/v1/memories``: memproxy's own memory API (camelCase JSON, ``Bearer mk_...`` auth).

Each handler is HTTP in, one memory_core call in the caller's tenant, HTTP out.
Errors answer ``{"error": {"code", "message"}}`` with the error's status.

    routes = memory_routes(memory, auth)     # memory: AsyncMemory, or a function returning it
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from proxy.errors import (
    ApiError,
    ContentTooLong,
    InvalidRequest,
    InvalidUserId,
    MemoryNotFound,
    MemoryUnavailable,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from proxy.auth import Authenticator
from proxy.error_responses import memory_api_error
from proxy.openapi import ApiRoute, Operation
from proxy.routes.api import DEFAULT_MAX_BODY_BYTES, Call, Endpoints, MemorySource, json_object
from proxy.schemas.memories import (
    CreateMemory,
    Deleted,
    DeletedMany,
    DeleteMemories,
    ErrorBody,
    History,
    HistoryEntry,
    ListMemories,
    MemoryEvent,
    MemoryEvents,
    MemoryOut,
    MemoryPage,
    Pagination,
    SearchHit,
    SearchMemories,
    SearchResults,
    UpdateMemory,
)

_ALWAYS = (Unauthorized, RateLimited, QuotaExceeded, MemoryUnavailable)
_NEEDS_SUBJECT = "userId is required (or agentId / runId): memories always belong to a subject"


def _answer(model: BaseModel, status: int = 200) -> Response:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def _query(request: Request) -> dict[str, Any]:
    return dict(request.query_params)


def _scope(body: Any, tenant: str) -> dict[str, Any]:
    if not (body.user_id or body.agent_id or body.run_id):
        raise InvalidUserId(_NEEDS_SUBJECT)
    return {"user_id": body.user_id, "agent_id": body.agent_id, "run_id": body.run_id, "tenant": tenant}


async def _owned(call: Call) -> dict[str, Any]:
    memory_id = call.path("id")
    item = await call.memory.get(memory_id, tenant=call.tenant)
    if item is None:
        raise MemoryNotFound(f"no memory with id {memory_id}")
    return item


async def create_memory(call: Call) -> Response:
    body = CreateMemory.model_validate(json_object(await call.json()))
    if body.content is None and body.messages is None:
        raise InvalidRequest("content is required (one memory, stored as it is), or messages "
                             "(a conversation to extract memories from) instead")
    if body.content is not None and body.messages is not None:
        raise InvalidRequest("send content or messages, not both")
    scope = _scope(body, call.tenant)
    if body.content is not None:
        if not body.content.strip():
            raise InvalidRequest("content must not be empty")
        added = await call.memory.add(body.content, infer=False, tags=body.tags, metadata=body.metadata, **scope)
        first = added["results"][0]
        item = await call.memory.get(first["id"], tenant=call.tenant)
        if item is None:  # deleted by someone else in between
            raise MemoryNotFound(f"no memory with id {first['id']}")
        return _answer(MemoryOut.from_item(item), 201 if first["event"] == "ADD" else 200)
    messages = [m.model_dump(exclude_none=True) for m in body.messages or ()]
    added = await call.memory.add(messages, infer=body.infer, tags=body.tags, metadata=body.metadata, **scope)
    events = [MemoryEvent(id=r["id"], event=r["event"], content=r.get("memory"),
                          previous_content=r.get("previous_memory")) for r in added["results"]]
    return _answer(MemoryEvents(results=events))


async def search_memories(call: Call) -> Response:
    body = SearchMemories.model_validate(json_object(await call.json()))
    if not body.query.strip():
        raise InvalidRequest("query must not be empty")
    found = await call.memory.search(body.query, limit=body.limit, threshold=body.threshold,
                                     tags=body.tags, context=body.context, **_scope(body, call.tenant))
    return _answer(SearchResults(results=[SearchHit.from_item(i) for i in found["results"]]))


async def list_memories(call: Call) -> Response:
    query = ListMemories.model_validate(_query(call.request))
    tags = [t.strip() for t in query.tags.split(",") if t.strip()] if query.tags else None
    page = await call.memory.get_all(tags=tags, page=query.page, page_size=query.limit,
                                     **_scope(query, call.tenant))
    total = page["total"]
    return _answer(MemoryPage(
        items=[MemoryOut.from_item(i) for i in page["results"]],
        pagination=Pagination(page=query.page, limit=query.limit, total=total,
                              total_pages=math.ceil(total / query.limit)),
    ))


async def delete_memories(call: Call) -> Response:
    query = DeleteMemories.model_validate(_query(call.request))
    done = await call.memory.delete_all(**_scope(query, call.tenant))
    return _answer(DeletedMany(deleted=done["deleted"]))


async def get_memory(call: Call) -> Response:
    return _answer(MemoryOut.from_item(await _owned(call)))


async def update_memory(call: Call) -> Response:
    body = UpdateMemory.model_validate(json_object(await call.json()))
    if body.content is None and body.tags is None and body.metadata is None:
        raise InvalidRequest("send at least one of content, tags, metadata")
    if body.content is not None and not body.content.strip():
        raise InvalidRequest("content must not be empty")
    content = body.content if body.content is not None else (await _owned(call))["memory"]
    item = await call.memory.update(call.path("id"), content, metadata=body.metadata, tags=body.tags,
                                    tenant=call.tenant)
    return _answer(MemoryOut.from_item(item))


async def delete_memory(call: Call) -> Response:
    done = await call.memory.delete(call.path("id"), tenant=call.tenant)
    return _answer(Deleted(id=done["id"]))


async def memory_history(call: Call) -> Response:
    memory_id = call.path("id")
    rows = await call.memory.history(memory_id, tenant=call.tenant)
    if not rows:
        raise MemoryNotFound(f"no memory with id {memory_id}")
    return _answer(History(items=[HistoryEntry.from_row(r) for r in rows]))


def memory_routes(memory: MemorySource, auth: Authenticator, *,
                  max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> list[Route]:
    """The ``/v1/memories`` routes, serving ``memory`` (an AsyncMemory, or a function
    returning it, None while it loads) to the callers ``auth`` lets in."""
    wrap = Endpoints(memory, auth, shape=memory_api_error, max_body_bytes=max_body_bytes)
    bad_body = (InvalidRequest, PayloadTooLarge)
    item_id = {"id": "The memory's id, mem_ + 32 hex digits."}

    def op(summary: str, response: Any, *errors: type[ApiError], **more: Any) -> Operation:
        return Operation(summary, response=response, errors=(*errors, *_ALWAYS), error_model=ErrorBody, **more)

    return [
        ApiRoute("/v1/memories/search", wrap(search_memories), methods=["POST"], operation=op(
            "Search memories by meaning", SearchResults, *bad_body, InvalidUserId, ContentTooLong,
            body=SearchMemories)),
        ApiRoute("/v1/memories", wrap(create_memory), methods=["POST"], operation=op(
            "Add a memory (content), or extract memories from messages", MemoryOut, *bad_body,
            InvalidUserId, ContentTooLong, body=CreateMemory, status=201, also={200: (MemoryOut, MemoryEvents)},
            description="With `content`: answers 201 and the memory (200 and the existing memory when the same "
                        "text is already stored for this subject). With `messages`: answers 200 and the "
                        "events (`MemoryEvents`).")),
        ApiRoute("/v1/memories", wrap(list_memories), methods=["GET"], operation=op(
            "List memories, newest first", MemoryPage, InvalidRequest, InvalidUserId, query=ListMemories)),
        ApiRoute("/v1/memories", wrap(delete_memories), methods=["DELETE"], operation=op(
            "Delete all memories of one subject", DeletedMany, InvalidRequest, InvalidUserId,
            query=DeleteMemories)),
        ApiRoute("/v1/memories/{id}", wrap(get_memory), methods=["GET"], operation=op(
            "Get a memory", MemoryOut, InvalidRequest, MemoryNotFound, path_params=item_id)),
        ApiRoute("/v1/memories/{id}", wrap(update_memory), methods=["PATCH"], operation=op(
            "Change a memory's content, tags or metadata (recorded in its history)", MemoryOut, *bad_body,
            ContentTooLong, MemoryNotFound, body=UpdateMemory, path_params=item_id)),
        ApiRoute("/v1/memories/{id}", wrap(delete_memory), methods=["DELETE"], operation=op(
            "Delete a memory", Deleted, InvalidRequest, MemoryNotFound, path_params=item_id)),
        ApiRoute("/v1/memories/{id}/history", wrap(memory_history), methods=["GET"], operation=op(
            "A memory's history: every ADD, UPDATE and DELETE, oldest first", History, InvalidRequest,
            MemoryNotFound, path_params=item_id)),
    ]
