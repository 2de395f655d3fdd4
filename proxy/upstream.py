"""The upstream chat models, reached through one litellm ``Router`` built at start-up.

The Router gives retries, fallbacks and per-deployment timeouts; its answers are turned
back into plain OpenAI-shaped dicts (litellm adds fields of its own) and its exceptions
into :class:`UpstreamError` with the upstream's status, message and ``Retry-After``.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import anyio
import httpx
import litellm
import openai
import openai.resources  # noqa: F401  - imported lazily by the first call otherwise (~0.7 s on it)

from proxy.config import ModelConfig, RouterConfig
from proxy.errors import ModelNotFound, ProxyError, UpstreamError, error_type_for
from proxy.lean_litellm import LeanRouter, lighten_litellm, register_unknown_models

# litellm 1.106 sends any request with `tools` through its MCP bridge, which imports the
# optional `mcp` package (and would call MCP servers named in the tools): skip it, the
# tools are forwarded to the model as they are.
_CALL_OPTIONS = {"_skip_mcp_handler": True}

# litellm's own keys that never belong in an OpenAI object.
_LITELLM_KEYS = ("provider_specific_fields", "citations", "moderation")


class Upstream:
    """Chat completions by model name, through litellm."""

    def __init__(self, models: list[ModelConfig], settings: RouterConfig) -> None:
        lighten_litellm(track_cost=settings.track_cost)
        register_unknown_models(models)
        self.names = [m.name for m in models]
        self._known = frozenset(self.names)
        self.router = (
            LeanRouter(
                model_list=[_deployment(m) for m in models],
                track_usage=any(k in m.params for m in models for k in ("tpm", "rpm")),
                num_retries=settings.num_retries,
                retry_after=int(settings.retry_after),
                fallbacks=[{name: targets} for name, targets in settings.fallbacks.items()],
                allowed_fails=settings.allowed_fails,
                cooldown_time=settings.cooldown_time,
            )
            if models
            else None
        )

    def require(self, name: Any) -> str:
        if name not in self._known:
            known = ", ".join(self.names) or "none configured"
            raise ModelNotFound(f"The model {name!r} does not exist here (available: {known}).", param="model")
        return name

    async def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming completion as OpenAI's JSON object."""
        assert self.router is not None
        try:
            response = await self.router.acompletion(**params, **_CALL_OPTIONS)
        except Exception as exc:
            raise upstream_error(exc) from exc
        return openai_completion(response.model_dump())

    async def stream(self, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Open a streaming completion. Errors before the first chunk raise here (so they
        can still get their HTTP status); the returned iterator yields OpenAI chunk dicts
        and raises :class:`UpstreamError` if the stream breaks later."""
        assert self.router is not None
        try:
            stream = await self.router.acompletion(**params, **_CALL_OPTIONS, stream=True)
        except Exception as exc:
            raise upstream_error(exc) from exc
        return _chunks(stream)

    async def warm_up(self) -> None:
        """Run litellm's code paths once without the network (``mock_response``), so the
        first real request does not pay for litellm's lazy imports (~1 s)."""
        if self.router is None:
            return
        messages = [{"role": "user", "content": "warm-up"}]
        try:
            await self.router.acompletion(model=self.names[0], messages=messages, mock_response="ok", **_CALL_OPTIONS)
            stream = await self.router.acompletion(
                model=self.names[0], messages=messages, mock_response="ok", stream=True, **_CALL_OPTIONS
            )
            async for chunk in stream:
                openai_chunk(chunk.model_dump())
        except Exception:  # only an optimisation
            pass

    def models(self) -> list[dict[str, Any]]:
        return [{"id": name, "object": "model", "created": 0, "owned_by": "memproxy"} for name in self.names]


async def _chunks(stream: Any) -> AsyncIterator[dict[str, Any]]:
    try:
        async for chunk in stream:
            yield openai_chunk(chunk.model_dump())
    except Exception as exc:
        raise upstream_error(exc) from exc
    finally:
        await _close(stream)


async def _close(stream: Any) -> None:
    """Close the upstream HTTP response, so a client that went away stops the generation.
    Shielded: it runs while the request is being cancelled (the client disconnected)."""
    for target in (getattr(stream, "completion_stream", None), stream):
        aclose = getattr(target, "aclose", None) or getattr(getattr(target, "response", None), "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await aclose()
                except Exception:  # closing is best effort: the connection may already be gone
                    pass
            return


def _deployment(m: ModelConfig) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in m.params.items() if k not in ("input_cost_per_token", "output_cost_per_token")}
    params.update(model=m.model, timeout=m.timeout)
    if m.api_base:
        params["api_base"] = m.api_base
    if m.api_key is not None:
        params["api_key"] = m.api_key.get_secret_value()
    return {"model_name": m.name, "litellm_params": params}


def openai_completion(data: dict[str, Any]) -> dict[str, Any]:
    for key in _LITELLM_KEYS:
        data.pop(key, None)
    for choice in data.get("choices") or ():
        choice.pop("provider_specific_fields", None)
        message = choice.get("message")
        if isinstance(message, dict):
            extra = message.pop("provider_specific_fields", None) or {}
            for key in ("tool_calls", "function_call", "audio", "reasoning_content", "thinking_blocks", "annotations"):
                if message.get(key) is None:
                    message.pop(key, None)
            if "refusal" in extra and "refusal" not in message:
                message["refusal"] = extra["refusal"]
    if data.get("service_tier") is None:
        data.pop("service_tier", None)
    return data


def openai_chunk(data: dict[str, Any]) -> dict[str, Any]:
    for key in _LITELLM_KEYS:
        data.pop(key, None)
    choices = data.get("choices") or []
    for choice in choices:
        delta = choice.get("delta") or {}
        choice["delta"] = {k: v for k, v in delta.items() if v is not None and k != "provider_specific_fields"}
        choice.setdefault("logprobs", None)
    usage = data.get("usage")
    if usage and all(not c["delta"] and c.get("finish_reason") is None for c in choices):
        data["choices"] = []  # OpenAI's usage chunk has no choices
    elif "usage" in data and usage is None:
        data.pop("usage")
    if data.get("service_tier") is None:
        data.pop("service_tier", None)
    return data


def upstream_error(exc: BaseException) -> ProxyError:
    """The upstream's failure as an OpenAI-shaped error with the upstream's status."""
    if isinstance(exc, ProxyError):
        return exc
    status = _status(exc)
    body = getattr(exc, "body", None)
    body = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
        kind, code, param = body.get("type"), body.get("code"), body.get("param")
    else:
        message = _clean_message(exc)
        kind, code, param = None, None, None
    headers = {}
    retry_after = _header(exc, "retry-after")
    if retry_after:
        headers["Retry-After"] = retry_after
    return UpstreamError(
        message,
        status=status,
        type=kind or error_type_for(status),
        code=str(code) if code is not None else None,
        param=param,
        headers=headers,
    )


def _status(exc: BaseException) -> int:
    if _caused_by(exc, (openai.APITimeoutError, httpx.TimeoutException)) or isinstance(exc, litellm.Timeout):
        status = int(getattr(exc, "status_code", 0) or 0)
        return status if status in (408, 504) else 504
    if _caused_by(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError)) or isinstance(
        exc, litellm.APIConnectionError
    ):
        return 502  # the upstream could not be reached, or dropped the connection
    try:
        status = int(getattr(exc, "status_code", 500))
    except (TypeError, ValueError):
        status = 500
    return status if 400 <= status <= 599 else 500


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, kinds) and not isinstance(seen, openai.APIStatusError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _header(exc: BaseException, name: str) -> str | None:
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(getattr(exc, "response", None), "headers", None)):
        try:
            value = headers.get(name) if headers is not None else None
        except Exception:
            value = None
        if value:
            return str(value)
    return None


def _clean_message(exc: BaseException) -> str:
    message = str(getattr(exc, "message", None) or exc)
    # litellm prefixes "litellm.XError: XError: OpenAIException - " and appends routing notes.
    message = message.split("\n\nLiteLLM:", 1)[0].split("\nDeployment Info:", 1)[0]
    if "Exception - " in message:
        message = message.split("Exception - ", 1)[1]
    return message.strip() or type(exc).__name__
