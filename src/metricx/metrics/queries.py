"""SQL of the semantic layer: a few aggregates, each scoped through tenancy.scoped.

Every date condition is a plain range on the stored date column (never a function
around it), so (workspace_id, event_date) indexes and the rollup primary key apply.
One statement answers totals of both periods plus the daily and per-provider grains
(UNION ALL of GROUP BYs), so the database does all the summing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    String,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from metricx.metrics import tree
from metricx.metrics.schemas import Filters
from metricx.metrics.timeframes import Timeframe
from metricx.models import (
    DailyOrderRollup,
    DailyRollup,
    ManualCost,
    MetricFact,
    counted_order_conditions,
)
from metricx.tenancy import AuthContext, scoped

AD_COLUMNS = {
    "spend": "spend_micros",
    "impressions": "impressions",
    "clicks": "clicks",
    "conversions": "conversions",
    "revenue": "revenue_micros",
}

Sums = dict[str, float | int]


@dataclass
class Grains:
    """Aggregates by grain: totals per period, per day, per week, per (period, provider)."""

    totals: dict[int, Sums] = field(default_factory=dict)
    days: dict[date, Sums] = field(default_factory=dict)
    weeks: dict[date, Sums] = field(default_factory=dict)
    providers: dict[tuple[int, str], Sums] = field(default_factory=dict)


def as_number(value: Any) -> float | int:
    """A summed value as int or float (PostgreSQL returns SUM(bigint) as Decimal)."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value  # type: ignore[no-any-return]


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _week_start(col: Any, dialect: str) -> ColumnElement[Any]:
    """The Monday of a date's ISO week (only in SELECT/GROUP BY, never in WHERE)."""
    if dialect == "postgresql":
        return cast(func.date_trunc("week", col), Date)
    # SQLite's CAST AS DATE would turn the text into a number; only retype it.
    return type_coerce(func.date(col, "weekday 0", "-6 days"), Date)


def _period(col: Any, tf: Timeframe) -> ColumnElement[int]:
    return case((col >= tf.start, 0), else_=1)


def lower_bound(tf: Timeframe, compare: bool) -> date:
    return tf.previous_start if compare else tf.start


def _grain_union(
    *,
    model: Any,
    ctx: AuthContext,
    from_: Callable[[Select[Any]], Select[Any]],
    where: Sequence[Any],
    date_col: Any,
    provider_col: Any | None,
    aggs: Mapping[str, ColumnElement[Any]],
    tf: Timeframe,
    grains: set[str],
    dialect: str,
) -> Any:
    def arm(grain: str, period: Any, day: Any, provider: Any, group: list[Any]) -> Select[Any]:
        cols = [
            literal_column(f"'{grain}'").label("grain"),
            period.label("period"),
            day.label("day"),
            provider.label("provider"),
            *(agg.label(key) for key, agg in aggs.items()),
        ]
        stmt = scoped(from_(select(*cols)).where(*where), model, ctx)
        return stmt.group_by(*group) if group else stmt

    no_day = cast(null(), Date)
    no_provider = cast(null(), String)
    period = _period(date_col, tf)
    arms = [arm("total", period, no_day, no_provider, [period])]
    if "day" in grains:
        arms.append(arm("day", period, date_col, no_provider, [date_col]))
    if "week" in grains:
        week = _week_start(date_col, dialect)
        # Weeks cover the current period only.
        stmt = arm("week", literal_column("0"), week, no_provider, [week])
        arms.append(stmt.where(date_col >= tf.start))
    if "provider" in grains and provider_col is not None:
        arms.append(arm("provider", period, no_day, provider_col, [period, provider_col]))
    return union_all(*arms) if len(arms) > 1 else arms[0]


