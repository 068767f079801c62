"""Prometheus metrics of the feature server, in a registry of its own (no global state).

Latency buckets run from 100 us to 50 ms finely (the serving target is p99 <= 5 ms), with
a few coarse ones above for outliers.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005,
    0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0,
)
# Classic text format: every Prometheus version scrapes it (metric names are legacy-valid).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.request_seconds = Histogram(
            "skewless_request_duration_seconds", "Time to answer an HTTP request, by endpoint.",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.requests = Counter(
            "skewless_requests", "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "status"], registry=self.registry,
        )
        self.errors = Counter(
            "skewless_request_errors", "HTTP requests answered with an error, by endpoint and error code.",
            ["endpoint", "code"], registry=self.registry,
        )
        self.cassandra_read_seconds = Histogram(
            "skewless_cassandra_read_duration_seconds", "Time for one Cassandra partition read to answer.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.entities = Histogram(
            "skewless_request_entities", "Entities per feature request.",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000), registry=self.registry,
        )
        self.log_dropped = Gauge(
            "skewless_serving_log_dropped", "Serving-log samples dropped because the writer fell behind.",
            registry=self.registry,
        )

    def observe_request(self, endpoint: str, status: int, seconds: float, error_code: str | None = None) -> None:
        children = self._children.get((endpoint, status))
        if children is None:  # label lookups cost more than the observation: do them once
            children = self._children[(endpoint, status)] = (
                self.request_seconds.labels(endpoint), self.requests.labels(endpoint, str(status)))
        children[0].observe(seconds)
        children[1].inc()
        if error_code is not None:
            self.errors.labels(endpoint, error_code).inc()

    def observe_read(self, seconds: float) -> None:
        self.cassandra_read_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
