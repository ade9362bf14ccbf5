"""The one write path for synced data: entities, facts (with rollups) and orders.

Syncs, CSV imports, webhooks and the demo all write through here, so every write is an
idempotent upsert, rollups stay in step with facts in the same transaction, and the
workspace's data_version is bumped with the data it describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.metrics import summaries
from metricx.models import (
    DailyOrderRollup,
    DailyRollup,
    Entity,
    MetricFact,
    ShopifyOrder,
    ShopifyOrderLine,
    counted_order_conditions,
    utcnow,
)
from metricx.workspaces.repository import bump_data_version

LEVEL_ORDER = {"account": 0, "campaign": 1, "adset": 2, "ad": 3, "creative": 4}
FACT_MEASURES = (
    "spend_micros",
    "impressions",
    "clicks",
    "conversions",
    "revenue_micros",
    "leads",
    "purchases",
    "original_currency",
    "original_spend_micros",
    "original_revenue_micros",
)
ROLLUP_MEASURES = ("spend_micros", "impressions", "clicks", "conversions", "revenue_micros")


@dataclass(slots=True)
class EntityRow:
    """An entity as a connector reports it; the parent is named by (level, external_id)."""

    level: str
    external_id: str
    name: str
    status: str = "active"
    parent_level: str | None = None
    parent_external_id: str | None = None
    goal: str | None = None
    tracking_params: str | None = None
    thumbnail_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FactRow:
    """One entity-day of measures, money already in workspace-currency micros."""

    entity_id: int
    event_date: date
    spend_micros: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: float = 0.0
    revenue_micros: int = 0
    leads: float | None = None
    purchases: float | None = None
    original_currency: str | None = None
    original_spend_micros: int | None = None
    original_revenue_micros: int | None = None


@dataclass(slots=True)
class OrderLineRow:
    """A line item."""

    external_id: str
    title: str = ""
    quantity: int = 1
    price_micros: int = 0
    cogs_micros: int = 0
    product_id: str | None = None
    variant_id: str | None = None
    sku: str | None = None


@dataclass(slots=True)
class OrderRow:
    """An order, money in workspace-currency micros."""

    external_id: str
    created_at: datetime
    order_date: date
    updated_at: datetime
    currency: str
    total_micros: int
    subtotal_micros: int = 0
    tax_micros: int = 0
    shipping_micros: int = 0
    discounts_micros: int = 0
    refunded_micros: int = 0
    order_number: str = ""
    financial_status: str = "paid"
    cancelled_at: datetime | None = None
    is_test: bool = False
    customer_email_hash: str | None = None
    landing_site: str | None = None
    referring_site: str | None = None
    source_name: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_content: str | None = None
    utm_term: str | None = None
    fbclid: str | None = None
    gclid: str | None = None
    ttclid: str | None = None
    checkout_token: str | None = None
    visitor_id: str | None = None
    note_attributes: dict[str, Any] = field(default_factory=dict)
    original_currency: str | None = None
    original_total_micros: int | None = None
    lines: list[OrderLineRow] = field(default_factory=list)


def _insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which has on_conflict_do_update."""
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _insert_many(session: AsyncSession, model: Any) -> Any:
    """An INSERT on the model's table for executemany with a list of parameter dicts.

    Compiled once and batched by SQLAlchemy ("insertmanyvalues"), which is many times
    cheaper than compiling a fresh multi-row VALUES statement for every chunk.
    """
    return _insert(session, model.__table__)


