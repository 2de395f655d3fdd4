"""Mem0's memory routes: add, search, list, get, update, delete, delete all, history.

The three client generations reach the same handlers through different paths; where
they expect different shapes (0.1.x wants bare lists), the handler answers each in
its own.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from proxy.errors import InvalidRequest, MemoryNotFound
from proxy.routes.api import Call, json_object
from proxy.routes.mem0.wire import ENTITY_KEYS, int_param, mem0_event, mem0_item, parse_filters_param, select
from proxy.schemas.mem0 import MAX_TOP_K, Mem0Add, Mem0Batch, Mem0List, Mem0Search, Mem0Update

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


async def _body(call: Call) -> dict[str, Any]:
    data = await call.json(required=False)
    return json_object(data if data is not None else {})


async def _owned(call: Call, memory_id: str) -> dict[str, Any]:
    item = await call.memory.get(memory_id, tenant=call.tenant)
    if item is None:
        raise MemoryNotFound(f"Memory not found: no memory with id {memory_id}")
    return item


# -- add --------------------------------------------------------------------------


async def add_v1(call: Call) -> Response:
    """``POST /v1/memories/`` (0.1.x, 1.x): ``{"results": [...], "relations": []}``."""
    return JSONResponse({"results": await _add(call), "relations": []})


async def add_v3(call: Call) -> Response:
    """``POST /v3/memories/add/`` (2.x): ``{"results": [...]}``."""
    return JSONResponse({"results": await _add(call)})


async def _add(call: Call) -> list[dict[str, Any]]:
    body = Mem0Add.model_validate(await _body(call))
    chosen = select(body.model_dump(include=set(ENTITY_KEYS)), body.filters)
    added = await call.memory.add(body.messages, infer=body.infer, metadata=body.metadata,
                                  **chosen.scope(call.tenant))
    return [mem0_event(r) for r in added["results"]]


# -- search -----------------------------------------------------------------------


async def _search(call: Call) -> tuple[list[dict[str, Any]], Mem0Search]:
    body = Mem0Search.model_validate(await _body(call))
    if not body.query.strip():
        raise InvalidRequest("query must not be empty")
    chosen = select(body.model_dump(include=set(ENTITY_KEYS)), body.filters)
    wanted = min(body.top_k or body.limit or 10, MAX_TOP_K)
    found = await call.memory.search(body.query, limit=wanted, threshold=body.threshold,
                                     filters=chosen.filters, **chosen.scope(call.tenant))
    return [mem0_item(i) for i in found["results"]], body


async def search_v1(call: Call) -> Response:
    """``POST /v1/memories/search/`` (0.1.x): a bare list, unless ``output_format`` is v1.1
    (the 0.1.x ``Mem0`` proxy client needs the list)."""
    results, body = await _search(call)
    return JSONResponse({"results": results} if body.output_format == "v1.1" else results)


async def search_results(call: Call) -> Response:
    """``POST /v2/memories/search/`` (1.x) and ``/v3/memories/search/`` (2.x)."""
    results, _ = await _search(call)
    return JSONResponse({"results": results})


# -- list -------------------------------------------------------------------------


async def _list(call: Call, source: dict[str, Any]) -> tuple[list[dict[str, Any]], int, int, int]:
    body = Mem0List.model_validate(source)
    chosen = select(body.model_dump(include=set(ENTITY_KEYS)), body.filters)
    params = call.request.query_params
    page = int_param(params, "page", 1, 1, 1_000_000)
    size = int_param(params, "page_size", int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
                     1, MAX_PAGE_SIZE)
    found = await call.memory.get_all(page=page, page_size=size, filters=chosen.filters,
                                      **chosen.scope(call.tenant))
    return [mem0_item(i) for i in found["results"]], found["total"], page, size


def _page(call: Call, items: list[dict[str, Any]], total: int, page: int, size: int) -> dict[str, Any]:
    url = call.request.url

    def link(number: int) -> str:
        return str(url.include_query_params(page=number, page_size=size))

    return {"count": total, "next": link(page + 1) if page * size < total else None,
            "previous": link(page - 1) if page > 1 else None, "results": items}


async def list_v1(call: Call) -> Response:
    """``GET /v1/memories/?user_id=`` (0.1.x): a bare list (``{"results"}`` for v1.1)."""
    query = dict(call.request.query_params)
    query["filters"] = parse_filters_param(query.get("filters"))
    items, _, _, _ = await _list(call, query)
    return JSONResponse({"results": items} if query.get("output_format") == "v1.1" else items)


async def list_v2(call: Call) -> Response:
    """``POST /v2/memories/`` (1.x, 0.1.x): a list, or Mem0's page when page and page_size are given."""
    items, total, page, size = await _list(call, await _body(call))
    paged = "page" in call.request.query_params or "page_size" in call.request.query_params
    return JSONResponse(_page(call, items, total, page, size) if paged else items)


