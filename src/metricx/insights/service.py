"""Questions and dashboard insights: answered through the cache; every ask is logged.

The cache key holds the workspace, its data_version and timezone, the normalised question,
the default timeframe and the workspace-local date (which fixes every relative period), so a
sync (new data_version) or a new day never serves a stale answer. TTL 30 minutes; the cache
computes a key once however many requests miss it together.

Dashboard insights are cached under workspace, data_version, timezone, currency and the
resolved dates. `refresh_insights` (the background job after each sync) precomputes them for
the default timeframes so the panel usually reads a warm cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.cache import Cache, create_cache
from metricx.config import Settings, get_settings
from metricx.insights import panel, repository
from metricx.insights.flow import Execute, QuestionAnswer, answer_question
from metricx.insights.llm import LlmProvider
from metricx.insights.results import results_to_json
from metricx.insights.schemas import QuestionIn
from metricx.metrics.schemas import TimeframeSpec
from metricx.metrics.timeframes import Clock, local_today, resolve, system_clock
from metricx.models import Workspace
from metricx.responses import dumps
from metricx.tenancy import AuthContext

log = structlog.get_logger("metricx.insights")

CACHE_VERSION = "v1"
CACHE_TTL_SECONDS = 1_800

ExecutorFactory = Callable[[AsyncSession, AuthContext], Execute]


def workspace_today(ctx: AuthContext, clock: Clock = system_clock) -> date:
    return local_today(ctx.timezone, clock)


def normalise(question: str) -> str:
    return " ".join(question.lower().split()).rstrip("?!. ")


def cache_key(ctx: AuthContext, body: QuestionIn, today: date) -> str:
    timeframe = (
        body.timeframe.model_dump(mode="json", exclude_none=True) if body.timeframe else None
    )
    material = json.dumps([normalise(body.question), timeframe, today.isoformat()])
    digest = hashlib.sha256(material.encode()).hexdigest()[:32]
    return f"qa:{CACHE_VERSION}:{ctx.workspace_id}:{ctx.data_version}:{ctx.timezone}:{digest}"


def payload(qa: QuestionAnswer) -> dict[str, Any]:
    return {
        "answer": qa.answer,
        "query": qa.query.to_json() if qa.query else None,
        "results": results_to_json(qa.results) if qa.results else None,
        "visual": qa.visual,
        "provenance": qa.provenance,
        "engine": qa.engine,
        "_log": {"success": qa.success, "tokens_in": qa.tokens_in, "tokens_out": qa.tokens_out},
    }


async def ask(
    session: AsyncSession,
    cache: Cache,
    ctx: AuthContext,
    body: QuestionIn,
    execute: Execute,
    llm: LlmProvider | None,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """The answer payload, from cache when possible; the ask is logged either way."""
    started = time.perf_counter()
    today = workspace_today(ctx, clock)

    async def compute() -> bytes:
        qa = await answer_question(
            body.question,
            today=today,
            execute=execute,
            llm=llm,
            default_timeframe=body.timeframe,
        )
        return orjson.dumps(payload(qa))

    compute_fn: Callable[[], Awaitable[bytes]] = compute
    raw, cached = await cache.get_or_compute(
        cache_key(ctx, body, today), compute_fn, ttl=CACHE_TTL_SECONDS
    )
    result = orjson.loads(raw)
    logged = result.pop("_log")
    result["provenance"] = {**result["provenance"], "cached": cached}
    repository.add_log(
        session,
        ctx,
        question=body.question,
        query=result["query"],
        engine=result["engine"],
        answer=result["answer"],
        success=logged["success"],
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        tokens_in=0 if cached else logged["tokens_in"],
        tokens_out=0 if cached else logged["tokens_out"],
    )
    return result


# --- dashboard insights ----------------------------------------------------------------

INSIGHTS_CACHE_VERSION = "v1"
DEFAULT_TIMEFRAMES = ("last_7_days", "last_30_days", "this_month")
_shared: dict[str, Cache] = {}


def use_cache(cache: Cache | None) -> None:
    """Let background refreshes in this process write to the app's cache (None: forget)."""
    if cache is None:
        _shared.pop("cache", None)
    else:
        _shared["cache"] = cache


def insights_cache_key(ctx: AuthContext, start: date, end: date, key: str) -> str:
    material = "|".join((ctx.timezone, ctx.currency, key, start.isoformat(), end.isoformat()))
    digest = hashlib.sha256(material.encode()).hexdigest()[:24]
    return f"mx:insights:{INSIGHTS_CACHE_VERSION}:{ctx.workspace_id}:{ctx.data_version}:{digest}"


async def dashboard_insights(
    session: AsyncSession,
    cache: Cache,
    ctx: AuthContext,
    spec: TimeframeSpec,
    clock: Clock = system_clock,
) -> tuple[bytes, bool]:
    """The insights payload as JSON bytes, and whether it came from the cache."""
    tf = resolve(spec.key, spec.start, spec.end, tz=ctx.timezone, clock=clock)

    async def compute() -> bytes:
        return dumps((await panel.compute(session, ctx, spec, clock))[1])

    key = insights_cache_key(ctx, tf.start, tf.end, tf.key)
    return await cache.get_or_compute(key, compute, ttl=CACHE_TTL_SECONDS)


async def refresh_insights(
    session: AsyncSession,
    workspace_id: int,
    settings: Settings | None = None,
    *,
    cache: Cache | None = None,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """Precompute a workspace's dashboard insights for the default timeframes.

    Called by the `refresh_insights` job after each sync. Writes to the given cache, else to
    the app's cache when the job runs inside the API process, else to a cache built from
    settings (Redis, shared with the API processes).
    """
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        return {"status": "skipped", "reason": "workspace not found"}
    ctx = AuthContext(
        user_id=0,
        workspace_id=workspace.id,
        role="viewer",
        timezone=workspace.timezone,
        currency=workspace.currency,
        data_version=workspace.data_version,
    )
    own = None
    target = cache or _shared.get("cache")
    if target is None:
        target = own = create_cache(settings or get_settings())
    try:
        computed = []
        for key in DEFAULT_TIMEFRAMES:
            _, cached = await dashboard_insights(
                session, target, ctx, TimeframeSpec(key=key), clock
            )
            computed.append({"timeframe": key, "cached": cached})
    finally:
        if own is not None:
            await own.close()
    log.info("insights.refreshed", workspace_id=workspace_id, timeframes=computed)
    return {"status": "succeeded", "timeframes": computed}
