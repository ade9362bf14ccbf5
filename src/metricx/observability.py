"""Health and readiness probes, request ids, timing and body limits (pure ASGI)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metricx.db import QueryStats, query_stats
from metricx.responses import JSONResponse

log = structlog.get_logger("metricx.http")

router = APIRouter(tags=["health"])

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REQUEST_LATENCY = Histogram(
    "metricx_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERIES = Histogram(
    "metricx_db_queries_per_request",
    "Database statements executed per request.",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 50, 100),
)
DB_SECONDS = Histogram(
    "metricx_db_seconds_per_request",
    "Time spent in the database per request.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
CACHE_EVENTS = Counter("metricx_cache_events_total", "Cache lookups by result.", ["result"])
JOB_DURATION = Histogram(
    "metricx_job_duration_seconds",
    "Background job duration.",
    ["job", "status"],
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)


def _registry() -> CollectorRegistry:
    """The default registry, or a multiprocess collector when several workers share a dir."""
    import os

    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # set by the operator for --workers N
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus exposition of latency, database, cache and job metrics."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database (and Redis when configured) answer."""
    checks: dict[str, Any] = {}
    ok = True
    try:
        async with asyncio.timeout(3):
            async with request.app.state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        ok = False
        checks["database"] = f"error: {type(exc).__name__}"
    backend = request.app.state.cache.backend
    if request.app.state.settings.redis_url:
        try:
            async with asyncio.timeout(2):
                await backend.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            ok = False
            checks["redis"] = f"error: {type(exc).__name__}"
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)


class RequestContextMiddleware:
    """Request id, structured access log, db counters and a Server-Timing header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or uuid.uuid4().hex[:16]
        structlog.contextvars.bind_contextvars(request_id=request_id)
        stats = QueryStats()
        token = query_stats.set(stats)
        started = time.perf_counter()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                total_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                timing = (
                    f'db;dur={stats.seconds * 1000:.2f};desc="{stats.count} queries", '
                    f"total;dur={total_ms:.2f}"
                )
                cache_ms = scope["state"].get("cache_ms")
                if cache_ms is not None:
                    timing += f", cache;dur={cache_ms:.2f}"
                headers.append((b"server-timing", timing.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUEST_LATENCY.labels(scope["method"], template, str(status)).observe(elapsed / 1000)
            DB_QUERIES.labels(template).observe(stats.count)
            DB_SECONDS.labels(template).observe(stats.seconds)
            if status >= 500:
                log.warning(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed, 2),
                )
            query_stats.reset(token)
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimitMiddleware:
    """Refuse bodies over the configured size with 413 before anything reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > limit:
                    await _too_large(send, limit)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {
            "error": "payload_too_large",
            "detail": f"The request body is larger than {limit} bytes.",
            "fields": ["body"],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
