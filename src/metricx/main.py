"""The application factory: lifespan resources, middleware, error handlers, routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from metricx.cache import create_cache
from metricx.config import Settings, get_settings
from metricx.db import Database, database_unavailable
from metricx.errors import MetricxError, RateLimited
from metricx.http import create_http_client
from metricx.logging import configure_logging
from metricx.observability import BodyLimitMiddleware, RequestContextMiddleware
from metricx.responses import JSONResponse

log = structlog.get_logger("metricx.app")


class ErrorOut(BaseModel):
    """The one error shape of the API."""

    error: str
    detail: str
    fields: list[str]


# Declared on every operation so the OpenAPI document describes the real error bodies
# (FastAPI's own 422 schema would be wrong: errors.py renders one shape for everything).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "default": {"model": ErrorOut, "description": "An error: {error, detail, fields}."}
}


def _error(status: int, code: str, detail: str, fields: list[str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": code, "detail": detail, "fields": fields or []}, status_code=status
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as {"error", "detail", "fields"}."""

    @app.exception_handler(MetricxError)
    async def _metricx(_: Request, exc: MetricxError) -> JSONResponse:
        response = JSONResponse(exc.to_dict(), status_code=exc.status_code)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        fields = sorted({_field_name(e.get("loc", ())) for e in errors})
        first = errors[0] if errors else {}
        detail = f"{_field_name(first.get('loc', ()))}: {first.get('msg', 'invalid value')}"
        return _error(422, "validation_error", detail, fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
        response = _error(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)
        )
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    def _failure(exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("db.unavailable", error=type(exc).__name__, detail=str(exc)[:200])
            response = _error(503, "service_unavailable", "The database is unavailable; retry.")
            response.headers["Retry-After"] = "2"
            return response
        log.exception("http.unhandled", error=type(exc).__name__)
        return _error(500, "internal_error", "Something went wrong on our side.")

    # Database and network failures get handlers of their own: Starlette hands exceptions
    # that reach the catch-all `Exception` handler back to the server after the response,
    # and uvicorn then closes the connection, so keep-alive clients saw resets instead of
    # the 503 while PostgreSQL was restarting.
    async def _infrastructure(_: Request, exc: Exception) -> JSONResponse:
        return _failure(exc)

    for kind in _infrastructure_errors():
        app.add_exception_handler(kind, _infrastructure)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _failure(exc)


def _infrastructure_errors() -> list[type[Exception]]:
    from sqlalchemy.exc import SQLAlchemyError

    kinds: list[type[Exception]] = [SQLAlchemyError, OSError]
    try:
        from asyncpg import PostgresError
    except ImportError:  # pragma: no cover - SQLite-only install
        return kinds
    return [*kinds, PostgresError]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app; resources are created in the lifespan."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if settings.sentry_dsn:
        _init_sentry(settings.sentry_dsn, settings.env)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        app.state.cache = create_cache(settings)
        app.state.http = create_http_client(settings)
        for hook in app.state.startup_hooks:
            await hook(app)
        # Everything built so far (modules, models, routes, compiled statements) lives as
        # long as the process: move it out of the collector's way. Without this each
        # full collection walked ~300,000 objects, a 130-260 ms stall of every request in
        # flight, which was the p99 of the bench's cold and idle runs.
        gc.collect()
        gc.freeze()
        log.info(
            "app.started",
            database=app.state.db.dialect,
            cache=app.state.cache.backend and app.state.cache.backend.name,
        )
        try:
            yield
        finally:
            for hook in reversed(app.state.shutdown_hooks):
                await hook(app)
            await app.state.http.aclose()
            await app.state.cache.close()
            await app.state.db.dispose()

    app = FastAPI(
        title="metricx",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        default_response_class=JSONResponse,
        responses=ERROR_RESPONSES,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    install_error_handlers(app)
    # Innermost, so request ids, timing, metrics and security headers wrap it too.
    from metricx.dashboard.fastpath import CachedDashboardMiddleware

    app.add_middleware(CachedDashboardMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        overrides={"/api/pixel/": settings.pixel_max_body_bytes},
    )
    app.add_middleware(RequestContextMiddleware)
    _include_routers(app)
    return app


def _init_sentry(dsn: str, environment: str) -> None:
    try:
        import sentry_sdk
    except ImportError:
        log.warning("sentry.unavailable", hint="pip install 'metricx[sentry]'")
        return
    sentry_sdk.init(
        dsn=dsn, environment=environment, traces_sample_rate=0.0, send_default_pii=False
    )


def _include_routers(app: FastAPI) -> None:
    from metricx import observability, web
    from metricx.attribution import api as attribution_api
    from metricx.auth import principals
    from metricx.auth import router as auth_router
    from metricx.connections import oauth_router
    from metricx.connections import router as connections_router
    from metricx.dashboard import router as dashboard_router
    from metricx.insights import endpoints as insights_endpoints
    from metricx.jobs import lifecycle as jobs_lifecycle
    from metricx.workspaces import router as workspaces_router

    principals.install(app)
    app.include_router(observability.router)
    app.include_router(auth_router.router)
    app.include_router(workspaces_router.router)
    app.include_router(workspaces_router.invites_router)
    app.include_router(dashboard_router.router)
    app.include_router(insights_endpoints.router)
    _wire_insights(app)
    attribution_api.install(app)
    app.include_router(connections_router.router)
    app.include_router(oauth_router.router)
    app.include_router(oauth_router.callback_router)
    jobs_lifecycle.install(app)
    # Pages last: their catch-all 404 page must not shadow the API.
    web.install(app)


def _wire_insights(app: FastAPI) -> None:
    """Questions run on the metrics engine; background insight refreshes use the app cache."""
    from metricx.insights import executor, service

    executor.install(app)

    async def share_cache(app: FastAPI) -> None:
        service.use_cache(app.state.cache)

    async def forget_cache(app: FastAPI) -> None:
        service.use_cache(None)

    app.state.startup_hooks.append(share_cache)
    app.state.shutdown_hooks.append(forget_cache)
