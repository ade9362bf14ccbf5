"""SQL of the attribution read side; every query is scoped to the caller's workspace."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, distinct, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from metricx.models import Attribution, Entity, MetricFact, PixelEvent, ShopifyOrder, Workspace
from metricx.tenancy import AuthContext, scoped

UNATTRIBUTED = "unattributed"


async def workspace_settings(session: AsyncSession, ctx: AuthContext) -> Workspace:
    """The caller's workspace row (its attribution settings)."""
    return (
        await session.execute(select(Workspace).where(Workspace.id == ctx.workspace_id))
    ).scalar_one()


def _attributions(ctx: AuthContext, model: str, window: int, lo: datetime, hi: datetime) -> Any:
    return (
        Attribution.model == model,
        Attribution.window_days == window,
        Attribution.order_created_at >= lo,
        Attribution.order_created_at < hi,
    )


async def order_totals(
    session: AsyncSession, ctx: AuthContext, lo: datetime, hi: datetime
) -> tuple[int, int]:
    """(orders, net revenue micros) of this workspace in [lo, hi), test orders excluded."""
    stmt = scoped(
        select(
            func.count(ShopifyOrder.id),
            func.coalesce(func.sum(ShopifyOrder.total_micros - ShopifyOrder.refunded_micros), 0),
        ),
        ShopifyOrder,
        ctx,
    ).where(
        ShopifyOrder.created_at_shop >= lo,
        ShopifyOrder.created_at_shop < hi,
        ShopifyOrder.is_test.is_(False),
    )
    count, revenue = (await session.execute(stmt)).one()
    return int(count), int(revenue)


async def by_column(
    session: AsyncSession,
    ctx: AuthContext,
    column: Any,
    model: str,
    window: int,
    lo: datetime,
    hi: datetime,
) -> list[tuple[str, int, float, int]]:
    """(key, revenue micros, credited orders, distinct orders) grouped by `column`."""
    stmt = (
        scoped(
            select(
                column,
                func.coalesce(func.sum(Attribution.revenue_micros), 0),
                func.coalesce(func.sum(Attribution.credit), 0.0),
                func.count(distinct(Attribution.order_id)),
            ),
            Attribution,
            ctx,
        )
        .where(*_attributions(ctx, model, window, lo, hi))
        .group_by(column)
    )
    return [(k, int(r), float(c), int(n)) for k, r, c, n in (await session.execute(stmt)).all()]


async def attributed_orders(
    session: AsyncSession, ctx: AuthContext, model: str, window: int, lo: datetime, hi: datetime
) -> int:
    """Orders with credit on any channel other than unattributed."""
    stmt = scoped(select(func.count(distinct(Attribution.order_id))), Attribution, ctx).where(
        *_attributions(ctx, model, window, lo, hi), Attribution.channel != UNATTRIBUTED
    )
    return int(await session.scalar(stmt) or 0)


async def has_orders(session: AsyncSession, ctx: AuthContext) -> bool:
    """Whether the workspace has any order at all."""
    stmt = scoped(select(ShopifyOrder.id), ShopifyOrder, ctx).limit(1)
    return (await session.scalar(stmt)) is not None


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
    session: AsyncSession, ctx: AuthContext, model: str, window: int, lo: datetime, hi: datetime
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
        ).join(e, e.id == Attribution.entity_id)
    ).where(*_attributions(ctx, model, window, lo, hi))
    stmt = stmt.group_by(campaign)
    rows = (await session.execute(stmt)).all()
    return {cid: (int(r or 0), float(c or 0)) for cid, r, c in rows if cid is not None}


async def platform_by_campaign(
    session: AsyncSession, ctx: AuthContext, start: date, end: date
) -> dict[int, tuple[int, int]]:
    """campaign id -> (spend micros, platform-reported revenue micros) from metric_facts."""
    e = aliased(Entity)
    campaign, join = _campaign_rollup(e)
    stmt = join(
        scoped(
            select(
                campaign.label("campaign_id"),
                func.sum(MetricFact.spend_micros),
                func.sum(MetricFact.revenue_micros),
            ).select_from(MetricFact),
            MetricFact,
            ctx,
        ).join(e, e.id == MetricFact.entity_id)
    ).where(MetricFact.event_date >= start, MetricFact.event_date <= end)
    rows = (await session.execute(stmt.group_by(campaign))).all()
    return {cid: (int(s or 0), int(r or 0)) for cid, s, r in rows if cid is not None}


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
