"""SQL of the attribution read side; every query is scoped to the caller's workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from metricx.metrics.queries import _valid_orders as valid_order_conditions
from metricx.models import (
    Attribution,
    DailyOrderRollup,
    Entity,
    PixelEvent,
    ShopifyOrder,
    Workspace,
)
from metricx.tenancy import AuthContext, scoped

UNATTRIBUTED = "unattributed"


async def workspace_settings(session: AsyncSession, ctx: AuthContext) -> Workspace:
    """The caller's workspace row (its attribution settings)."""
    return (
        await session.execute(select(Workspace).where(Workspace.id == ctx.workspace_id))
    ).scalar_one()


# Offsets run from UTC-12 to UTC+14, so a local calendar day lies within the UTC day before
# it, itself and the day after: a cheap, index-friendly bracket around the exact filter.
SLACK = timedelta(days=1)


def _order_created_bracket(start: date, end: date) -> tuple[datetime, datetime]:
    lo = datetime.combine(start, time.min, UTC) - SLACK
    hi = datetime.combine(end + timedelta(days=1), time.min, UTC) + SLACK
    return lo, hi


def valid_orders() -> list[Any]:
    """The metrics registry's orders: not cancelled, not test, not voided."""
    return valid_order_conditions()


def _credited_in_period(
    ctx: AuthContext, model: str, window: int, start: date, end: date
) -> tuple[Any, ...]:
    """Attribution rows of (model, window) whose order counts as an order of [start, end].

    The order side is the metrics registry's definition (the dashboard's orders KPI): the
    shop's local order date in the period, cancelled, test and voided orders excluded.
    Callers join ShopifyOrder on Attribution.order_id.
    """
    lo, hi = _order_created_bracket(start, end)
    return (
        Attribution.model == model,
        Attribution.window_days == window,
        Attribution.order_created_at >= lo,
        Attribution.order_created_at < hi,
        ShopifyOrder.workspace_id == ctx.workspace_id,
        ShopifyOrder.order_date >= start,
        ShopifyOrder.order_date <= end,
        *valid_orders(),
    )


@dataclass(frozen=True, slots=True)
class OrderTotals:
    """Orders and net revenue of a period, and whether the workspace has any order at all."""

    orders: int
    revenue_micros: int
    any_orders: bool


async def order_totals(
    session: AsyncSession, ctx: AuthContext, start: date, end: date
) -> OrderTotals:
    """Orders of [start, end] as the metrics registry counts them, in one statement.

    Both read the daily order rollups, which hold the counted orders of each day and
    a row for every day with any stored order.
    """
    ever = aliased(DailyOrderRollup)
    any_order = scoped(select(ever.order_date), ever, ctx).limit(1).exists()
    r = DailyOrderRollup
    stmt = scoped(
        select(
            func.coalesce(func.sum(r.orders), 0),
            func.coalesce(func.sum(r.revenue_micros), 0),
            any_order,
        ),
        r,
        ctx,
    ).where(r.order_date >= start, r.order_date <= end)
    count, revenue, anything = (await session.execute(stmt)).one()
    return OrderTotals(int(count), int(revenue), bool(anything))


async def credit_breakdown(
    session: AsyncSession, ctx: AuthContext, model: str, window: int, start: date, end: date
) -> list[tuple[str, str, int, float]]:
    """(channel, confidence, revenue micros, credited orders) per pair, in one statement."""
    stmt = (
        scoped(
            select(
                Attribution.channel,
                Attribution.confidence,
                func.coalesce(func.sum(Attribution.revenue_micros), 0),
                func.coalesce(func.sum(Attribution.credit), 0.0),
            ),
            Attribution,
            ctx,
        )
        .join(ShopifyOrder, ShopifyOrder.id == Attribution.order_id)
        .where(*_credited_in_period(ctx, model, window, start, end))
        .group_by(Attribution.channel, Attribution.confidence)
    )
    rows = (await session.execute(stmt)).all()
    return [(ch, conf, int(r), float(c)) for ch, conf, r, c in rows]


async def feed(
    session: AsyncSession, ctx: AuthContext, model: str, window: int, limit: int
) -> list[Any]:
    """Credit rows of the latest `limit` attributed orders, newest first (one statement)."""
    latest = (
        scoped(select(Attribution.order_id, Attribution.order_created_at), Attribution, ctx)
        .where(
            Attribution.model == model,
            Attribution.window_days == window,
            Attribution.channel != UNATTRIBUTED,
        )
        .distinct()
        .order_by(Attribution.order_created_at.desc(), Attribution.order_id.desc())
        .limit(limit)
        .subquery()
    )
    stmt = (
        scoped(
            select(
                Attribution.order_id,
                Attribution.order_created_at,
                Attribution.channel,
                Attribution.confidence,
                Attribution.match_type,
                Attribution.credit,
                Attribution.revenue_micros,
                ShopifyOrder.order_number,
                ShopifyOrder.total_micros,
                ShopifyOrder.refunded_micros,
                ShopifyOrder.currency,
                Entity.id.label("entity_id"),
                Entity.name.label("entity_name"),
                Entity.level.label("entity_level"),
            )
            .join(latest, latest.c.order_id == Attribution.order_id)
            .join(ShopifyOrder, ShopifyOrder.id == Attribution.order_id)
            .outerjoin(Entity, Entity.id == Attribution.entity_id),
            Attribution,
            ctx,
        )
        .where(Attribution.model == model, Attribution.window_days == window)
        .order_by(
            Attribution.order_created_at.desc(), Attribution.order_id.desc(), Attribution.position
        )
    )
    return list((await session.execute(stmt)).all())


