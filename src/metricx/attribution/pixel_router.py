"""Public pixel endpoints: the script and event ingest (no user session, a public key).

CORS: the pixel posts `text/plain` with the key in the body, a "simple" request that
needs no preflight. Senders that use `X-Metricx-Key` trigger a preflight, which carries
no key; the preflight is answered for any origin (with `?key=` it is checked against
that workspace's origins) and the POST itself enforces `pixel_allowed_origins` (403,
nothing stored). An empty origin list accepts every origin.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request, Response

from metricx.attribution import pixel_service
from metricx.attribution.pixel_service import PixelKeyCache
from metricx.attribution.ratelimit import RateLimiter
from metricx.config import Settings
from metricx.db import Database
from metricx.deps import SessionDep
from metricx.errors import Forbidden, NotAuthenticated, RateLimited
from metricx.responses import JSONResponse

router = APIRouter(tags=["pixel"])

PIXEL_JS = Path(__file__).resolve().parent.parent / "web" / "static" / "pixel.js"
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, X-Metricx-Key",
    "Access-Control-Max-Age": "86400",
}


@lru_cache(maxsize=1)
def _pixel_source() -> bytes:
    return PIXEL_JS.read_bytes()


def _key_cache(request: Request) -> PixelKeyCache:
    state = request.app.state
    if getattr(state, "pixel_keys", None) is None:
        state.pixel_keys = PixelKeyCache()
    return state.pixel_keys  # type: ignore[no-any-return]


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    if getattr(state, "pixel_limiter", None) is None:
        settings = state.settings
        state.pixel_limiter = RateLimiter(settings.pixel_rate_limit_per_minute, settings.redis_url)
    return state.pixel_limiter  # type: ignore[no-any-return]


@router.get("/pixel.js", include_in_schema=False)
async def pixel_js() -> Response:
    """The pixel script; cached for a day by browsers and a week by CDNs."""
    return Response(
        _pixel_source(),
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=86400, s-maxage=604800",
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
        },
    )


@router.options("/api/pixel/events", include_in_schema=False)
async def pixel_preflight(request: Request, session: SessionDep) -> Response:
    """Answer the CORS preflight of senders that set X-Metricx-Key."""
    origin = request.headers.get("origin")
    key = request.query_params.get("key")
    if key and origin:
        site = await _key_cache(request).resolve(session, key)
        if site is None or not site.origin_allowed(origin):
            return Response(status_code=403)
    headers = dict(CORS_HEADERS)
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    return Response(status_code=204, headers=headers)


@router.post("/api/pixel/events")
async def ingest_events(request: Request) -> Response:
    """Store a pixel event or a batch {"events": [...]}, deduplicated by event_id.

    The batch is one INSERT on an autocommit connection: the statement is atomic and
    durable when it returns (so a 2xx still means stored) without the BEGIN/COMMIT round
    trips of a request session, which matter at thousands of events per second.
    """
    # app.state directly: FastAPI runs sync dependencies in a thread, a hop per request
    # that costs more than the rest of this handler at pixel volumes.
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    payload = pixel_service.decode_body(await request.body())
    key = pixel_service.presented_key(payload, request.headers.get("x-metricx-key"))
    async with db.engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        site = await _key_cache(request).resolve(conn, key)
        if site is None:
            raise NotAuthenticated("Unknown pixel key.")
        origin = request.headers.get("origin")
        if not site.origin_allowed(origin):
            raise Forbidden("This origin may not send events for this pixel key.")
        wait = await _limiter(request).retry_after(key)
        if wait:
            raise RateLimited("Too many pixel requests for this key.", retry_after=wait)
        events = pixel_service.events_of(payload, settings.pixel_max_batch)
        rows = pixel_service.build_rows(events, site.workspace_id)
        stored = await pixel_service.store_events(conn, rows)
    headers = {"Vary": "Origin"}
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    return JSONResponse({"received": len(events), "stored": stored}, headers=headers)
