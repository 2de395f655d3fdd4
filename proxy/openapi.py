"""``GET /openapi.json``: the API described from the same pydantic models the handlers use.

A route that carries an :class:`Operation` (an :class:`ApiRoute`) is described in
full: parameters, request body, response and error bodies, with every model's JSON
schema under ``components.schemas``. Any other route of the app (chat, health ...)
is still listed, with its methods, so the document names every public route::

    ApiRoute("/v1/memories/{id}", get_memory, methods=["GET"],
             operation=Operation("Get a memory", response=MemoryOut, errors=(MemoryNotFound,)))
    app = Starlette(routes=[*memory_routes(...), *openapi_routes(title="memproxy")])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from proxy.errors import ApiError

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}")


@dataclass(frozen=True)
class Operation:
    """What one method of one route takes and answers, for the schema."""

    summary: str
    response: type[BaseModel] | tuple[type[BaseModel], ...] | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: Sequence[type[ApiError]] = ()
    error_model: type[BaseModel] | None = None
    status: int = 200
    tag: str = "memories"
    description: str | None = None
    response_is_list: bool = False
    path_params: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True


class ApiRoute(Route):
    """A Starlette ``Route`` that also carries its :class:`Operation`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: list[str],
                 operation: Operation, name: str | None = None) -> None:
        super().__init__(path, endpoint, methods=methods, name=name)
        self.operation = operation


def openapi_routes(title: str = "memproxy", version: str = "0.1.0") -> list[Route]:
    """``GET /openapi.json`` describing every route of the app it is mounted in."""
    cache: dict[int, dict[str, Any]] = {}

    async def openapi(request: Request) -> Response:
        app = request.scope["app"]
        key = id(app)
        if key not in cache:
            cache[key] = build_openapi(app.routes, title=title, version=version)
        return JSONResponse(cache[key])

    return [Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)]


def build_openapi(routes: Iterable[BaseRoute], *, title: str, version: str) -> dict[str, Any]:
    flat = list(_flatten(routes))
    models: list[type[BaseModel]] = []
    for _, route in flat:
        op = getattr(route, "operation", None)
        if isinstance(op, Operation):
            models += [m for m in (*_models(op.response), op.body, op.query, op.error_model) if m is not None]
    unique = list(dict.fromkeys(models))
    refs, defs = models_json_schema(
        [(m, "serialization" if _is_response(m, flat) else "validation") for m in unique],
        ref_template=_REF,
    ) if unique else ({}, {"$defs": {}})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        for (m, _mode), schema in refs.items():
            if m is model:
                return schema
        raise KeyError(model)

    paths: dict[str, dict[str, Any]] = {}
    for prefix, route in flat:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        path = _PATH_PARAM.sub(r"{\1}", prefix + route.path)
        entry = paths.setdefault(path, {})
        op = getattr(route, "operation", None)
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            entry[method.lower()] = (_describe(op, path, ref) if isinstance(op, Operation)
                                     else {"summary": route.name or path, "responses": {"200": {"description": "OK"}}})
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer",
                           "description": "`Authorization: Bearer mk_...` (Mem0's SDK sends `Token mk_...`)"},
            },
        },
    }


def _describe(op: Operation, path: str, ref: Callable[[type[BaseModel]], dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
               "description": op.path_params.get(name, "")}
              for name in _PATH_PARAM.findall(path)]
    if op.query is not None:
        params += _query_params(op.query)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
    ok: dict[str, Any] = {"description": "OK" if op.status == 200 else "Created"}
    if op.response is not None:
        choices = [ref(m) for m in _models(op.response)]
        schema = choices[0] if len(choices) == 1 else {"oneOf": choices}
        if op.response_is_list:
            schema = {"type": "array", "items": schema}
        ok["content"] = {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {str(op.status): ok}
    for status, codes in _errors_by_status(op.errors).items():
        described: dict[str, Any] = {"description": ", ".join(codes)}
        if op.error_model is not None:
            described["content"] = {"application/json": {"schema": ref(op.error_model)}}
        responses[str(status)] = described
    out["responses"] = responses
    if op.authenticated:
        out["security"] = [{"apiKey": []}]
    return out


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop,
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema.get("properties", {}).items()]


def _errors_by_status(errors: Sequence[type[ApiError]]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for kind in errors:
        grouped.setdefault(kind.status, []).append(kind.code)
    return dict(sorted(grouped.items()))


def _is_response(model: type[BaseModel], flat: list[tuple[str, BaseRoute]]) -> bool:
    for _, route in flat:
        op = getattr(route, "operation", None)
        if isinstance(op, Operation) and model in (*_models(op.response), op.error_model):
            return True
    return False


def _models(response: Any) -> tuple[type[BaseModel], ...]:
    if response is None:
        return ()
    return response if isinstance(response, tuple) else (response,)


def _flatten(routes: Iterable[BaseRoute], prefix: str = "") -> Iterable[tuple[str, BaseRoute]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _flatten(route.routes, prefix + route.path)
        else:
            yield prefix, route
