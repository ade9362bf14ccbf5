"""Questions: answer through the cache, log every ask.

The cache key holds the workspace, its data_version and timezone, the normalised question,
the default timeframe and the workspace-local date (which fixes every relative period), so a
sync (new data_version) or a new day never serves a stale answer. TTL 30 minutes; the cache
computes a key once however many requests miss it together.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.cache import Cache
from metricx.insights import repository
from metricx.insights.flow import Execute, QuestionAnswer, answer_question
from metricx.insights.llm import LlmProvider
from metricx.insights.results import results_to_json
from metricx.insights.schemas import QuestionIn
from metricx.tenancy import AuthContext

CACHE_VERSION = "v1"
CACHE_TTL_SECONDS = 1_800

ExecutorFactory = Callable[[AsyncSession, AuthContext], Execute]


def workspace_today(ctx: AuthContext) -> date:
    return datetime.now(ZoneInfo(ctx.timezone)).date()


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
) -> dict[str, Any]:
    """The answer payload, from cache when possible; the ask is logged either way."""
    started = time.perf_counter()
    today = workspace_today(ctx)

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
