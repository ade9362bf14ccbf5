"""The steps of one sync: account, entities, then facts (or orders) chunk by chunk.

Provider calls happen outside transactions; each date chunk is converted and written in
one transaction of idempotent upserts, so a sync killed between (or inside) chunks and run
again leaves exactly what a clean run leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.connectors.base import AccountInfo, RawFact
from metricx.jobs.context import JobContext
from metricx.models import Connection, Entity, SyncRun, Workspace
from metricx.sync.fx import FxConverter
from metricx.sync.windows import as_marker, chunk_range, local_today, sync_range
from metricx.sync.writer import (
    EntityRow,
    FactRow,
    OrderRow,
    upsert_entities,
    upsert_facts,
    upsert_orders,
)
from metricx.workspaces.repository import bump_data_version

ProgressFn = Callable[[str, dict[str, Any]], None]


@dataclass
class SyncPlan:
    """What one run of one connection reads and where it writes."""

    connection_id: int
    workspace_id: int
    provider: str
    run_id: int
    now: datetime
    settings: dict[str, Any]
    backfilled_through: datetime | None
    counters: dict[str, Any] = field(default_factory=dict)
    progress: ProgressFn | None = None
    start: date | None = None
    end: date | None = None

    def report(self, event: str, **data: Any) -> None:
        """Tell the CLI (or nobody) how far we are."""
        if self.progress is not None:
            self.progress(event, {**data, "counters": dict(self.counters)})

    def bump(self, key: str, amount: int = 1) -> None:
        """Add to a counter."""
        self.counters[key] = self.counters.get(key, 0) + amount


async def _apply_account(jc: JobContext, plan: SyncPlan, info: AccountInfo) -> str:
    """Store the account's currency and timezone; return the workspace currency."""
    async with jc.db.transaction() as s:
        values: dict[str, Any] = {"currency": info.currency.upper()[:3], "timezone": info.timezone}
        await s.execute(
            update(Connection).where(Connection.id == plan.connection_id).values(**values)
        )
        currency = await s.scalar(
            select(Workspace.currency).where(Workspace.id == plan.workspace_id)
        )
    today = local_today(plan.now, info.timezone)
    plan.start, plan.end = sync_range(plan.provider, plan.settings, plan.backfilled_through, today)
    plan.counters.update(
        start=plan.start.isoformat(), end=plan.end.isoformat(), currency=info.currency
    )
    plan.report("account", name=info.name, currency=info.currency, timezone=info.timezone)
    return str(currency or "USD")


async def _save_progress(
    s: AsyncSession, plan: SyncPlan, rows: int, through: date | None = None
) -> None:
    """Record the run's counters and, with the chunk's data, how far facts are complete.

    Chunks go oldest first, so after a committed chunk every day up to its end is written;
    moving backfilled_through forward in the same transaction lets a run cut short (rate
    limit, crash) resume from there instead of starting its backfill again.
    """
    await s.execute(
        update(SyncRun)
        .where(SyncRun.id == plan.run_id)
        .values(rows_written=SyncRun.rows_written + rows, counters=dict(plan.counters))
    )
    if through is not None:
        marker = as_marker(through)
        await s.execute(
            update(Connection)
            .where(
                Connection.id == plan.connection_id,
                or_(
                    Connection.backfilled_through.is_(None), Connection.backfilled_through < marker
                ),
            )
            .values(backfilled_through=marker)
        )


async def sync_ads(jc: JobContext, plan: SyncPlan, connector: Any) -> None:
    """Account → entities → facts in date chunks."""
    info: AccountInfo = await connector.account()
    target = await _apply_account(jc, plan, info)
    source = info.currency.upper()
    tree: list[EntityRow] = await connector.entities()
    async with jc.db.transaction() as s:
        ids = await upsert_entities(
            s,
            workspace_id=plan.workspace_id,
            connection_id=plan.connection_id,
            provider=plan.provider,
            rows=tree,
        )
        plan.counters["entities"] = len(tree)
        # Names and statuses show on the dashboard, so the entity write bumps the version too.
        await bump_data_version(s, plan.workspace_id)
        await _save_progress(s, plan, 0)
    plan.report("entities", count=len(tree))
    assert plan.start is not None and plan.end is not None
    chunks = chunk_range(plan.start, plan.end, plan.provider, plan.settings)
    plan.report("facts_start", chunks=len(chunks))
    for index, (start, end) in enumerate(chunks, start=1):
        raw: list[RawFact] = []
        async for page in connector.facts(start, end):
            raw.extend(page)
        async with jc.db.transaction() as s:
            fx = await FxConverter.load(s, source, target, start, end)
            rows = await _fact_rows(s, plan, ids, raw, fx)
            written = await upsert_facts(
                s,
                workspace_id=plan.workspace_id,
                connection_id=plan.connection_id,
                provider=plan.provider,
                rows=rows,
            )
            plan.bump("facts_read", len(raw))
            plan.bump("facts_written", written)
            plan.bump("chunks")
            await _save_progress(s, plan, written, end)
        plan.report("chunk", index=index, total=len(chunks), start=start, end=end)


