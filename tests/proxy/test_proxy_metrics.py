"""GET /metrics and the JSON access log, as an operator of several replicas reads them:
requests by route template and status, upstream latency by model, recall's search and
injected counts, the write queue; bounded labels (never a raw path, a user or a tenant);
one JSON object per request line. Everything through a live server and the real app."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
from typing import Any

import httpx
import openai
import pytest
from fake_memory import FakeMemory
from prometheus_client.parser import text_string_to_metric_families
from proxy_harness import wait_for

from proxy.observe import route_template
from proxy.request_log import ACCESS_LOGGER, log_json_lines

USER = "zhangsan"
SECRET_TEXT = "我不能吃辣"  # a message's content: never in a label or a log line
MISSING_ID = "mem_" + "0" * 32


class MemoryWithGet(FakeMemory):
    """The fake memory, plus ``get`` (the memory API's item routes); it finds nothing."""

    async def get(self, memory_id: str, *, tenant: str | None = None) -> dict[str, Any] | None:
        return None


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of GET /metrics: (sample name, labels) -> value."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def eventually(url: str, name: str, expected: float, **labels: str) -> dict:
    """Scrape until ``name{labels}`` is ``expected`` (a request is counted once its last
    byte is out, which can be a moment after the client read it)."""
    found: list[dict] = []

    def check() -> bool:
        found[:] = [scrape(url)]
        return value(found[0], name, **labels) == expected

    try:
        wait_for(check, timeout=5)
    except AssertionError:
        raise AssertionError(f"{name}{labels} is {value(found[0], name, **labels)}, not {expected}") from None
    return found[0]


def chat(proxy: Any, model: str = "echo", **options: Any) -> Any:
    return proxy.openai().chat.completions.create(
        model=model, user=USER, messages=[{"role": "user", "content": SECRET_TEXT}], **options)


# --- HTTP requests -------------------------------------------------------------------

def test_requests_are_counted_by_route_template_and_status_never_by_the_path_sent(start_proxy):
    proxy = start_proxy(memory=MemoryWithGet())
    chat(proxy)
    search = httpx.post(f"{proxy.url}/v1/memories/search", json={"query": "辣", "userId": USER})
    missing = httpx.get(f"{proxy.url}/v1/memories/{MISSING_ID}")
    unknown = httpx.get(f"{proxy.url}/no/such/{USER}/page")
    static = httpx.get(f"{proxy.url}/static/app.js")
    assert (search.status_code, missing.status_code, unknown.status_code, static.status_code) == (200, 404, 404, 200)

    samples = eventually(proxy.url, "memproxy_http_requests_total", 1, method="GET", route="unmatched",
                         status="404")
    assert value(samples, "memproxy_http_requests_total",
                 method="POST", route="/v1/chat/completions", status="200") == 1
    assert value(samples, "memproxy_http_requests_total",
                 method="POST", route="/v1/memories/search", status="200") == 1
    # A memory that is not there is still its route's 404, under the route's template.
    assert value(samples, "memproxy_http_requests_total", method="GET", route="/v1/memories/{id}",
                 status="404") == 1
    assert value(samples, "memproxy_http_requests_total", method="GET", route="/static/{path}", status="200") == 1
    assert value(samples, "memproxy_http_request_duration_seconds_count",
                 method="POST", route="/v1/chat/completions", status="200") == 1
    labels = {v for _, pairs in samples for _, v in pairs}
    assert not [v for v in labels if USER in v or MISSING_ID in v or "/no/such" in v or SECRET_TEXT in v]
    assert not {k for _, pairs in samples for k, _ in pairs} & {"tenant", "user", "user_id", "path"}


def test_any_method_a_client_invents_is_counted_as_other(proxy):
    assert httpx.request("PROPFIND", f"{proxy.url}/v1/models").status_code == 405
    eventually(proxy.url, "memproxy_http_requests_total", 1, method="other", route="/v1/models", status="405")


def test_a_bug_is_counted_as_the_500_its_client_got(start_proxy):
    memory = MemoryWithGet()
    memory.fail_search = RuntimeError("a bug in memory")  # not an ApiError: AnswerBugs answers it
    proxy = start_proxy(memory=memory)
    response = httpx.post(f"{proxy.url}/v1/memories/search", json={"query": "辣", "userId": USER})
    assert response.status_code == 500 and response.json()["error"]["code"]
    eventually(proxy.url, "memproxy_http_requests_total", 1, method="POST", route="/v1/memories/search",
               status="500")


def test_a_streamed_chat_is_timed_to_its_last_byte_and_streams_unchanged(proxy, upstream, monkeypatch):
    monkeypatch.setattr(upstream, "chunk_delay_ms", 80)  # 4 content chunks: >= 0.32 s after the first
    stream = chat(proxy, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"echo: {SECRET_TEXT}"

    samples = eventually(proxy.url, "memproxy_http_request_duration_seconds_count", 1,
                         method="POST", route="/v1/chat/completions", status="200")
    answered = value(samples, "memproxy_http_request_duration_seconds_sum",
                     method="POST", route="/v1/chat/completions", status="200")
    upstream_total = value(samples, "memproxy_upstream_request_duration_seconds_sum",
                           model="echo", stream="true", outcome="ok")
    first_chunk = value(samples, "memproxy_upstream_first_chunk_seconds_sum", model="echo")
    assert answered >= upstream_total >= 0.3 > first_chunk


def test_metrics_need_no_key_like_healthz(start_proxy):
    proxy = start_proxy(auth={"open": False})
    assert httpx.post(f"{proxy.url}/v1/memories/search", json={"query": "x", "userId": USER}).status_code == 401
    assert httpx.get(f"{proxy.url}/metrics").status_code == 200


def test_metrics_can_be_turned_off(start_proxy):
    proxy = start_proxy(server={"metrics": False})
    assert httpx.get(f"{proxy.url}/metrics").status_code == 404
    assert chat(proxy).choices[0].message.content == f"echo: {SECRET_TEXT}"


def test_two_apps_in_one_process_count_separately(start_proxy, tmp_path):
    first, second = start_proxy(data_dir=tmp_path / "a"), start_proxy(data_dir=tmp_path / "b")
    chat(first)
    eventually(first.url, "memproxy_http_requests_total", 1, method="POST", route="/v1/chat/completions",
               status="200")
    assert value(scrape(second.url), "memproxy_http_requests_total", method="POST",
                 route="/v1/chat/completions", status="200") is None


def test_the_template_is_found_on_a_starlette_whose_router_does_not_record_the_route():
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def endpoint(request: Any) -> None: ...

    app = Starlette(routes=[Route("/v1/memories", endpoint), Route("/v1/memories/{id}", endpoint)])
    routed = {"type": "http", "method": "GET", "path": "/v1/memories/mem_1", "root_path": "", "app": app,
              "endpoint": endpoint}  # what Starlette < 1.0 leaves: no scope["route"]
    assert route_template(routed) == "/v1/memories/{id}"
    assert route_template({**routed, "path": "/elsewhere"}) == "unmatched"
    assert route_template({"type": "http", "method": "GET", "path": "/v1/memories/mem_1", "app": app}) == "unmatched"


def test_each_replica_names_itself_in_an_info_metric(proxy):
    samples = scrape(proxy.url)
    names = [dict(labels)["replica"] for name, labels in samples if name == "memproxy_replica_info"]
    assert names == [f"{socket.gethostname()}:{os.getpid()}"]
    assert value(samples, "process_resident_memory_bytes") > 0


# --- upstream --------------------------------------------------------------------------

def test_upstream_latency_and_errors_are_reported_by_configured_model(proxy):
    chat(proxy)
    with pytest.raises(openai.InternalServerError):
        chat(proxy, model="fail-503")

    samples = eventually(proxy.url, "memproxy_upstream_errors_total", 1, model="fail-503", status="503")
    assert value(samples, "memproxy_upstream_request_duration_seconds_count",
                 model="echo", stream="false", outcome="ok") == 1
    assert value(samples, "memproxy_upstream_request_duration_seconds_count",
                 model="fail-503", stream="false", outcome="error") == 1
    assert value(samples, "memproxy_http_requests_total",
                 method="POST", route="/v1/chat/completions", status="503") == 1


# --- recall ----------------------------------------------------------------------------

def test_recall_reports_its_search_latency_and_how_many_memories_it_injected(proxy):
    proxy.memory.remember("我叫张三", user_id=USER)
    proxy.memory.remember(SECRET_TEXT, user_id=USER)
    assert chat(proxy).choices[0].message.content  # 2 memories injected
    proxy.openai().chat.completions.create(model="echo", messages=[{"role": "user", "content": "hi"}])  # no user

    samples = eventually(proxy.url, "memproxy_recalls_total", 1, status="no-subject")
    assert value(samples, "memproxy_recalls_total", status="injected") == 1
    assert value(samples, "memproxy_memory_search_duration_seconds_count", outcome="ok") == 1
    assert value(samples, "memproxy_memories_injected_count") == 1
    assert value(samples, "memproxy_memories_injected_sum") == 2
    assert value(samples, "memproxy_memories_injected_bucket", le="1.0") == 0
    assert value(samples, "memproxy_memories_injected_bucket", le="2.0") == 1


def test_a_search_that_fails_or_times_out_is_counted_and_the_chat_still_answered(start_proxy):
    proxy = start_proxy(injection={"timeout": 0.1})
    proxy.memory.fail_search = RuntimeError("store unreachable")
    assert chat(proxy).choices[0].message.content
    proxy.memory.fail_search, proxy.memory.search_delay = None, 2.0
    assert chat(proxy).choices[0].message.content

    samples = eventually(proxy.url, "memproxy_memory_search_failures_total", 1, reason="timeout")
    assert value(samples, "memproxy_memory_search_failures_total", reason="error") == 1
    assert value(samples, "memproxy_recalls_total", status="skipped") == 2
    assert value(samples, "memproxy_memories_injected_count") == 0  # no search finished: nothing to count


# --- the write queue -------------------------------------------------------------------

def test_the_write_queue_depth_and_the_writers_counts_are_read_at_scrape_time(proxy):
    proxy.memory.add_delay = 1.0
    chat(proxy)
    pending = eventually(proxy.url, "memproxy_write_queue_pending", 1)  # being written: still queued
    assert value(pending, "memproxy_memory_writes_applied_total") == 0
    assert value(pending, "memproxy_memory_writes_retried_total") == 0

    samples = eventually(proxy.url, "memproxy_memory_writes_applied_total", 1)
    assert value(samples, "memproxy_write_queue_pending") == 0
    assert value(samples, "memproxy_write_queue_dead_letters") == 0
    assert value(samples, "memproxy_memory_ready") == 1


def test_a_write_that_keeps_failing_is_retried_then_shows_as_a_dead_letter(proxy):
    proxy.memory.fail_add = RuntimeError("store unreachable")
    chat(proxy)
    samples = eventually(proxy.url, "memproxy_write_queue_dead_letters", 1)  # after writer.max_attempts (3)
    assert value(samples, "memproxy_memory_writes_retried_total") == 2
    assert value(samples, "memproxy_write_queue_pending") == 0
    assert value(samples, "memproxy_memory_writes_applied_total") == 0


# --- the JSON access log ---------------------------------------------------------------

def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]


def test_with_log_format_json_each_request_is_one_json_line_with_its_fields(start_proxy, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    proxy = start_proxy(memory=MemoryWithGet(), server={"log_format": "json"})
    proxy.memory.remember(SECRET_TEXT, user_id=USER)
    chat(proxy, extra_headers={"X-Request-Id": "req-7f3a"})
    httpx.get(f"{proxy.url}/v1/memories/{MISSING_ID}")

    wait_for(lambda: len(access_lines(caplog)) >= 2, timeout=5)
    chat_line, memory_line = access_lines(caplog)[:2]
    assert chat_line["method"] == "POST" and chat_line["route"] == "/v1/chat/completions"
    assert chat_line["status"] == 200 and chat_line["duration_ms"] > 0
    assert (chat_line["model"], chat_line["stream"], chat_line["memory"], chat_line["memories"]) == (
        "echo", False, "injected", 1)
    assert chat_line["request_id"] == "req-7f3a"
    assert chat_line["replica"] == f"{socket.gethostname()}:{os.getpid()}"
    assert (memory_line["route"], memory_line["status"]) == ("/v1/memories/{id}", 404)
    assert "model" not in memory_line and "request_id" not in memory_line
    raw = "\n".join(r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER)
    assert "\n" not in raw.split("\n")[0] and USER not in raw and SECRET_TEXT not in raw and MISSING_ID not in raw


def test_the_text_log_format_writes_no_access_lines(proxy, caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    chat(proxy)
    proxy.settle(0.1)
    assert access_lines(caplog) == []


def test_the_command_lines_json_handler_writes_bare_json_lines():
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.handlers[:], logger.level, logger.propagate)
    out = io.StringIO()
    try:
        log_json_lines(out)
        log_json_lines(out)  # idempotent: one handler
        logger.info(json.dumps({"route": "/healthz", "status": 200}))
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [{"route": "/healthz", "status": 200}]
