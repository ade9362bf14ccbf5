"""SQL for entity breakdowns: leaf facts rolled up to campaign, ad set or ad rows.

Facts sit at the leaf of each tree (and, for Google Performance Max, at the campaign
itself). Each fact is credited to its entity or ancestor at the requested level, so a
campaign row is the sum of its descendants' facts plus its own. Sorting, filtering,
pagination and the total count all happen in one SQL statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from metricx.db import heavy_query_slot
from metricx.errors import ValidationFailed
from metricx.metrics import summaries, tree
from metricx.metrics.queries import AD_COLUMNS, Sums, as_date, as_number, lower_bound
from metricx.metrics.registry import METRICS
from metricx.metrics.schemas import Filters
from metricx.metrics.timeframes import Timeframe
from metricx.models import Entity, EntitySummary, MetricFact
from metricx.tenancy import AuthContext, scoped

ENTITY_COLUMNS = ("id", "name", "level", "provider", "status", "parent_id", "thumbnail_url")


def _sort_expr(agg: Any, sort: str) -> ColumnElement[Any]:
    metric = METRICS[sort]
    if any(METRICS[b].source != "ads" for b in metric.base_keys()):
        raise ValidationFailed(
            f"Entity rows cannot be sorted by {sort!r}: it is not an ad metric.", fields=["sort"]
        )
    if metric.is_base:
        return func.coalesce(agg.c[sort], 0)
    num: ColumnElement[Any] | None = None
    for sign, key in metric.numerator:
        part = cast(func.coalesce(agg.c[key], 0), Float) * sign
        num = part if num is None else num + part
    assert num is not None
    if metric.denominator is None:
        return num
    return (
        num
        / func.nullif(cast(func.coalesce(agg.c[metric.denominator], 0), Float), 0)
        * (metric.scale)
    )


async def entity_rows(
    session: AsyncSession,
    ctx: AuthContext,
    tf: Timeframe,
    filters: Filters,
    *,
    level: str,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    compare: bool,
    with_data_only: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """One page of entity rows at `level` with current (and previous) sums, and the total.

    `with_data_only` lists only entities with data in the period (a ranking); otherwise
    every entity at the level is listed, with zeros where it has no data.
    """
    # The preset windows come from the per-entity summary, anything else from the facts.
    use_summary = summaries.usable(ctx, tf)
    # Without entity filters the summary's rows rolled up to `level` answer alone;
    # with them, its fact-grain rows go through the filtered tree like the facts do.
    rolled = use_summary and not (filters.entity_ids or filters.parent_id)
    source: Any = EntitySummary if use_summary else MetricFact
    if use_summary:
        grain = level if rolled else summaries.FACT_GRAIN
        is_current = EntitySummary.start_date == tf.start
        agg_where: list[Any] = [summaries.window_condition(tf, compare, grain)]
    else:
        is_current = MetricFact.event_date >= tf.start
        agg_where = [
            MetricFact.event_date >= lower_bound(tf, compare),
            MetricFact.event_date <= tf.end,
        ]
    sums: list[Any] = []
    for key, column in AD_COLUMNS.items():
        col = getattr(source, column)
        if not compare:
            # Every row read is in the current period: a plain sum is a third cheaper.
            sums.append(func.sum(col).label(key))
            continue
        sums.append(func.sum(case((is_current, col), else_=0)).label(key))
        sums.append(func.sum(case((is_current, 0), else_=col)).label(f"prev_{key}"))
    if filters.provider:
        agg_where.append(source.provider.in_(filters.provider))
    if rolled:
        target = EntitySummary.entity_id
        agg_select = select(target.label("target_id"), *sums).where(*agg_where)
        agg = scoped(agg_select, source, ctx).group_by(target).subquery("agg")
    else:
        # Sum per fact entity first (tens of thousands of facts become a few thousand
        # rows), then roll those up through the tree: far fewer rows to join.
        per_entity = (
            scoped(select(source.entity_id, *sums).where(*agg_where), source, ctx)
            .group_by(source.entity_id)
            .subquery("per_entity")
        )
        # Status and name describe the listed rows themselves, so they filter the listing.
        entities = tree.mapping(
            ctx, filters.model_copy(update={"status": [], "name_contains": None}), level=level
        )
        measures = [c for c in per_entity.c if c.key != "entity_id"]
        agg = (
            select(entities.c.target_id, *(func.sum(c).label(c.key) for c in measures))
            .select_from(per_entity)
            .join(entities, entities.c.entity_id == per_entity.c.entity_id)
            .group_by(entities.c.target_id)
            .subquery("agg")
        )
    row = aliased(Entity, name="t")
    if (
        rolled
        and with_data_only
        and sort != "name"
        and not offset
        and not (filters.status or filters.name_contains)
    ):
        stmt = _top_first(agg, row, ctx, level, sort, descending, limit)
    else:
        stmt = _listing(agg, row, ctx, filters, level, sort, descending, limit, offset,
                        inner=with_data_only or bool(filters.entity_ids))  # fmt: skip
    if use_summary:
        result = (await session.execute(stmt)).all()
    else:
        async with heavy_query_slot():
            result = (await session.execute(stmt)).all()
    rows = []
    total = 0
    for r in result:
        total = r.total_rows
        data = r._mapping
        rows.append(
            {
                "entity": {c: data[c] for c in ENTITY_COLUMNS},
                "sums": {k: as_number(data[k]) for k in AD_COLUMNS},
                "previous": (
                    {k: as_number(data[f"prev_{k}"]) for k in AD_COLUMNS} if compare else None
                ),
            }
        )
    if not rows and offset:
        total = await _count(session, ctx, stmt)
    return rows, total


def _top_first(
    agg: Any, row: Any, ctx: AuthContext, level: str, sort: str, descending: bool, limit: int
) -> Any:
    """Rank the aggregated rows first and join only the top few to their entities.

    With every row of `agg` at `level` and no filter on the entities themselves, this
    lists what the general listing lists with data only, at a fraction of its cost.
    """
    order = _sort_expr(agg, sort)
    ordered = (order.desc() if descending else order.asc()).nulls_last()
    top = (
        select(agg, func.count().over().label("total_rows"))
        .order_by(ordered, agg.c.target_id)
        .limit(limit)
        .subquery("top")
    )
    again = _sort_expr(top, sort)
    measure_cols = [c for c in top.c if c.key != "target_id"]
    stmt = (
        select(*(getattr(row, c) for c in ENTITY_COLUMNS), *measure_cols)
        .select_from(top)
        .join(row, row.id == top.c.target_id)
        .where(row.level == level)
        .order_by((again.desc() if descending else again.asc()).nulls_last(), row.id)
    )
    return scoped(stmt, row, ctx)


def _listing(
    agg: Any,
    row: Any,
    ctx: AuthContext,
    filters: Filters,
    level: str,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    *,
    inner: bool,
) -> Any:
    """Every entity at `level` passing the filters, with its sums (inner: with data only)."""
    measure_cols = [c for c in agg.c if c.key != "target_id"]
    stmt = select(
        *(getattr(row, c) for c in ENTITY_COLUMNS),
        *measure_cols,
        func.count().over().label("total_rows"),
    ).select_from(row)
    # An entity filter keeps only rows that have matching facts.
    if inner:
        stmt = stmt.join(agg, agg.c.target_id == row.id)
    else:
        stmt = stmt.outerjoin(agg, agg.c.target_id == row.id)
    stmt = stmt.where(row.level == level, *tree.entity_conditions(row, filters))
    if filters.provider:
        stmt = stmt.where(row.provider.in_(filters.provider))
    if filters.parent_id:
        # Drill-down reaches children and grandchildren (campaign -> ads).
        parent = aliased(Entity, name="p1")
        stmt = stmt.outerjoin(
            parent, and_(parent.id == row.parent_id, parent.workspace_id == ctx.workspace_id)
        ).where(or_(row.parent_id == filters.parent_id, parent.parent_id == filters.parent_id))
    stmt = scoped(stmt, row, ctx)
    order_by = row.name if sort == "name" else _sort_expr(agg, sort)
    ordered = order_by.desc() if descending else order_by.asc()
    return stmt.order_by(ordered.nulls_last(), row.id).limit(limit).offset(offset)


async def _count(session: AsyncSession, ctx: AuthContext, stmt: Any) -> int:
    """The row count of a page query past its last page."""
    inner = stmt.limit(None).offset(None).order_by(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


async def entity_series(
    session: AsyncSession,
    ctx: AuthContext,
    tf: Timeframe,
    filters: Filters,
    *,
    level: str,
    ids: Sequence[int],
) -> dict[int, dict[date, Sums]]:
    """Daily ad measures of the given entities over the current period."""
    if not ids:
        return {}
    entities = tree.mapping(ctx, Filters(entity_ids=filters.entity_ids), level=level, only=ids)
    where: list[Any] = [MetricFact.event_date >= tf.start, MetricFact.event_date <= tf.end]
    if filters.provider:
        where.append(MetricFact.provider.in_(filters.provider))
    stmt = scoped(
        select(
            entities.c.target_id,
            MetricFact.event_date,
            *(
                func.coalesce(func.sum(getattr(MetricFact, c)), 0).label(k)
                for k, c in AD_COLUMNS.items()
            ),
        )
        .select_from(MetricFact)
        .join(entities, entities.c.entity_id == MetricFact.entity_id)
        .where(*where),
        MetricFact,
        ctx,
    ).group_by(entities.c.target_id, MetricFact.event_date)
    out: dict[int, dict[date, Sums]] = {}
    async with heavy_query_slot():
        rows = (await session.execute(stmt)).all()
    for r in rows:
        out.setdefault(r.target_id, {})[as_date(r.event_date)] = {
            k: as_number(getattr(r, k)) for k in AD_COLUMNS
        }
    return out
