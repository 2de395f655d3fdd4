"""A chat request has one deadline, its model's timeout: retries and their waits fit in
it, and a Retry-After longer than what is left goes back to the client at once. (The
waits are recorded, not slept, so nothing here depends on the clock.)"""

from __future__ import annotations

import pytest

from proxy.config import ModelConfig, RouterConfig
from proxy.errors import UpstreamError
from proxy.upstream import Upstream

USER = [{"role": "user", "content": "hi"}]


def upstream_for(url: str, model: str, timeout: float, retries: int) -> tuple[Upstream, list[float]]:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    models = [ModelConfig(name=model, model=f"openai/{model}", api_base=f"{url}/v1", api_key="sk-test", timeout=timeout)]
    return Upstream(models, RouterConfig(num_retries=retries), sleep=record), waits


async def test_a_retry_after_longer_than_the_deadline_is_answered_at_once_with_its_header(upstream):
    up, waits = upstream_for(upstream.url, "fail-429", timeout=3, retries=1)

    with pytest.raises(UpstreamError) as caught:
        await up.complete({"model": "fail-429", "messages": USER})

    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "7"
    assert waits == [] and len(upstream.requests) == 1


async def test_a_retry_after_that_fits_is_waited_for_then_retried(upstream):
    up, waits = upstream_for(upstream.url, "fail-429", timeout=30, retries=1)

    with pytest.raises(UpstreamError):
        await up.complete({"model": "fail-429", "messages": USER})

    assert waits == [7.0] and len(upstream.requests) == 2


async def test_server_errors_back_off_within_the_retry_budget(upstream):
    up, waits = upstream_for(upstream.url, "fail-503", timeout=30, retries=2)

    with pytest.raises(UpstreamError) as caught:
        await up.complete({"model": "fail-503", "messages": USER})

    assert caught.value.status == 503
    assert waits == [0.5, 1.0] and len(upstream.requests) == 3


async def test_a_slow_model_is_cut_at_its_deadline_with_a_504(upstream):
    up, _ = upstream_for(upstream.url, "slow-3000", timeout=0.5, retries=2)
    with pytest.raises(UpstreamError) as caught:
        await up.complete({"model": "slow-3000", "messages": USER})
    assert caught.value.status in (408, 504)
