"""``GET /metrics``: what one memproxy process did, for Prometheus, with the standard
``prometheus_client`` library.

Each app has its own :class:`Metrics` (its own ``CollectorRegistry``: nothing is
registered at import, and two apps in one process count separately). The request path
reports to it through the small :class:`Recorder` interface; with metrics off
(``server.metrics: false``) it gets :data:`NO_METRICS`, which records nothing.

    metrics = Metrics(replica="web-1:4242")
    metrics.request("GET", "/v1/memories/{id}", 200, 0.004)
    metrics.exposition("text/plain")   # -> (bytes, content type)

Labels are bounded: a route is its template (``/v1/memories/{id}``, never the path a
client sent, so no ids or user names; a path no route serves is ``unmatched``), a model
is a configured name, a status an HTTP status. Nothing carries a tenant or a user.
Replicas are told apart by the ``instance`` label Prometheus adds to every series it
scrapes; ``memproxy_replica_info`` maps an instance to this process's name (host:pid).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterable

import anyio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from proxy.services import Services

log = logging.getLogger("proxy.metrics")

UNMATCHED = "unmatched"  # the route of a request no route served (404s, slash redirects)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Seconds. A chat, streamed to its end, can take minutes; the memory API takes milliseconds.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INJECTED_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100)  # injection.limit is at most 100


class Recorder:
    """What the request path reports. This base records nothing: it is what the injector
    and the upstream adapter hold when metrics are off."""

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request, answered (a stream: to its last byte)."""

    def upstream_call(self, model: str, stream: bool, seconds: float, outcome: str,
                      status: int | None = None) -> None:
        """One chat completion from an upstream model: ``outcome`` is ``ok``, ``error``
        (with the status answered for it) or ``cancelled`` (the client went away)."""

    def upstream_first_chunk(self, model: str, seconds: float) -> None:
        """A streamed completion's first chunk, ``seconds`` after the call began."""

    def search(self, seconds: float, outcome: str) -> None:
        """One recall search: ``ok``, ``timeout`` or ``error``."""

    def recall(self, status: str, injected: int | None) -> None:
        """What recall did for one chat (:class:`proxy.injection.Recall` status); ``injected``
        is the number of memories put in the prompt when a search ran, else None."""


NO_METRICS = Recorder()