def _campaign_rollup(base: Any) -> tuple[Any, Any]:
    """(campaign id expression, join helper) rolling an entity up to its campaign."""
    p1, p2, p3 = aliased(Entity), aliased(Entity), aliased(Entity)
    campaign = case(
        (base.level == "campaign", base.id),
        (p1.level == "campaign", p1.id),
        (p2.level == "campaign", p2.id),
        (p3.level == "campaign", p3.id),
        else_=None,
    )

    def join(stmt: Select[Any]) -> Select[Any]:
        return (
            stmt.outerjoin(p1, p1.id == base.parent_id)
            .outerjoin(p2, p2.id == p1.parent_id)
            .outerjoin(p3, p3.id == p2.parent_id)
        )

    return campaign, join


async def attributed_by_campaign(
    session: AsyncSession, ctx: AuthContext, model: str, window: int, start: date, end: date
) -> dict[int, tuple[int, float]]:
    """campaign id -> (attributed revenue micros, credited orders)."""
    e = aliased(Entity)
    campaign, join = _campaign_rollup(e)
    stmt = join(
        scoped(
            select(
                campaign.label("campaign_id"),
                func.sum(Attribution.revenue_micros),
                func.sum(Attribution.credit),
            ).select_from(Attribution),
            Attribution,
            ctx,
        )
        .join(e, e.id == Attribution.entity_id)
        .join(ShopifyOrder, ShopifyOrder.id == Attribution.order_id)
    ).where(*_credited_in_period(ctx, model, window, start, end))
    stmt = stmt.group_by(campaign)
    rows = (await session.execute(stmt)).all()
    return {cid: (int(r or 0), float(c or 0)) for cid, r, c in rows if cid is not None}


async def campaigns(session: AsyncSession, ctx: AuthContext, ids: set[int]) -> dict[int, Any]:
    """id -> (name, provider, status) for campaigns of this workspace."""
    if not ids:
        return {}
    stmt = scoped(
        select(Entity.id, Entity.name, Entity.provider, Entity.status), Entity, ctx
    ).where(Entity.id.in_(sorted(ids)))
    return {row[0]: row for row in (await session.execute(stmt)).all()}


async def campaigns_with_utms(session: AsyncSession, ctx: AuthContext) -> set[int]:
    """Campaigns whose own or descendants' tracking parameters carry utm_ parameters."""
    e = aliased(Entity)
    campaign, join = _campaign_rollup(e)
    stmt = join(
        scoped(select(campaign.label("campaign_id")).select_from(e), e, ctx).where(
            e.tracking_params.like("%utm_%")
        )
    ).distinct()
    return {cid for (cid,) in (await session.execute(stmt)).all() if cid is not None}


async def pixel_health(
    session: AsyncSession, ctx: AuthContext, since_day: datetime, since_week: datetime
) -> tuple[int, int, datetime | None, int]:
    """(events 24 h, events 7 d, last received, events 7 d with utm or click id)."""
    tagged = case(
        (
            (PixelEvent.utm_source.is_not(None))
            | (PixelEvent.utm_campaign.is_not(None))
            | (PixelEvent.fbclid.is_not(None))
            | (PixelEvent.gclid.is_not(None))
            | (PixelEvent.ttclid.is_not(None)),
            literal(1),
        ),
        else_=literal(0),
    )
    recent = case((PixelEvent.received_at >= since_day, literal(1)), else_=literal(0))
    stmt = scoped(
        select(
            func.coalesce(func.sum(recent), 0),
            func.count(PixelEvent.id),
            func.max(PixelEvent.received_at),
            func.coalesce(func.sum(tagged), 0),
        ),
        PixelEvent,
        ctx,
    ).where(PixelEvent.received_at >= since_week)
    day, week, last, with_ids = (await session.execute(stmt)).one()
    return int(day), int(week), last, int(with_ids)


async def last_event_at(session: AsyncSession, ctx: AuthContext) -> Any:
    """The newest received_at of the workspace's pixel events, ever."""
    stmt = scoped(select(func.max(PixelEvent.received_at)), PixelEvent, ctx)
    return await session.scalar(stmt)