async def _fact_rows(
    s: AsyncSession,
    plan: SyncPlan,
    ids: dict[tuple[str, str], int],
    raw: Sequence[RawFact],
    fx: FxConverter,
) -> list[FactRow]:
    """Map provider rows to entity ids (adding unseen entities) in workspace currency."""
    unknown = {(f.level, f.external_id) for f in raw if (f.level, f.external_id) not in ids}
    if unknown:
        ids.update(await _resolve_unknown(s, plan, unknown))
    converted = fx.source != fx.target
    rows: dict[tuple[int, date], FactRow] = {}
    for f in raw:
        entity_id = ids[(f.level, f.external_id)]
        row = FactRow(
            entity_id=entity_id,
            event_date=f.event_date,
            # Raises MissingFxRate before anything of this chunk is written.
            spend_micros=fx.convert(f.spend_micros, f.event_date),
            impressions=f.impressions,
            clicks=f.clicks,
            conversions=f.conversions,
            revenue_micros=fx.convert(f.revenue_micros, f.event_date),
            leads=f.leads,
            purchases=f.purchases,
            original_currency=fx.source if converted else None,
            original_spend_micros=f.spend_micros if converted else None,
            original_revenue_micros=f.revenue_micros if converted else None,
        )
        # A provider repeating an entity-day (page overlap) must not fail the upsert.
        rows[(entity_id, f.event_date)] = row
    return list(rows.values())


async def _resolve_unknown(
    s: AsyncSession, plan: SyncPlan, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Facts of entities missing from the tree (deleted ads): reuse or add a placeholder."""
    found: dict[tuple[str, str], int] = {}
    existing = await s.execute(
        select(Entity.id, Entity.level, Entity.external_id).where(
            Entity.connection_id == plan.connection_id,
            Entity.external_id.in_([ext for _, ext in keys]),
        )
    )
    for entity_id, level, ext in existing.all():
        if (level, ext) in keys:
            found[(level, ext)] = entity_id
    missing = [EntityRow(level, ext, ext) for level, ext in keys if (level, ext) not in found]
    if missing:
        found.update(
            await upsert_entities(
                s,
                workspace_id=plan.workspace_id,
                connection_id=plan.connection_id,
                provider=plan.provider,
                rows=missing,
            )
        )
        plan.bump("placeholder_entities", len(missing))
    return found


def convert_order(order: OrderRow, fx: FxConverter) -> OrderRow:
    """An order in workspace currency, keeping the shop's currency and total."""
    if fx.source == fx.target:
        return order
    day = order.order_date

    def c(micros: int) -> int:
        return fx.convert(micros, day)

    return replace(
        order,
        currency=fx.target,
        total_micros=c(order.total_micros),
        subtotal_micros=c(order.subtotal_micros),
        tax_micros=c(order.tax_micros),
        shipping_micros=c(order.shipping_micros),
        discounts_micros=c(order.discounts_micros),
        refunded_micros=c(order.refunded_micros),
        original_currency=fx.source,
        original_total_micros=order.total_micros,
        lines=[
            replace(line, price_micros=c(line.price_micros), cogs_micros=c(line.cogs_micros))
            for line in order.lines
        ],
    )


async def sync_orders(jc: JobContext, plan: SyncPlan, connector: Any) -> None:
    """Account → orders updated in each date chunk."""
    info: AccountInfo = await connector.account()
    target = await _apply_account(jc, plan, info)
    assert plan.start is not None and plan.end is not None
    chunks = chunk_range(plan.start, plan.end, plan.provider, plan.settings)
    plan.report("facts_start", chunks=len(chunks))
    for index, (start, end) in enumerate(chunks, start=1):
        orders: list[OrderRow] = []
        async for page in connector.orders(start, end):
            orders.extend(page)
        async with jc.db.transaction() as s:
            converted: list[OrderRow] = []
            converters: dict[str, FxConverter] = {}
            for order in orders:
                source = (order.currency or info.currency).upper()
                if source not in converters:
                    first = min(o.order_date for o in orders)
                    last = max(o.order_date for o in orders)
                    converters[source] = await FxConverter.load(s, source, target, first, last)
                converted.append(convert_order(order, converters[source]))
            written = await upsert_orders(
                s,
                workspace_id=plan.workspace_id,
                connection_id=plan.connection_id,
                rows=converted,
            )
            plan.bump("orders_read", len(orders))
            plan.bump("orders_written", len(written))
            plan.bump("chunks")
            await _save_progress(s, plan, len(written), end)
        plan.report("chunk", index=index, total=len(chunks), start=start, end=end)
