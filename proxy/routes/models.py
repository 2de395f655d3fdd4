"""``GET /v1/models``: the configured model names, in OpenAI's list format."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from proxy.services import Services


async def list_models(request: Request) -> Response:
    services: Services = request.state.services
    return JSONResponse({"object": "list", "data": services.upstream.models()})
