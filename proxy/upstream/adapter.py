"""The upstream models, reached through one litellm ``Router`` built at start-up: the
chat models clients ask for, and the memory LLM that extracts facts, so both get the
same retries, fallbacks, cooldowns and credentials.

Only litellm's public API is used (``Router``, its constructor settings and
``RetryPolicy``, ``acompletion`` / ``completion``), so a litellm release that changes its
internals cannot break memproxy at import. Answers are turned back into plain
OpenAI-shaped dicts (:mod:`proxy.upstream.shapes`) and exceptions into
:class:`UpstreamError` with the upstream's status (:mod:`proxy.upstream.failures`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable

import anyio
import openai.resources  # noqa: F401  - imported lazily by the first call otherwise (~0.7 s on it)
from litellm import Router
from litellm.types.router import RetryPolicy

from memory_core.llm import LLMConfig
from proxy.config import ModelConfig, RouterConfig
from proxy.errors import ApiError, ModelNotConfigured, ModelNotFound, UpstreamError
from proxy.metrics import NO_METRICS, Recorder
from proxy.upstream.failures import ended_without_finish, upstream_error
from proxy.upstream.readiness import ModelStatus, model_status
from proxy.upstream.shapes import openai_chunk, openai_completion

log = logging.getLogger("proxy.upstream")

# litellm 1.106+ sends any request with `tools` through its MCP bridge, which imports the
# optional `mcp` package (and would call MCP servers named in the tools): skip it, the
# tools are forwarded to the model as they are. A documented per-call option.
_CALL_OPTIONS = {"_skip_mcp_handler": True}

# The memory LLM's deployment when it is not one of the chat models (never listed).
MEMORY_DEPLOYMENT = "memproxy-memory-llm"

# Answers worth another try (chat requests are retried by Upstream._call).
_RETRIED = frozenset({408, 429, 500, 502, 503, 504})

# Errors no retry can fix: answered at once (a wrong key, a bad request, a refusal).
_NO_RETRY = dict(AuthenticationErrorRetries=0, BadRequestErrorRetries=0, ContentPolicyViolationErrorRetries=0)


class Upstream:
    """Chat completions by model name, through litellm, and the memory LLM.

    A chat request has one deadline, its model's ``timeout``: retries (of 408, 429 and
    5xx answers, at most ``router.num_retries``) and the waits between them fit inside
    it, and an upstream ``Retry-After`` longer than what is left is answered to the
    client at once, header included, instead of being slept through. The Router still
    does fallbacks and cooldowns; the memory LLM, which runs in the background, gets
    the Router's own retries.

    ``metrics`` gets each chat completion's duration and outcome by model (a stream's
    until its last chunk, and its first chunk's); the app sets it."""

    def __init__(self, models: list[ModelConfig], settings: RouterConfig,
                 memory_llm: LLMConfig | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 metrics: Recorder = NO_METRICS) -> None:
        self.metrics = metrics
        self.names = [m.name for m in models]
        self._known = frozenset(self.names)
        self._timeouts = {m.name: m.timeout for m in models}
        self._retries = settings.num_retries
        self._backoff = max(settings.retry_after, 0.5)
        self._clock, self._sleep = clock, sleep
        self.status: dict[str, ModelStatus] = {m.name: model_status(m) for m in models}
        deployments = [_deployment(m) for m in models]
        self.memory_llm: RouterLLM | None = None
        self.memory_llm_status = ModelStatus()
        if memory_llm is not None:
            if memory_llm.model in self._known:  # a chat model by name: its deployment and key
                self.memory_llm_status = self.status[memory_llm.model]
                self.memory_llm = RouterLLM(self, memory_llm.model, memory_llm)
            else:
                self.memory_llm_status = model_status(memory_llm)
                deployments.append(_memory_deployment(memory_llm))
                self.memory_llm = RouterLLM(self, MEMORY_DEPLOYMENT, memory_llm)
        retries = settings.num_retries
        self.router = Router(
            model_list=deployments,
            num_retries=retries,
            retry_after=int(settings.retry_after),
            retry_policy=RetryPolicy(**_NO_RETRY, TimeoutErrorRetries=retries, RateLimitErrorRetries=retries,
                                     InternalServerErrorRetries=retries),
            fallbacks=[{name: targets} for name, targets in settings.fallbacks.items()],
            allowed_fails=settings.allowed_fails,
            cooldown_time=settings.cooldown_time,
        ) if deployments else None

    def unready(self) -> dict[str, ModelStatus]:
        """The configured chat models that cannot be called (no key), by name."""
        return {name: s for name, s in self.status.items() if not s.ready}

    def require(self, name: Any) -> str:
        """``name`` if a request for it can be sent; else the error that says what to do."""
        if name not in self._known:
            known = ", ".join(self.names) or "none configured"
            raise ModelNotFound(f"The model {name!r} does not exist here (available: {known}).", param="model")
        status = self.status[name]
        if not status.ready:
            ready = [n for n in self.names if self.status[n].ready]
            alternative = f" Models that can answer now: {', '.join(ready)}." if ready else ""
            raise ModelNotConfigured(
                f"The model {name!r} has no API key: set {status.what_to_set()} (or its api_key in the memproxy "
                f"config) and restart memproxy.{alternative}", param="model")
        return name

    async def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        """A non-streaming completion as OpenAI's JSON object."""
        model, started = params["model"], time.perf_counter()
        try:
            response = await self._call(params)
        except ApiError as error:
            self.metrics.upstream_call(model, False, time.perf_counter() - started, "error", error.status)
            raise
        self.metrics.upstream_call(model, False, time.perf_counter() - started, "ok")
        return openai_completion(response.model_dump())

    async def stream(self, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Open a streaming completion. Errors before the first chunk raise here (so they
        can still get their HTTP status); the returned iterator yields OpenAI chunk dicts
        and raises :class:`UpstreamError` if the stream breaks later."""
        model, started = params["model"], time.perf_counter()
        try:
            stream = await self._call({**params, "stream": True})
        except ApiError as error:
            self.metrics.upstream_call(model, True, time.perf_counter() - started, "error", error.status)
            raise
        return _chunks(stream, _StreamTiming(self.metrics, model, started))

    async def _call(self, params: dict[str, Any]) -> Any:
        """One request within its deadline: the Router's call, retried here."""
        assert self.router is not None
        deadline = self._clock() + self._timeouts.get(params.get("model"), 120.0)
        attempt = 0
        while True:
            left = deadline - self._clock()
            try:
                # The deadline is wait_for's; a per-call `timeout` would cost litellm a new
                # HTTP client per request (it caches clients by their settings).
                return await asyncio.wait_for(self.router.acompletion(**params, **_CALL_OPTIONS, num_retries=0), left)
            except asyncio.TimeoutError:
                raise UpstreamError("The model did not answer within its timeout.", status=504,
                                    type="timeout") from None
            except Exception as exc:
                error = upstream_error(exc)
            if attempt >= self._retries or error.status not in _RETRIED:
                raise error
            wait = _retry_after(error) or self._backoff * 2 ** attempt
            if wait >= deadline - self._clock():
                raise error  # with its Retry-After: the client decides whether to wait
            await self._sleep(wait)
            attempt += 1

    async def warm_up(self) -> None:
        """Run litellm's code paths once without the network (``mock_response``), so the
        first real request does not pay for litellm's lazy imports (~1 s)."""
        if self.router is None or not self.names:
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


class RouterLLM:
    """The memory LLM (memory_core's ``LLM`` interface) on the same Router as the chat
    models. Synchronous: memory_core calls it from a worker thread."""

    def __init__(self, upstream: Upstream, deployment: str, config: LLMConfig) -> None:
        self._upstream = upstream
        self.deployment = deployment
        self.config = config

    @property
    def model(self) -> str:
        return self.config.model

    def complete(self, messages: list[dict[str, Any]], schema: dict[str, Any] | None = None) -> str:
        c = self.config
        params: dict[str, Any] = dict(model=self.deployment, messages=messages, temperature=c.temperature,
                                      max_tokens=c.max_tokens, timeout=c.timeout, drop_params=True)
        if c.structured_output == "json_schema" and schema is not None:
            params["response_format"] = {"type": "json_schema", "json_schema": {**schema, "strict": True}}
        elif c.structured_output != "none":
            params["response_format"] = {"type": "json_object"}
        assert self._upstream.router is not None
        response = self._upstream.router.completion(**params, **_CALL_OPTIONS)
        return response.choices[0].message.content or ""


def _retry_after(error: UpstreamError) -> float | None:
    try:
        seconds = float(error.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _StreamTiming:
    """Reports one stream's first chunk and its end to the metrics."""

    def __init__(self, metrics: Recorder, model: str, started: float) -> None:
        self.metrics, self.model, self.started = metrics, model, started
        self.first = True

    def chunk(self) -> None:
        if self.first:
            self.first = False
            self.metrics.upstream_first_chunk(self.model, time.perf_counter() - self.started)

    def end(self, outcome: str, status: int | None = None) -> None:
        self.metrics.upstream_call(self.model, True, time.perf_counter() - self.started, outcome, status)


async def _chunks(stream: Any, timing: _StreamTiming | None = None) -> AsyncIterator[dict[str, Any]]:
    outcome, status = "cancelled", None  # unless it ends: the client went away
    try:
        async for chunk in stream:
            if timing is not None:
                timing.chunk()
            yield openai_chunk(chunk.model_dump())
        outcome = "ok"
    except Exception as exc:
        if ended_without_finish(exc):
            outcome = "ok"
            return  # a complete answer without its last chunk: proxy.sse finishes it
        error = upstream_error(exc)
        outcome, status = "error", error.status
        raise error from exc
    finally:
        if timing is not None:
            timing.end(outcome, status)
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


def _memory_deployment(c: LLMConfig) -> dict[str, Any]:
    params: dict[str, Any] = {"model": c.model, "timeout": c.timeout}
    if c.api_base:
        params["api_base"] = c.api_base
    if c.api_key:
        params["api_key"] = c.api_key
    return {"model_name": MEMORY_DEPLOYMENT, "litellm_params": params}
