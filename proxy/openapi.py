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
from typing import Any, Callable, Iterable, Mapping, Sequence

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from proxy.errors import ApiError
from proxy.schemas.paths import PATH_PARAMETERS

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
    # Other success statuses than ``status``, and what each answers:
    # ``status=201, also={200: (MemoryOut, MemoryEvents)}``.
    also: Mapping[int, type[BaseModel] | tuple[type[BaseModel], ...]] = field(default_factory=dict)

    def success_models(self) -> tuple[type[BaseModel], ...]:
        return (*_models(self.response), *(m for answer in self.also.values() for m in _models(answer)))


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
            models += [m for m in (*op.success_models(), op.body, op.query, op.error_model) if m is not None]
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
    params = [{"name": name, "in": "path", "required": True, "schema": _path_param_schema(name),
               "description": op.path_params.get(name, "")}
              for name in _PATH_PARAM.findall(path)]
    if op.query is not None:
        params += _query_params(op.query)
        needed = _any_of_required(op.query)
        if needed:
            # OpenAPI cannot make one of several parameters required: say so, for people
            # (the description) and for tools (the extension).
            out["x-required-any-of"] = needed
            out["description"] = " ".join(filter(None, (
                out.get("description"), f"At least one of {', '.join(needed)} is required.")))
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
    # An operation that answers 501 Not Implemented never succeeds: it has no success response.
    never_succeeds = op.response is None and any(kind.status == 501 for kind in op.errors)
    successes = {} if never_succeeds else {op.status: op.response, **op.also}
    responses: dict[str, Any] = {str(status): _success(status, answer, op.response_is_list, ref)
                                 for status, answer in sorted(successes.items())}
    for status, codes in _errors_by_status(op.errors).items():
        described: dict[str, Any] = {"description": ", ".join(codes)}
        if op.error_model is not None:
            described["content"] = {"application/json": {"schema": ref(op.error_model)}}
        responses[str(status)] = described
    out["responses"] = responses
    if op.authenticated:
        out["security"] = [{"apiKey": []}]
    return out


def _success(status: int, answer: Any, is_list: bool,
             ref: Callable[[type[BaseModel]], dict[str, Any]]) -> dict[str, Any]:
    described: dict[str, Any] = {"description": _REASONS.get(status, "OK")}
    if answer is not None:
        choices = [ref(m) for m in _models(answer)]
        schema = choices[0] if len(choices) == 1 else {"oneOf": choices}
        if is_list:
            schema = {"type": "array", "items": schema}
        described["content"] = {"application/json": {"schema": schema}}
    return described


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content"}


def _path_param_schema(name: str) -> dict[str, Any]:
    """The schema of a path parameter, from its type in :data:`PATH_PARAMETERS` (text if unlisted)."""
    return TypeAdapter(PATH_PARAMETERS.get(name, str)).json_schema()


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        if name not in required:
            prop = _without_null(prop)
        params.append({"name": name, "in": "query", "required": name in required, "schema": prop,
                       **({"description": description} if description else {})})
    return params


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter's schema without pydantic's ``None`` branch: in a query
    string a parameter is either absent or text, never null."""
    choices = [c for c in prop.get("anyOf", ()) if c != {"type": "null"}]
    if "anyOf" not in prop or len(choices) == len(prop["anyOf"]):
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**choices[0], **rest} if len(choices) == 1 else {**rest, "anyOf": choices}


def _any_of_required(model: type[BaseModel]) -> list[str]:
    """The names of a model-level ``anyOf`` of ``required`` alternatives
    (:func:`proxy.schemas.rules.any_of_required`): at least one of them must be sent."""
    alternatives = model.model_json_schema(by_alias=True).get("anyOf", ())
    return [name for alt in alternatives for name in alt.get("required", ())]


def _errors_by_status(errors: Sequence[type[ApiError]]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for kind in errors:
        grouped.setdefault(kind.status, []).append(kind.code)
    return dict(sorted(grouped.items()))


def _is_response(model: type[BaseModel], flat: list[tuple[str, BaseRoute]]) -> bool:
    for _, route in flat:
        op = getattr(route, "operation", None)
        if isinstance(op, Operation) and model in (*op.success_models(), op.error_model):
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
