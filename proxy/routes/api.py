"""What every memory-API endpoint does around its handler, shared by ``/v1/memories``
and the Mem0-compatible routes: authenticate the caller, find the memory store, read
the JSON body within a size limit, and answer errors in the API family's shape
(:mod:`proxy.error_responses`).

    endpoint = Endpoints(memory, auth, shape=memory_api_error)
    Route("/v1/memories/{id}", endpoint(get_memory), methods=["GET"])

    async def get_memory(call: Call) -> Response:
        item = await call.memory.get(call.path("id"), tenant=call.tenant)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from proxy.auth import Authenticator, Principal
from proxy.error_responses import Shape, shaped, use_shape
from proxy.errors import InvalidRequest, MemoryUnavailable, PayloadTooLarge

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# An AsyncMemory, or a function returning it (None while it is still loading).
MemorySource = Any


@dataclass
class Call:
    """One request as a handler sees it: who is calling and what they sent."""

    request: Request
    principal: Principal
    memory: Any
    max_body_bytes: int

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    def path(self, name: str) -> str:
        return self.request.path_params[name]

    async def json(self, *, required: bool = True) -> Any:
        return await read_json(self.request, self.max_body_bytes, required=required)


Handler = Callable[[Call], Awaitable[Response]]


class Endpoints:
    """Wraps handlers into Starlette endpoints for one API family."""

    def __init__(self, memory: MemorySource, auth: Authenticator, *,
                 shape: Shape,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self._memory = memory
        self._auth = auth
        self._shape = shape
        self._max_body = max_body_bytes

    def memory(self) -> Any:
        source = self._memory
        found = source() if callable(source) else source
        if found is None:
            raise MemoryUnavailable("the memory store is not ready yet (still loading, or failed: see /readyz)",
                                    headers={"Retry-After": "5"})
        return found

    def __call__(self, handler: Handler, *, metered: bool = True,
                 needs_memory: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            use_shape(request, self._shape)
            principal = await self._auth.principal(request, metered=metered)
            memory = self.memory() if needs_memory else None
            return await handler(Call(request, principal, memory, self._max_body))

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return shaped(self._shape, endpoint)


async def read_json(request: Request, limit: int, *, required: bool = True) -> Any:
    """The parsed body; 413 past ``limit`` bytes, 400 for anything that is not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is larger than this server's limit of {limit} bytes")
    raw = bytearray()
    async for piece in request.stream():
        raw += piece
        if len(raw) > limit:
            raise PayloadTooLarge(f"the request body is larger than this server's limit of {limit} bytes")
    if not raw.strip():
        if required:
            raise InvalidRequest("the request body is empty: send a JSON object")
        return None
    try:
        return json.loads(bytes(raw), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return data
