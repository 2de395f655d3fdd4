"""Mem0's platform routes, so ``mem0ai``'s ``MemoryClient`` / ``AsyncMemoryClient``
(0.1.x, 1.x, 2.x) work against memproxy by changing ``host``::

    client = MemoryClient(host="http://localhost:8888", api_key="mk_...")

The wire format (trailing slashes, ``Token`` auth, ``{"detail"}`` errors, ping's
``org_id``/``project_id``, 0.1.x's bare lists) is described in shared/docs/mem0-compat.md.
The memories are the same as ``/v1/memories``'s: one store, one tenant per key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.routing import Route

from proxy.errors import (
    ApiError,
    InvalidRequest,
    InvalidUserId,
    MemoryNotFound,
    MemoryUnavailable,
    NotSupported,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from proxy.auth import Authenticator
from proxy.error_responses import mem0_error
from proxy.openapi import ApiRoute, Operation
from proxy.routes.api import DEFAULT_MAX_BODY_BYTES, Endpoints, MemorySource
from proxy.routes.mem0 import entities, memories
from proxy.schemas.mem0 import (
    Mem0Add,
    Mem0AddResult,
    Mem0Batch,
    Mem0Entities,
    Mem0Error,
    Mem0HistoryRow,
    Mem0List,
    Mem0Memory,
    Mem0Message,
    Mem0Page,
    Mem0Ping,
    Mem0Results,
    Mem0Search,
    Mem0Update,
)

_ALWAYS = (Unauthorized, RateLimited, QuotaExceeded, MemoryUnavailable)
_UNSUPPORTED = [
    ("/v1/feedback/", "POST", "feedback"),
    ("/v1/exports/", "POST", "memory exports"),
    ("/v1/exports/get/", "POST", "memory exports"),
    ("/v1/summary/", "POST", "summaries"),
    ("/v2/profiles/settings/", "GET", "profiles"),
    ("/v2/profiles/settings/", "POST", "profiles"),
    ("/v2/profiles/jobs/", "POST", "profiles"),
    ("/v2/entities/user/{entity_id}/profile/", "GET", "profiles"),
]


def mem0_routes(memory: MemorySource, auth: Authenticator, *,
                max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> list[Route]:
    """Mem0's routes over ``memory`` (an AsyncMemory, or a function returning it)."""
    wrap = Endpoints(memory, auth, shape=mem0_error, max_body_bytes=max_body_bytes)

    def op(summary: str, response: type[BaseModel] | None, *errors: type[ApiError], **more: Any) -> Operation:
        return Operation(summary, response=response, errors=(*errors, *_ALWAYS), error_model=Mem0Error,
                         tag="mem0", **more)

    def route(path: str, method: str, handler: Any, operation: Operation, **flags: Any) -> ApiRoute:
        return ApiRoute(path, wrap(handler, **flags), methods=[method], operation=operation)

    bad = (InvalidRequest, InvalidUserId)
    one = (InvalidRequest, MemoryNotFound)
    m = memories
    routes = [
        route("/v1/ping/", "GET", entities.ping, op("Check the key (Mem0 clients call it first)", Mem0Ping),
              metered=False, needs_memory=False),
        route("/v3/memories/add/", "POST", m.add_v3, op("Add memories (2.x)", Mem0AddResult, *bad, body=Mem0Add)),
        route("/v1/memories/", "POST", m.add_v1, op("Add memories (0.1.x, 1.x)", Mem0AddResult, *bad,
                                                     body=Mem0Add)),
        route("/v3/memories/search/", "POST", m.search_results, op("Search (2.x)", Mem0Results, *bad,
                                                                    body=Mem0Search)),
        route("/v2/memories/search/", "POST", m.search_results, op("Search (1.x)", Mem0Results, *bad,
                                                                    body=Mem0Search)),
        route("/v1/memories/search/", "POST", m.search_v1, op(
            "Search (0.1.x): a bare list unless output_format is v1.1", Mem0Memory, *bad, body=Mem0Search,
            response_is_list=True)),
        route("/v3/memories/", "POST", m.list_v3, op("List memories, paginated (2.x)", Mem0Page, *bad,
                                                      body=Mem0List)),
        route("/v2/memories/", "POST", m.list_v2, op(
            "List memories (1.x, 0.1.x): a list, or a page with ?page=&page_size=", Mem0Memory, *bad,
            body=Mem0List, response_is_list=True)),
        route("/v1/memories/", "GET", m.list_v1, op(
            "List memories (0.1.x): ?user_id= (or agent_id, run_id); a bare list", Mem0Memory, *bad,
            response_is_list=True)),
        route("/v1/memories/", "DELETE", m.delete_memories, op(
            "Delete all memories of ?user_id= (agent_id, run_id, or 2.x's filters={'user_id': ...})",
            Mem0Message, *bad)),
        route("/v1/memories/{memory_id}/", "GET", m.get_memory, op("Get a memory", Mem0Memory, *one)),
        route("/v1/memories/{memory_id}/", "PUT", m.update_memory, op("Update a memory's text or metadata",
                                                                       Mem0Memory, *one, body=Mem0Update)),
        route("/v1/memories/{memory_id}/", "DELETE", m.delete_memory, op("Delete a memory", Mem0Message, *one)),
        route("/v1/memories/{memory_id}/history/", "GET", m.memory_history, op(
            "A memory's history", Mem0HistoryRow, *one, response_is_list=True)),
        route("/v1/batch/", "PUT", m.batch_update, op("Update up to 1000 memories", Mem0Message, *one,
                                                       body=Mem0Batch)),
        route("/v1/batch/", "DELETE", m.batch_delete, op("Delete up to 1000 memories", Mem0Message, *one,
                                                          body=Mem0Batch)),
        route("/v1/entities/", "GET", entities.list_entities, op(
            "The users, agents and runs that have memories", Mem0Entities)),
        route("/v2/entities/{entity_type}/{entity_id:path}/", "DELETE", entities.delete_entity, op(
            "Delete every memory of a user, agent or run", Mem0Message, InvalidRequest)),
    ]
    for path, method, feature in _UNSUPPORTED:
        routes.append(route(path, method, entities.not_supported(feature),
                            op(f"Not supported: {feature}", None, NotSupported), needs_memory=False))
    return routes
