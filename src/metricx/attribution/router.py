"""Workspace-scoped attribution endpoints; each parses, authorizes and delegates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from metricx.attribution import reads, service
from metricx.attribution.schemas import AttributionSettingsIn
from metricx.auth.deps import WorkspaceCtx
from metricx.deps import SessionDep
from metricx.metrics.deps import ClockDep
from metricx.metrics.timeframes import resolve

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["attribution"])

Timeframe = Annotated[str | None, Query(max_length=32)]
Model = Annotated[str | None, Query(max_length=32)]
Window = Annotated[int | None, Query(ge=1, le=90)]


async def _period(
    ctx: WorkspaceCtx,
    clock: ClockDep,
    timeframe: Timeframe = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[date, date]:
    """The shared resolver's period in the workspace timezone (one meaning everywhere)."""
    tf = resolve(timeframe, start, end, tz=ctx.timezone, clock=clock)
    return tf.start, tf.end


Period = Annotated[tuple[date, date], Depends(_period)]


@router.get("/attribution/summary")
async def attribution_summary(
    ctx: WorkspaceCtx,
    session: SessionDep,
    period: Period,
    model: Model = None,
    window: Window = None,
) -> dict[str, Any]:
    """Attributed revenue and orders by channel and confidence; attribution rate."""
    first, last = period
    return await reads.summary(session, ctx, first, last, model, window)


@router.get("/attribution/feed")
async def attribution_feed(
    ctx: WorkspaceCtx,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    model: Model = None,
    window: Window = None,
) -> dict[str, Any]:
    """The latest attributed orders, newest first."""
    return await reads.feed(session, ctx, limit, model, window)


@router.get("/attribution/campaigns")
async def attribution_campaigns(
    ctx: WorkspaceCtx,
    session: SessionDep,
    period: Period,
    model: Model = None,
    window: Window = None,
) -> dict[str, Any]:
    """Verified ROAS beside platform ROAS per campaign."""
    first, last = period
    return await reads.campaigns(session, ctx, first, last, model, window)


@router.get("/attribution/warnings")
async def attribution_warnings(
    ctx: WorkspaceCtx,
    session: SessionDep,
    period: Period,
) -> dict[str, Any]:
    """Spending campaigns with no UTMs or no attributed orders."""
    first, last = period
    return await reads.warnings(session, ctx, first, last)


@router.get("/pixel/health")
async def pixel_health(ctx: WorkspaceCtx, session: SessionDep) -> dict[str, Any]:
    """Whether the pixel is sending, and how much of its traffic is tagged."""
    return await reads.pixel_health(session, ctx)


@router.patch("/attribution/settings")
async def update_attribution_settings(
    body: AttributionSettingsIn, ctx: WorkspaceCtx, session: SessionDep
) -> dict[str, Any]:
    """Change model, window or half-life (admin+); attributions are recomputed."""
    ctx.require("admin")
    return await service.update_settings(
        session,
        ctx,
        model=body.model,
        window_days=body.window_days,
        half_life_days=body.time_decay_half_life_days,
    )