def _read_grains(rows: Sequence[Any], keys: Sequence[str]) -> Grains:
    out = Grains()
    for row in rows:
        sums = {k: as_number(getattr(row, k)) for k in keys}
        if row.grain == "total":
            out.totals[int(row.period)] = sums
        elif row.grain == "day":
            out.days[as_date(row.day)] = sums
        elif row.grain == "week":
            out.weeks[as_date(row.day)] = sums
        else:
            out.providers[(int(row.period), row.provider)] = sums
    return out


def _ad_sums(model: Any) -> dict[str, ColumnElement[Any]]:
    return {k: func.coalesce(func.sum(getattr(model, c)), 0) for k, c in AD_COLUMNS.items()}


async def ad_grains(
    session: AsyncSession,
    ctx: AuthContext,
    tf: Timeframe,
    filters: Filters,
    *,
    grains: set[str],
    compare: bool,
) -> Grains:
    """Ad measures by grain; daily rollups unless an entity filter needs the facts."""
    dialect = session.get_bind().dialect.name
    lo = lower_bound(tf, compare)
    if not filters.touches_entities:
        where = [DailyRollup.event_date >= lo, DailyRollup.event_date <= tf.end]
        if filters.provider:
            where.append(DailyRollup.provider.in_(filters.provider))
        stmt = _grain_union(
            model=DailyRollup, ctx=ctx, from_=lambda s: s.select_from(DailyRollup), where=where,
            date_col=DailyRollup.event_date, provider_col=DailyRollup.provider,
            aggs=_ad_sums(DailyRollup), tf=tf, grains=grains, dialect=dialect,
        )  # fmt: skip
    else:
        # Status and name filters describe campaigns when no entity breakdown is asked.
        entities = tree.mapping(ctx, filters, filter_level="campaign")
        where = [MetricFact.event_date >= lo, MetricFact.event_date <= tf.end]
        if filters.provider:
            where.append(MetricFact.provider.in_(filters.provider))
        stmt = _grain_union(
            model=MetricFact, ctx=ctx,
            from_=lambda s: s.select_from(MetricFact).join(
                entities, entities.c.entity_id == MetricFact.entity_id
            ),
            where=where,
            date_col=MetricFact.event_date, provider_col=MetricFact.provider,
            aggs=_ad_sums(MetricFact), tf=tf, grains=grains, dialect=dialect,
        )  # fmt: skip
    rows = (await session.execute(stmt)).all()
    return _read_grains(rows, list(AD_COLUMNS))


def _valid_orders() -> list[ColumnElement[bool]]:
    return counted_order_conditions()


async def order_grains(
    session: AsyncSession, ctx: AuthContext, tf: Timeframe, *, grains: set[str], compare: bool
) -> Grains:
    """Orders, net order revenue and COGS by the shop's local order day (from the rollups)."""
    lo = lower_bound(tf, compare)
    r = DailyOrderRollup
    aggs = {
        "orders": func.coalesce(func.sum(r.orders), 0),
        "order_revenue": func.coalesce(func.sum(r.revenue_micros), 0),
        "cogs": func.coalesce(func.sum(r.cogs_micros), 0),
    }
    where = [r.order_date >= lo, r.order_date <= tf.end]
    stmt = _grain_union(
        model=r, ctx=ctx, from_=lambda s: s.select_from(r), where=where,
        date_col=r.order_date, provider_col=None, aggs=aggs, tf=tf,
        grains=grains - {"provider"}, dialect=session.get_bind().dialect.name,
    )  # fmt: skip
    rows = (await session.execute(stmt)).all()
    return _read_grains(rows, list(aggs))


async def manual_costs(
    session: AsyncSession, ctx: AuthContext, lo: date, hi: date
) -> list[tuple[date, date, int]]:
    """(start, end, amount micros) of the manual costs overlapping [lo, hi]."""
    columns: Any = select(ManualCost.start_date, ManualCost.end_date, ManualCost.amount_micros)
    stmt = scoped(columns, ManualCost, ctx).where(
        ManualCost.start_date <= hi, ManualCost.end_date >= lo
    )
    return [(r[0], r[1], r[2]) for r in (await session.execute(stmt)).all()]
