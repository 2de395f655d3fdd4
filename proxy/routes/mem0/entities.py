"""Mem0's account routes: ping (the clients' key check), entities (users(),
delete_users(), reset()), and the platform features memproxy answers 501 for."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from proxy.errors import InvalidRequest, NotSupported
from proxy.routes.api import Call

ORG_ID = "memproxy"
_TYPES = {"user": "user_id", "agent": "agent_id", "run": "run_id"}


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
    return await memory.entities(tenant=tenant)
