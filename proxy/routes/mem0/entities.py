"""Mem0's account routes: ping (the clients' key check), entities (users(),
delete_users(), reset()), and the platform features memproxy answers 501 for."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import JSONResponse, Response

from proxy.api_errors import InvalidRequest, NotSupported
from proxy.routes.api import Call

ORG_ID = "memproxy"
_TYPES = {"user": "user_id", "agent": "agent_id", "run": "run_id"}
_SCAN_PAGE = 500


async def ping(call: Call) -> Response:
    """The clients need non-empty ``org_id`` and ``project_id``: the project is the tenant."""
    return JSONResponse({"status": "ok", "org_id": ORG_ID, "project_id": call.tenant, "user_email": None})


async def list_entities(call: Call) -> Response:
    entities = await tenant_entities(call.memory, call.tenant)
    return JSONResponse({"count": len(entities), "next": None, "previous": None, "results": entities})


async def delete_entity(call: Call) -> Response:
    """``DELETE /v2/entities/{type}/{name}/``: every memory of that user, agent or run.

    Deleting an entity with no memories left succeeds: reset() deletes a user and then
    the agents of that user's (already deleted) memories.
    """
    kind, name = call.path("entity_type"), call.path("entity_id")
    if kind not in _TYPES:
        raise InvalidRequest(f"entity type must be one of {sorted(_TYPES)}, got {kind[:40]!r}")
    await call.memory.delete_all(**{_TYPES[kind]: name}, tenant=call.tenant)
    return JSONResponse({"message": "Entity deleted successfully!"})


def not_supported(feature: str):
    async def handler(call: Call) -> Response:
        raise NotSupported(f"{feature} is a Mem0 platform feature that memproxy does not implement")

    handler.__name__ = "not_supported"
    return handler


async def tenant_entities(memory: Any, tenant: str) -> list[dict[str, Any]]:
    """The users, agents and runs that have memories in ``tenant``, with their counts."""
    listing = getattr(memory, "entities", None)
    if listing is not None:
        return await listing(tenant=tenant)
    return await asyncio.to_thread(_scan_entities, memory, tenant)


def _scan_entities(memory: Any, tenant: str) -> list[dict[str, Any]]:
    # memory_core has no "list subjects" call yet; until it does, walk the tenant's
    # points through its store (one pass, newest first).
    from memory_core.vector_store import MemoryFilter

    store = memory.sync._store
    found: dict[tuple[str, str], dict[str, Any]] = {}
    offset = 0
    while True:
        points = store.list(MemoryFilter(tenant=tenant), offset, _SCAN_PAGE)
        for p in points:
            for kind, key in _TYPES.items():
                name = p.payload.get(key)
                if not name:
                    continue
                entry = found.setdefault((kind, name), {
                    "id": name, "name": name, "type": kind, "total_memories": 0,
                    "created_at": p.payload.get("created_at"), "updated_at": p.payload.get("updated_at"),
                })
                entry["total_memories"] += 1
                entry["created_at"] = min(filter(None, (entry["created_at"], p.payload.get("created_at"))),
                                          default=None)
                entry["updated_at"] = max(filter(None, (entry["updated_at"], p.payload.get("updated_at"))),
                                          default=None)
        if len(points) < _SCAN_PAGE:
            break
        offset += _SCAN_PAGE
    return sorted(found.values(), key=lambda e: (list(_TYPES).index(e["type"]), e["name"]))