class Metrics(Recorder):
    """The instruments of one app, in its own registry, and their exposition."""

    def __init__(self, *, replica: str, version: str = "0.1.0", process: bool = True) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._requests = Counter("memproxy_http_requests", "HTTP requests answered, by route template and status.",
                                 ["method", "route", "status"], registry=r)
        self._latency = Histogram("memproxy_http_request_duration_seconds",
                                  "Time to answer an HTTP request; a streamed chat until its last byte.",
                                  ["method", "route", "status"], buckets=HTTP_BUCKETS, registry=r)
        self.in_progress = Gauge("memproxy_http_requests_in_progress", "HTTP requests being answered now.",
                                 registry=r)
        self._upstream = Histogram("memproxy_upstream_request_duration_seconds",
                                   "Upstream chat completions by configured model: retries included; a stream "
                                   "until its last chunk.", ["model", "stream", "outcome"],
                                   buckets=HTTP_BUCKETS, registry=r)
        self._first_chunk = Histogram("memproxy_upstream_first_chunk_seconds",
                                      "Streamed completions: time to the first chunk.", ["model"],
                                      buckets=HTTP_BUCKETS, registry=r)
        self._upstream_errors = Counter("memproxy_upstream_errors",
                                        "Upstream chat completions that failed, by the status answered for them.",
                                        ["model", "status"], registry=r)
        self._search = Histogram("memproxy_memory_search_duration_seconds",
                                 "Recall's memory search (embedding the query included).", ["outcome"],
                                 buckets=SEARCH_BUCKETS, registry=r)
        self._search_failures = Counter("memproxy_memory_search_failures",
                                        "Recall searches that failed or timed out (the chat is answered without "
                                        "memories).", ["reason"], registry=r)
        self._recalls = Counter("memproxy_recalls", "Chats by what recall did (X-Memory-Status).", ["status"],
                                registry=r)
        self._injected = Histogram("memproxy_memories_injected", "Memories injected per chat turn that searched.",
                                   buckets=INJECTED_BUCKETS, registry=r)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        r.register(_Constant(replica, version))
        if process:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)

    def watch(self, services: "Services") -> None:
        """Report the write queue, the writer's counters and memory's readiness, read from
        ``services`` at each scrape (nothing is counted on the request path for them)."""
        self.registry.register(_ServicesCollector(services))

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in METHODS:  # any token is a valid method: keep the label bounded
            method = "other"
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # a bounded set of keys: resolve the label children once
            children = (self._requests.labels(method, route, str(status)),
                        self._latency.labels(method, route, str(status)))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def upstream_call(self, model: str, stream: bool, seconds: float, outcome: str,
                      status: int | None = None) -> None:
        self._upstream.labels(model, "true" if stream else "false", outcome).observe(seconds)
        if outcome == "error":
            self._upstream_errors.labels(model, str(status or 500)).inc()

    def upstream_first_chunk(self, model: str, seconds: float) -> None:
        self._first_chunk.labels(model).observe(seconds)

    def search(self, seconds: float, outcome: str) -> None:
        self._search.labels(outcome).observe(seconds)
        if outcome != "ok":
            self._search_failures.labels(outcome).inc()

    def recall(self, status: str, injected: int | None) -> None:
        self._recalls.labels(status).inc()
        if injected is not None:
            self._injected.observe(injected)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format ``accept`` asks for (Prometheus' text format, or
        OpenMetrics), and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def metrics_routes(metrics: Metrics | None) -> list[Route]:
    """``GET /metrics``, unauthenticated like ``/healthz`` (no tenant data); none when
    ``metrics`` is None (``server.metrics: false``: a 404)."""
    if metrics is None:
        return []

    async def scrape(request: Request) -> Response:
        # In a thread: the write queue's count is a database query.
        body, content_type = await anyio.to_thread.run_sync(metrics.exposition, request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})

    return [Route("/metrics", scrape, methods=["GET"], name="metrics")]


class _Constant(Collector):
    def __init__(self, replica: str, version: str) -> None:
        self._info = {"replica": replica, "version": version}

    def collect(self) -> Iterable[Metric]:
        yield InfoMetricFamily("memproxy_replica", "This process: its name (host:pid by default) and version.",
                               value=self._info)


class _ServicesCollector(Collector):
    """Read at scrape time: the writer's queue (``counts()``) and counters, and memory."""

    def __init__(self, services: "Services") -> None:
        self._services = services

    def collect(self) -> Iterable[Metric]:
        services = self._services
        ready = services.memory is not None and services.memory_problem is None
        yield GaugeMetricFamily("memproxy_memory_ready", "1 when memory is loaded (chats get memories), else 0.",
                                value=1 if ready else 0)
        writer = services.writer
        if writer is None:  # before the server started
            return
        yield CounterMetricFamily("memproxy_memory_writes_applied", "Queued exchanges stored in memory.",
                                  value=writer.applied)
        yield CounterMetricFamily("memproxy_memory_writes_retried", "Memory writes that failed and were retried.",
                                  value=getattr(writer, "retried", 0))
        try:
            counts = writer.queue.counts()
        except Exception as exc:  # a scrape must not fail: the other metrics still count
            log.warning("metrics: the write queue could not be read: %s: %s", type(exc).__name__, exc)
            return
        yield GaugeMetricFamily("memproxy_write_queue_pending", "Memory writes queued and not yet stored.",
                                value=counts["pending"])
        yield GaugeMetricFamily("memproxy_write_queue_dead_letters",
                                "Memory writes that failed for good (memproxy dead-letters lists them).",
                                value=counts["dead_letters"])