def _chunks(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def upsert_entities(
    session: AsyncSession,
    *,
    workspace_id: int,
    connection_id: int,
    provider: str,
    rows: Sequence[EntityRow],
) -> dict[tuple[str, str], int]:
    """Upsert an entity tree (parents first) and return {(level, external_id): id}."""
    ids: dict[tuple[str, str], int] = {}
    by_level: dict[str, list[EntityRow]] = {}
    for row in rows:
        by_level.setdefault(row.level, []).append(row)
    now = utcnow()
    moved = False
    for level in sorted(by_level, key=lambda lvl: LEVEL_ORDER.get(lvl, 9)):
        level_rows = by_level[level]
        parent_keys = {
            (r.parent_level, r.parent_external_id)
            for r in level_rows
            if r.parent_level and r.parent_external_id
        }
        missing = [k for k in parent_keys if k not in ids]
        if missing:
            ids.update(await _existing_ids(session, connection_id, missing))  # type: ignore[arg-type]
        for chunk in _chunks(level_rows, 500):
            values = []
            for r in chunk:
                parent_id = None
                if r.parent_level and r.parent_external_id:
                    parent_id = ids.get((r.parent_level, r.parent_external_id))
                values.append(
                    {
                        "workspace_id": workspace_id,
                        "connection_id": connection_id,
                        "provider": provider,
                        "level": r.level,
                        "parent_id": parent_id,
                        "external_id": r.external_id,
                        "name": r.name[:500],
                        "status": r.status,
                        "goal": r.goal,
                        "tracking_params": r.tracking_params,
                        "thumbnail_url": r.thumbnail_url,
                        "extra": r.extra,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            moved = moved or await _parents_change(session, connection_id, level, values)
            stmt = _insert_many(session, Entity)
            stmt = stmt.on_conflict_do_update(
                index_elements=["connection_id", "level", "external_id"],
                set_={
                    c: stmt.excluded[c]
                    for c in (
                        "parent_id",
                        "name",
                        "status",
                        "goal",
                        "tracking_params",
                        "thumbnail_url",
                        "extra",
                        "updated_at",
                    )
                },
            ).returning(stmt.table.c.id, stmt.table.c.level, stmt.table.c.external_id)
            for entity_id, lvl, ext in (await session.execute(stmt, values)).all():
                ids[(lvl, ext)] = entity_id
    if moved:
        # Roll-ups through the old tree are stale; the next fact write rebuilds them.
        await summaries.invalidate(session, workspace_id)
    return ids


async def _parents_change(
    session: AsyncSession, connection_id: int, level: str, values: list[dict[str, Any]]
) -> bool:
    """True when an existing entity of these upsert values is moving to another parent."""
    wanted = {v["external_id"]: v["parent_id"] for v in values}
    rows = await session.execute(
        select(Entity.external_id, Entity.parent_id).where(
            Entity.connection_id == connection_id,
            Entity.level == level,
            Entity.external_id.in_(list(wanted)),
        )
    )
    return any(wanted[ext] != parent for ext, parent in rows.all())


async def _existing_ids(
    session: AsyncSession, connection_id: int, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    levels = {lvl for lvl, _ in keys}
    externals = [ext for _, ext in keys]
    for chunk in _chunks(externals, 500):
        result = await session.execute(
            select(Entity.id, Entity.level, Entity.external_id).where(
                Entity.connection_id == connection_id,
                Entity.level.in_(levels),
                Entity.external_id.in_(chunk),
            )
        )
        for entity_id, lvl, ext in result.all():
            found[(lvl, ext)] = entity_id
    return found


async def upsert_facts(
    session: AsyncSession,
    *,
    workspace_id: int,
    connection_id: int,
    provider: str,
    rows: Sequence[FactRow],
    bump: bool = True,
) -> int:
    """Upsert facts, refresh the touched rollup days and bump data_version; returns rows."""
    if not rows:
        return 0
    now = utcnow()
    chunk_size = 2000 if session.bind.dialect.name == "postgresql" else 500
    for chunk in _chunks(rows, chunk_size):
        values = [
            {
                "entity_id": r.entity_id,
                "event_date": r.event_date,
                "workspace_id": workspace_id,
                "connection_id": connection_id,
                "provider": provider,
                "spend_micros": r.spend_micros,
                "impressions": r.impressions,
                "clicks": r.clicks,
                "conversions": r.conversions,
                "revenue_micros": r.revenue_micros,
                "leads": r.leads,
                "purchases": r.purchases,
                "original_currency": r.original_currency,
                "original_spend_micros": r.original_spend_micros,
                "original_revenue_micros": r.original_revenue_micros,
                "updated_at": now,
            }
            for r in chunk
        ]
        stmt = _insert_many(session, MetricFact)
        table = MetricFact.__table__
        stmt = stmt.on_conflict_do_update(
            index_elements=["entity_id", "event_date"],
            set_={c: stmt.excluded[c] for c in (*FACT_MEASURES, "updated_at")},
            # A re-read day whose numbers did not move is left alone (updated_at included),
            # so a restatement window rewrites only the rows the provider changed.
            where=or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in FACT_MEASURES)),
        )
        await session.execute(stmt, values)
    dates = {r.event_date for r in rows}
    await refresh_rollups(
        session, workspace_id=workspace_id, provider=provider, start=min(dates), end=max(dates)
    )
    if bump:
        await bump_data_version(session, workspace_id)
    return len(rows)


async def refresh_rollups(
    session: AsyncSession, *, workspace_id: int, provider: str, start: date, end: date
) -> None:
    """Recompute daily_rollups (and the entity summaries) of [start, end] from the facts."""
    await session.execute(
        delete(DailyRollup).where(
            DailyRollup.workspace_id == workspace_id,
            DailyRollup.provider == provider,
            DailyRollup.event_date.between(start, end),
        )
    )
    source = (
        select(
            MetricFact.workspace_id,
            MetricFact.event_date,
            MetricFact.provider,
            *(func.coalesce(func.sum(getattr(MetricFact, m)), 0) for m in ROLLUP_MEASURES),
            func.count(),
        )
        .where(
            and_(
                MetricFact.workspace_id == workspace_id,
                MetricFact.event_date.between(start, end),
                MetricFact.provider == provider,
            )
        )
        .group_by(MetricFact.workspace_id, MetricFact.event_date, MetricFact.provider)
    )
    await session.execute(
        insert(DailyRollup).from_select(
            ["workspace_id", "event_date", "provider", *ROLLUP_MEASURES, "fact_rows"], source
        )
    )
    await summaries.refresh(session, workspace_id, provider=provider, touched=(start, end))


async def upsert_orders(
    session: AsyncSession,
    *,
    workspace_id: int,
    connection_id: int,
    rows: Sequence[OrderRow],
    bump: bool = True,
) -> dict[str, int]:
    """Upsert orders and their lines; an older update never overwrites a newer one.

    Returns {external_id: order id} for the orders this call wrote (stale ones are skipped).
    """
    written: dict[str, int] = {}
    if not rows:
        return written
    now = utcnow()
    columns = [c.name for c in ShopifyOrder.__table__.columns if c.name not in ("id",)]
    updatable = [
        c
        for c in columns
        if c not in ("workspace_id", "connection_id", "external_id", "created_at")
    ]
    for chunk in _chunks(rows, 300):
        values = []
        for r in chunk:
            cogs = sum(line.cogs_micros for line in r.lines)
            values.append(
                {
                    "workspace_id": workspace_id,
                    "connection_id": connection_id,
                    "external_id": r.external_id,
                    "order_number": r.order_number,
                    "created_at_shop": r.created_at,
                    "order_date": r.order_date,
                    "source_updated_at": r.updated_at,
                    "currency": r.currency,
                    "total_micros": r.total_micros,
                    "subtotal_micros": r.subtotal_micros,
                    "tax_micros": r.tax_micros,
                    "shipping_micros": r.shipping_micros,
                    "discounts_micros": r.discounts_micros,
                    "refunded_micros": r.refunded_micros,
                    "cogs_micros": cogs,
                    "original_currency": r.original_currency,
                    "original_total_micros": r.original_total_micros,
                    "financial_status": r.financial_status,
                    "cancelled_at": r.cancelled_at,
                    "is_test": r.is_test,
                    "customer_email_hash": r.customer_email_hash,
                    "landing_site": r.landing_site,
                    "referring_site": r.referring_site,
                    "source_name": r.source_name,
                    "utm_source": r.utm_source,
                    "utm_medium": r.utm_medium,
                    "utm_campaign": r.utm_campaign,
                    "utm_content": r.utm_content,
                    "utm_term": r.utm_term,
                    "fbclid": r.fbclid,
                    "gclid": r.gclid,
                    "ttclid": r.ttclid,
                    "checkout_token": r.checkout_token,
                    "visitor_id": r.visitor_id,
                    "note_attributes": r.note_attributes,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        table = ShopifyOrder.__table__
        stmt = _insert_many(session, ShopifyOrder)
        stmt = stmt.on_conflict_do_update(
            index_elements=["connection_id", "external_id"],
            set_={c: stmt.excluded[c] for c in updatable},
            # Out-of-order deliveries: only a same-or-newer update may overwrite.
            where=table.c.source_updated_at <= stmt.excluded.source_updated_at,
        ).returning(table.c.id, table.c.external_id)
        for order_id, external_id in (await session.execute(stmt, values)).all():
            written[external_id] = order_id
    lines = []
    for r in rows:
        order_id = written.get(r.external_id)
        if order_id is None:
            continue
        for line in r.lines:
            lines.append(
                {
                    "order_id": order_id,
                    "workspace_id": workspace_id,
                    "external_id": line.external_id,
                    "product_id": line.product_id,
                    "variant_id": line.variant_id,
                    "sku": line.sku,
                    "title": line.title[:500],
                    "quantity": line.quantity,
                    "price_micros": line.price_micros,
                    "cogs_micros": line.cogs_micros,
                }
            )
    for chunk in _chunks(lines, 500):
        stmt = _insert_many(session, ShopifyOrderLine)
        stmt = stmt.on_conflict_do_update(
            index_elements=["order_id", "external_id"],
            set_={
                c: stmt.excluded[c]
                for c in (
                    "product_id",
                    "variant_id",
                    "sku",
                    "title",
                    "quantity",
                    "price_micros",
                    "cogs_micros",
                )
            },
        )
        await session.execute(stmt, list(chunk))
    days = [r.order_date for r in rows if r.external_id in written]
    if days:
        await refresh_order_rollups(session, workspace_id, min(days), max(days))
    if bump and written:
        await bump_data_version(session, workspace_id)
    return written


# Two-int advisory key space (namespace, workspace id); disjoint from the one-bigint keys.
ORDER_ROLLUP_LOCK_NAMESPACE = 0x6D72


async def refresh_order_rollups(
    session: AsyncSession, workspace_id: int, start: date | None = None, end: date | None = None
) -> None:
    """Recompute daily_order_rollups of one workspace for [start, end] (every day by default).

    On PostgreSQL a transaction-level advisory lock per workspace serialises the
    delete-and-reinsert: two webhooks for the same shop and day would otherwise both
    delete nothing, both insert, and the second fail on the primary key when the first
    commits (seen in the soak under concurrent orders). Waiting for the lock also makes the
    second recompute see the first one's committed orders, so the rollup stays complete.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(
                func.pg_advisory_xact_lock(
                    ORDER_ROLLUP_LOCK_NAMESPACE, workspace_id % 2_147_483_647
                )
            )
        )
    days: list[Any] = []
    if start is not None and end is not None:
        days = [DailyOrderRollup.order_date.between(start, end)]
    await session.execute(
        delete(DailyOrderRollup).where(DailyOrderRollup.workspace_id == workspace_id, *days)
    )
    counted = and_(*counted_order_conditions())
    source = (
        select(
            ShopifyOrder.workspace_id,
            ShopifyOrder.order_date,
            func.sum(case((counted, 1), else_=0)),
            func.sum(
                case((counted, ShopifyOrder.total_micros - ShopifyOrder.refunded_micros), else_=0)
            ),
            func.sum(case((counted, ShopifyOrder.cogs_micros), else_=0)),
            func.count(),
        )
        .where(
            ShopifyOrder.workspace_id == workspace_id,
            *([ShopifyOrder.order_date.between(start, end)] if days else []),
        )
        .group_by(ShopifyOrder.workspace_id, ShopifyOrder.order_date)
    )
    await session.execute(
        insert(DailyOrderRollup).from_select(
            ["workspace_id", "order_date", "orders", "revenue_micros", "cogs_micros",
             "order_rows"],
            source,
        )
    )  # fmt: skip
