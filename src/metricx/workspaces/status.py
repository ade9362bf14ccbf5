"""Workspace status: what is connected, when it last synced, and how fresh the data is."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import Connection, DailyRollup, PixelEvent, ShopifyOrder, SyncRun
from metricx.tenancy import AuthContext, scoped


class LastRun(BaseModel):
    """The latest sync run of a connection."""

    id: int
    kind: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    rows_written: int
    error: str | None
    counters: dict[str, Any] = Field(default_factory=dict)


class ConnectionStatus(BaseModel):
    """One connection's sync state."""

    id: int
    provider: str
    name: str
    status: str
    last_sync_started_at: datetime | None
    last_sync_finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    next_sync_at: datetime | None
    last_run: LastRun | None


class Freshness(BaseModel):
    """How current the workspace's data is."""

    last_success_at: datetime | None
    latest_event_date: date | None


class WorkspaceStatus(BaseModel):
    """What the dashboard and onboarding show about a workspace's setup."""

    connected_platforms: list[str]
    has_shopify: bool
    attribution_ready: bool
    connections: list[ConnectionStatus]
    freshness: Freshness


async def workspace_status(session: AsyncSession, ctx: AuthContext) -> WorkspaceStatus:
    """Connections with their latest run, attribution readiness and freshness, in 4 queries."""
    # The correlated subquery uses (connection_id, created_at): one index probe per connection.
    latest_run_id = (
        select(SyncRun.id)
        .where(SyncRun.connection_id == Connection.id)
        .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
        .limit(1)
        .correlate(Connection)
        .scalar_subquery()
    )
    rows = await session.execute(
        scoped(
            select(Connection, SyncRun).outerjoin(SyncRun, SyncRun.id == latest_run_id),
            Connection,
            ctx,
        ).order_by(Connection.provider, Connection.id)
    )
    connections = [_connection_status(conn, run) for conn, run in rows]
    has_pixel = exists(scoped(select(PixelEvent.id), PixelEvent, ctx))
    has_tagged_order = exists(
        scoped(
            select(ShopifyOrder.id).where(
                or_(
                    ShopifyOrder.utm_source.is_not(None),
                    ShopifyOrder.fbclid.is_not(None),
                    ShopifyOrder.gclid.is_not(None),
                    ShopifyOrder.ttclid.is_not(None),
                    ShopifyOrder.checkout_token.is_not(None),
                    ShopifyOrder.visitor_id.is_not(None),
                )
            ),
            ShopifyOrder,
            ctx,
        )
    )
    attribution_ready = bool(await session.scalar(select(or_(has_pixel, has_tagged_order))))
    latest_day = await session.scalar(
        scoped(select(func.max(DailyRollup.event_date)), DailyRollup, ctx)
    )
    successes = [c.last_success_at for c in connections if c.last_success_at is not None]
    return WorkspaceStatus(
        connected_platforms=sorted({c.provider for c in connections}),
        has_shopify=any(c.provider == "shopify" for c in connections),
        attribution_ready=attribution_ready,
        connections=connections,
        freshness=Freshness(
            last_success_at=max(successes) if successes else None, latest_event_date=latest_day
        ),
    )


def _connection_status(conn: Connection, run: SyncRun | None) -> ConnectionStatus:
    last_run = None
    if run is not None:
        last_run = LastRun(
            id=run.id,
            kind=run.kind,
            status=run.status,
            started_at=run.started_at,
            finished_at=run.finished_at,
            rows_written=run.rows_written or 0,
            error=run.error,
            counters=dict(run.counters or {}),
        )
    return ConnectionStatus(
        id=conn.id,
        provider=conn.provider,
        name=conn.name,
        status=conn.status,
        last_sync_started_at=conn.last_sync_started_at,
        last_sync_finished_at=conn.last_sync_finished_at,
        last_success_at=conn.last_success_at,
        last_error=conn.last_error,
        next_sync_at=conn.next_sync_at,
        last_run=last_run,
    )
