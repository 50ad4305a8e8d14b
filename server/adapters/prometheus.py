"""Prometheus metrics (the Metrics port, and the observers the platform adapters and the
gRPC interceptors report to), served on DISTRIBUTION_METRICS_LISTEN at /metrics.

Each service instance has its own registry (tests run several in one process); the
exposition endpoint is a small aiohttp app on the service's event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from server.domain.models import Platform, PublishState
from server.http_server import AppServer

_RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# From on time to a service down for hours (past the default MISSED limit of an hour).
_LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

class PrometheusMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # `transport`: grpc for a call over the gRPC port, http for one through the HTTP gateway.
        self.rpcs = Counter("distribution_rpc_requests", "RPCs handled, by method, status code and transport",
                            ["method", "code", "transport"], registry=r)
        self.rpc_latency = Histogram("distribution_rpc_duration_seconds", "RPC latency, by method and transport",
                                     ["method", "transport"], buckets=_RPC_BUCKETS, registry=r)
        self.takeovers = Counter("distribution_publish_takeovers",
                                 "Publishes taken over by a replica after their run's lease lapsed",
                                 ["platform"], registry=r)
        self.publishes = Counter("distribution_publishes", "Publishes that reached a final state",
                                 ["platform", "state"], registry=r)
        self.in_flight = Gauge("distribution_publishes_in_flight", "Publishes being driven right now",
                               registry=r)
        self.platform_calls = Counter("distribution_platform_requests", "HTTP calls to the platforms",
                                      ["platform", "endpoint", "status"], registry=r)
        self.platform_latency = Histogram("distribution_platform_request_duration_seconds",
                                          "Platform HTTP call latency", ["platform", "endpoint"],
                                          buckets=_HTTP_BUCKETS, registry=r)
        self.retries = Counter("distribution_platform_retries", "Platform calls repeated after a transient error",
                               ["platform", "endpoint"], registry=r)
        self.rate_limit_waits = Counter("distribution_rate_limit_waits", "Calls that waited for a rate-limit slot",
                                        ["platform", "endpoint"], registry=r)
        self.rate_limit_wait_seconds = Counter("distribution_rate_limit_wait_seconds",
                                               "Time spent waiting for rate-limit slots",
                                               ["platform", "endpoint"], registry=r)
        self.rate_limited = Counter("distribution_platform_rate_limited",
                                    "Platform answers that a rate limit was exceeded, despite the pacing",
                                    ["platform", "endpoint"], registry=r)

        self.schedule_lateness = Histogram(
            "distribution_schedule_start_lateness_seconds",
            "How late scheduled publishes were claimed after their time (MISSED ones included)",
            ["platform"], buckets=_LATENESS_BUCKETS, registry=r,
        )

        self.port: int | None = None  # of the /metrics endpoint, once served

    # --- the Metrics port ---------------------------------------------------------------

    def publish_finished(self, platform: Platform, state: PublishState) -> None:
        self.publishes.labels(platform.value, state.value).inc()

    def platform_retry(self, platform: str, endpoint: str) -> None:
        self.retries.labels(platform, endpoint).inc()

    def publish_taken_over(self, platform: Platform) -> None:
        self.takeovers.labels(platform.value).inc()

    def track_in_flight(self, count: Callable[[], int]) -> None:
        self.in_flight.set_function(lambda: float(count()))

    def schedule_started(self, platform: Platform, lateness_seconds: float) -> None:
        self.schedule_lateness.labels(platform.value).observe(lateness_seconds)

    # --- observers ------------------------------------------------------------------------

    def rpc_finished(self, method: str, code: str, seconds: float, transport: str = "grpc") -> None:
        self.rpcs.labels(method, code, transport).inc()
        self.rpc_latency.labels(method, transport).observe(seconds)

    def platform_call(self, platform: str, endpoint: str, status: str, seconds: float) -> None:
        self.platform_calls.labels(platform, endpoint, status).inc()
        self.platform_latency.labels(platform, endpoint).observe(seconds)

    def rate_limit_wait(self, platform: str, endpoint: str, seconds: float) -> None:
        self.rate_limit_waits.labels(platform, endpoint).inc()
        self.rate_limit_wait_seconds.labels(platform, endpoint).inc(seconds)

    def rate_limit_answer(self, platform: str, endpoint: str) -> None:
        self.rate_limited.labels(platform, endpoint).inc()

    async def serve(self, listen: str) -> Callable[[], Awaitable[None]]:
        """Starts the /metrics endpoint; returns its stop coroutine function."""
        async def metrics(_: web.Request) -> web.Response:
            body = generate_latest(self.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        host, _, port = listen.rpartition(":")
        server = AppServer(app, host=host.strip("[]"), port=int(port))
        await server.start()
        self.port = server.port
        return server.stop
