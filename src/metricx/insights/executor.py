"""The bridge from a question's semantic query to the metrics engine, and back.

The insights query (semantic.py) and the engine's (metricx.metrics.schemas) say the same
thing in slightly different shapes; this module is the one place that knows both:

- A breakdown is ranked by the first metric: the engine takes that as `sort`. Entity rows
  can only be sorted by ad metrics, so a shop-wide first metric (orders, AOV) leaves the
  engine's default (the first ad metric, else spend).
- A time breakdown without an order is chronological with every bucket: the engine gets
  ascending order, no sort key and a limit above the longest period.
- A week bucket is keyed by its first day inside the period (the engine keys by Monday).
- Percent metrics (CTR, conversion rate) come from the engine as 1.23 (%); insights
  handle them as fractions (0.0123).
- Platform rows get display names ("meta" -> "Meta").

Every call runs in the caller's workspace: the engine scopes each statement by the
AuthContext the executor was bound to.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.insights.flow import Execute
from metricx.insights.results import QueryResults, ResultRow, Values
from metricx.insights.semantic import SemanticQuery
from metricx.metrics import engine
from metricx.metrics import schemas as ms
from metricx.metrics.registry import METRICS, sources_of
from metricx.metrics.timeframes import MAX_DAYS, Clock, system_clock
from metricx.tenancy import AuthContext

PROVIDER_LABELS = {"meta": "Meta", "google": "Google", "tiktok": "TikTok", "csv": "CSV import"}
ALL_BUCKETS = MAX_DAYS + 1


def to_engine_query(query: SemanticQuery) -> ms.SemanticQuery:
    """The engine's query for an insights query (same numbers, the engine's shape)."""
    tf = query.timeframe
    spec = ms.TimeframeSpec(key=tf.key, start=tf.start, end=tf.end)
    breakdown = None
    if query.breakdown is not None:
        b = query.breakdown
        first = query.metrics[0]
        if b.is_time and b.order is None:
            breakdown = ms.Breakdown(by=b.by, order="asc", limit=ALL_BUCKETS)
        else:
            ad_metric = sources_of([first]) == {"ads"}
            sort = first if (b.is_time or ad_metric) else None
            breakdown = ms.Breakdown(
                by=b.by, sort=sort, order=b.order or "desc", limit=b.limit or ALL_BUCKETS
            )
    f = query.filters
    filters = ms.Filters(
        provider=list(f.provider),
        status=list(f.status),
        name_contains=f.name_contains,
        entity_ids=list(f.entity_ids),
    )
    return ms.SemanticQuery(
        metrics=list(query.metrics),
        timeframe=spec,
        breakdown=breakdown,
        filters=filters,
        compare=query.compare,
    )


def _values(values: dict[str, float | None] | None) -> Values | None:
    if values is None:
        return None
    out: Values = {}
    for key, value in values.items():
        if value is not None and METRICS[key].unit == "percent":
            value = value / 100
        out[key] = value
    return out


def _row(row: engine.ResultRow, by: str, start: date) -> ResultRow:
    key, label = row.key, row.label
    if by == "provider":
        label = PROVIDER_LABELS.get(row.key, row.label)
    elif by == "week":
        key = label = max(date.fromisoformat(row.key), start).isoformat()
    return ResultRow(key=key, label=label, values=_values(row.values) or {},
                     previous=_values(row.previous))  # fmt: skip


def to_results(query: SemanticQuery, result: engine.QueryResult, currency: str) -> QueryResults:
    """The engine's result in the shape the answer builder reads."""
    tf = result.timeframe
    by = query.breakdown.by if query.breakdown else ""
    return QueryResults(
        start=tf.start,
        end=tf.end,
        totals=_values(result.totals) or {},
        previous_start=tf.previous_start if query.compare else None,
        previous_end=tf.previous_end if query.compare else None,
        previous_totals=_values(result.previous) if query.compare else None,
        rows=[_row(r, by, tf.start) for r in result.rows],
        currency=currency,
        data_version=str(result.data_version),
    )


def make_executor(
    session: AsyncSession, ctx: AuthContext, *, clock: Clock = system_clock
) -> Execute:
    """An `execute(SemanticQuery) -> QueryResults` bound to one workspace and session."""

    async def execute(query: SemanticQuery) -> QueryResults:
        result = await engine.run(session, ctx, to_engine_query(query), clock=clock)
        return to_results(query, result, ctx.currency)

    return execute


def install(app: Any) -> None:
    """Register the engine as the questions route's executor (reads app.state.clock)."""

    def factory(session: AsyncSession, ctx: AuthContext) -> Execute:
        clock: Clock = getattr(app.state, "clock", system_clock)
        return make_executor(session, ctx, clock=clock)

    app.state.query_executor_factory = factory
