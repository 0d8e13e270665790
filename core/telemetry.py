"""Operational metrics in the Prometheus text format; the only prometheus-client import.

One ``Telemetry`` per process, built by the composition root and handed to what it measures
(constructor injection): its metrics live in its own registry, so nothing is registered at
import time and each test can build a fresh one.

Several uvicorn workers are several processes, each with its own registry: a scrape of
``/metrics`` reaches one worker and shows that worker's figures only. To see the whole server,
either scrape each worker, or set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by
the workers before they start (prometheus-client's multiprocess mode, read at import): every
worker then writes its samples to files there and any worker's ``/metrics`` sums them (the
queue-depth gauge is summed over live workers). Empty the directory before each start.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel, Field

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# seconds: a cached reply takes a few ms, a full-pipeline message ~0.2 s alone, seconds under load
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# a handoff waits seconds to hours for an agent
WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200)


class EncoderFigures(BaseModel):
    """The encoder's totals so far in this process (benchmarks take the difference of two)."""

    batches: int = Field(description="collected batches")
    requests: int = Field(description="callers served by those batches")
    passes: int = Field(description="forward passes")
    texts: int = Field(description="distinct texts in those passes")
    refused: int = Field(description="requests refused because the encoder queue was full")

    def since(self, earlier: EncoderFigures) -> EncoderFigures:
        """What happened between ``earlier`` and these figures."""
        return EncoderFigures(
            **{
                name: getattr(self, name) - getattr(earlier, name)
                for name in type(self).model_fields
            }
        )

    @property
    def requests_per_batch(self) -> float:
        return self.requests / self.batches if self.batches else 0.0

    @property
    def texts_per_pass(self) -> float:
        return self.texts / self.passes if self.passes else 0.0


class Telemetry:
    """The process's metrics, each recorded by one typed method.

    Args:
        namespace: prefix of every metric name.
    """

    def __init__(self, namespace: str = "policydesk") -> None:
        self._registry = CollectorRegistry(auto_describe=True)
        self._namespace = namespace
        self._multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        registry = self._registry
        self._requests = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template, method and status code",
            ["route", "method", "status"],
            namespace=namespace,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._queue_depth = Gauge(
            "encoder_queue_depth",
            "requests waiting for the text encoder (submitted, not yet in a forward pass)",
            namespace=namespace,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._batch_requests = Histogram(
            "encoder_batch_requests",
            "callers served by one collected encoder batch",
            namespace=namespace,
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self._forward_texts = Histogram(
            "encoder_forward_texts",
            "distinct texts in one encoder forward pass",
            namespace=namespace,
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self._handoff_wait = Histogram(
            "handoff_wait_seconds",
            "time a handoff waited in the queue until an agent accepted it",
            namespace=namespace,
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self._overloaded = Counter(
            "overload_rejections",
            "requests refused because a bounded queue was full",
            ["queue"],
            namespace=namespace,
            registry=registry,
        )

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request, by route template (``/v1/sessions/{session_id}``), not raw path."""
        self._requests.labels(route=route, method=method, status=str(status)).observe(seconds)

    def encoder_queue_depth(self, waiting: int) -> None:
        """How many encoder requests wait now."""
        self._queue_depth.set(waiting)

    def encoder_batch(self, requests: int) -> None:
        """One collected encoder batch served ``requests`` callers."""
        self._batch_requests.observe(requests)

    def encoder_forward(self, texts: int) -> None:
        """One forward pass of the encoder over ``texts`` distinct texts."""
        self._forward_texts.observe(texts)

    def handoff_accepted(self, waited_seconds: float) -> None:
        """A handoff was accepted after waiting this long."""
        self._handoff_wait.observe(max(0.0, waited_seconds))

    def overloaded(self, queue: str) -> None:
        """A request was refused because ``queue`` was full."""
        self._overloaded.labels(queue=queue).inc()

    def encoder_figures(self) -> EncoderFigures:
        """This process's encoder totals (its own samples, also in multiprocess mode)."""

        def value(name: str, labels: dict[str, str] | None = None) -> int:
            return int(self._registry.get_sample_value(f"{self._namespace}_{name}", labels) or 0)

        return EncoderFigures(
            batches=value("encoder_batch_requests_count"),
            requests=value("encoder_batch_requests_sum"),
            passes=value("encoder_forward_texts_count"),
            texts=value("encoder_forward_texts_sum"),
            refused=value("overload_rejections_total", {"queue": "encoder"}),
        )

    def exposition(self) -> tuple[bytes, str]:
        """The current samples in the Prometheus text format, and its content type.

        In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set) the samples of every worker.
        """
        if self._multiprocess:
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self._registry), CONTENT_TYPE_LATEST
