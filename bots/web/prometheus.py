"""Prometheus metrics of the web app: one registry per app, so tests and apps never share counters."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.types import Answer

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Requests by route and status, request latency, answer stage latency, abstentions."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "eumex_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "eumex_http_request_seconds", "HTTP request latency (to the end of the body)", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.stages = Histogram(
            "eumex_answer_stage_seconds", "Time per answering stage (retrieve, extract, generate, total)",
            ["stage"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.answers = Counter("eumex_answers", "Answers given, by mode", ["mode"], registry=self.registry)
        self.abstentions = Counter(
            "eumex_abstentions", "Answers that abstained (not in the sources)", registry=self.registry
        )

    def observe_answer(self, answer: Answer) -> None:
        """Record the stage timings and the outcome of one answer."""
        for stage, ms in answer.timings_ms.items():
            self.stages.labels(stage).observe(ms / 1000)
        self.answers.labels(answer.mode).inc()
        if answer.abstained:
            self.abstentions.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Count every request by its route template (not its raw path, which would explode the labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            label = getattr(route, "path", None) or ("/static" if scope["path"].startswith("/static/") else "other")
            self.metrics.requests.labels(scope["method"], label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - start)