async def list_v3(call: Call) -> Response:
    """``POST /v3/memories/?page=&page_size=`` (2.x): ``{count, next, previous, results}``."""
    items, total, page, size = await _list(call, await _body(call))
    return JSONResponse(_page(call, items, total, page, size))


# -- one memory -------------------------------------------------------------------


async def get_memory(call: Call) -> Response:
    return JSONResponse(mem0_item(await _owned(call, call.path("memory_id"))))


async def update_memory(call: Call) -> Response:
    body = Mem0Update.model_validate(await _body(call))
    memory_id = call.path("memory_id")
    item = await _update(call, memory_id, body.text, body.metadata)
    return JSONResponse({**mem0_item(item), "message": "Memory updated successfully!"})


async def _update(call: Call, memory_id: str, text: str | None, metadata: dict[str, Any] | None) -> dict[str, Any]:
    if text is None:
        text = (await _owned(call, memory_id))["memory"]
    return await call.memory.update(memory_id, text, metadata=metadata, tenant=call.tenant)


async def delete_memory(call: Call) -> Response:
    await call.memory.delete(call.path("memory_id"), tenant=call.tenant)
    return JSONResponse({"message": "Memory deleted successfully!"})


async def delete_memories(call: Call) -> Response:
    """``DELETE /v1/memories/?user_id=...`` or (2.x) ``?filters={'user_id': 'alice'}``."""
    query = call.request.query_params
    chosen = select(query, parse_filters_param(query.get("filters")))
    if chosen.filters:
        raise InvalidRequest("delete_all takes entity ids only (user_id, agent_id, run_id), not metadata filters")
    done = await call.memory.delete_all(**chosen.scope(call.tenant))
    return JSONResponse({"message": "Memories deleted successfully!", "deleted": done["deleted"]})


async def memory_history(call: Call) -> Response:
    memory_id = call.path("memory_id")
    rows = await call.memory.history(memory_id, tenant=call.tenant)
    if not rows:
        raise MemoryNotFound(f"Memory not found: no memory with id {memory_id}")
    return JSONResponse(rows)


# -- batch ------------------------------------------------------------------------


async def batch_update(call: Call) -> Response:
    """``PUT /v1/batch/``: all or nothing; every entry is validated before any changes."""
    body = Mem0Batch.model_validate(await _body(call))
    changes = [{"memory_id": e.memory_id, "data": e.text, "metadata": e.metadata} for e in body.memories
               if e.text is not None or e.metadata is not None]
    for entry in body.memories:  # ids without a change must exist too
        await _owned(call, entry.memory_id)
    await call.memory.update_many(changes, tenant=call.tenant)
    return JSONResponse({"message": f"Successfully updated {len(body.memories)} memories"})


async def batch_delete(call: Call) -> Response:
    """``DELETE /v1/batch/``: every id is checked before anything is deleted."""
    body = Mem0Batch.model_validate(await _body(call))
    ids = list(dict.fromkeys(entry.memory_id for entry in body.memories))
    for memory_id in ids:
        await _owned(call, memory_id)
    for memory_id in ids:
        await call.memory.delete(memory_id, tenant=call.tenant)
    return JSONResponse({"message": f"Successfully deleted {len(ids)} memories"})
