"""litellm, minus the per-call work memproxy does not use.

litellm does a lot on every call that only matters for features memproxy leaves off
(spend logging, pricing, tpm/rpm accounting). Profiled with pyinstrument and py-spy,
and A/B-measured on the running server (docs/proxy.md, Performance), each switch below
removes a measurable share of the CPU a request costs. Retries, fallbacks, cooldowns,
timeouts and failure handling are untouched. These settings are process-wide, as all of
litellm's are.
"""

from __future__ import annotations

from typing import Any, Iterable

import litellm
from litellm import Router
from litellm.litellm_core_utils.litellm_logging import Logging

from proxy.config import ModelConfig


def lighten_litellm(*, track_cost: bool) -> None:
    """Process-wide litellm settings: quiet, and without per-call work nobody reads."""
    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on errors
    litellm.telemetry = False
    litellm.disable_streaming_logging = True  # per-chunk logging for loggers we don't have
    _skip_success_logging_without_loggers()
    _price_answers(track_cost)


_PRICE = Logging.response_cost_calculator


def _no_price(self: Any, *args: Any, **kwargs: Any) -> None:
    return None


def _price_answers(on: bool) -> None:
    """litellm prices every answer (model-info lookups, then a "why is this free?"
    diagnostic for zero-priced models): 10-15% of memproxy's CPU per request, measured
    with A/B runs of the server at concurrency 32. The price only feeds litellm's
    logging and budgets, which memproxy does not use, so it is off unless
    ``router.track_cost`` is set (process-wide: litellm's settings are global)."""
    Logging.response_cost_calculator = _PRICE if on else _no_price  # type: ignore[method-assign]


def _skip_success_logging_without_loggers() -> None:
    """After every successful call litellm schedules a task that prices the answer and
    builds its ~100-field logging payload, for whatever success loggers are registered.
    memproxy registers none (the Router's own one only counts tpm/rpm, see ``LeanRouter``),
    so that task is pure cost: about 20% of litellm's CPU per call, measured by A/B in
    one process. It is skipped while no other success logger is registered; failure
    logging, which the Router's retries and cooldowns rely on, is untouched."""
    utils = litellm.utils
    schedule = getattr(utils, "_schedule_async_success_logging", None)
    if schedule is None or getattr(schedule, "_memproxy", False):
        return  # another litellm release: nothing to skip

    def only_with_loggers(**kwargs: Any) -> None:
        if _has_own_success_loggers():
            schedule(**kwargs)

    only_with_loggers._memproxy = True  # type: ignore[attr-defined]
    utils._schedule_async_success_logging = only_with_loggers


def _has_own_success_loggers() -> bool:
    registered = [*litellm.callbacks, *litellm.success_callback, *litellm._async_success_callback]
    return any(not isinstance(getattr(cb, "__self__", None), Router) for cb in registered)


def register_unknown_models(models: Iterable[ModelConfig]) -> None:
    """litellm prices every answer; for a model missing from its price list it searches
    the whole list on every call before giving up. Registering the model (priced at zero
    unless the config says otherwise) turns that into one dict lookup."""
    for m in models:
        if m.model in litellm.model_cost:
            continue
        provider = m.model.split("/", 1)[0] if "/" in m.model else "openai"
        litellm.register_model(
            {
                m.model: {
                    "litellm_provider": provider,
                    "mode": "chat",
                    "input_cost_per_token": float(m.params.get("input_cost_per_token", 0.0)),
                    "output_cost_per_token": float(m.params.get("output_cost_per_token", 0.0)),
                    "cache_creation_input_token_cost": 0.0,
                    "cache_read_input_token_cost": 0.0,
                }
            }
        )


class LeanRouter(Router):
    """litellm's Router, without its per-call usage accounting when no deployment has a
    tpm/rpm limit to enforce: litellm then deep-copies the deployment's model info twice
    per call only to find nothing to count (about 15% of litellm's CPU per call, profiled
    with pyinstrument). Retries, fallbacks, cooldowns and timeouts are untouched."""

    def __init__(self, *args: Any, track_usage: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._track_usage = track_usage

    async def _increment_deployment_usage(self, **kwargs: Any) -> str | None:
        if self._track_usage:
            return await super()._increment_deployment_usage(**kwargs)
        return None
