"""The semantic layer: a validated SemanticQuery in, exact numbers out.

Every number a user sees (dashboard, entities, export, insights, CLI) comes from `run`.
It issues at most one statement per source (ads, orders, manual costs) plus one for an
entity breakdown and one for per-row series, and only for the sources the requested
metrics need. Order and cost metrics are shop-wide: ad filters do not narrow them, and
rows of a provider or entity breakdown carry None for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.metrics import entity_queries, queries
from metricx.metrics.queries import Grains, Sums
from metricx.metrics.registry import (
    AD_BASE_KEYS,
    METRICS,
    ORDER_BASE_KEYS,
    delta_pct,
    raw_value,
    sources_of,
    to_display,
)
from metricx.metrics.schemas import ENTITY_LEVELS, SemanticQuery
from metricx.metrics.timeframes import Clock, Timeframe, resolve, system_clock
from metricx.tenancy import AuthContext

Values = dict[str, float | None]


@dataclass
class ResultRow:
    """One breakdown row: its key, label, entity (for entity rows) and metric values."""

    key: str
    label: str
    values: Values
    previous: Values | None = None
    delta_pct: Values | None = None
    entity: dict[str, Any] | None = None
    series: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.key,
            "label": self.label,
            "entity": self.entity,
            "values": self.values,
            "previous": self.previous,
            "delta_pct": self.delta_pct,
            "series": self.series,
        }


@dataclass
class QueryResult:
    """Totals of both periods, their change, breakdown rows and daily series."""

    query: SemanticQuery
    timeframe: Timeframe
    data_version: int
    totals: Values = field(default_factory=dict)
    previous: Values | None = None
    delta_pct: Values | None = None
    rows: list[ResultRow] = field(default_factory=list)
    total_rows: int = 0
    series: list[dict[str, Any]] | None = None
    previous_series: list[dict[str, Any]] | None = None
    sums: Sums = field(default_factory=dict)
    previous_sums: Sums | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by questions and the CLI)."""
        return {
            "query": self.query.model_dump(mode="json"),
            "timeframe": self.timeframe.to_dict(),
            "data_version": self.data_version,
            "totals": self.totals,
            "previous": self.previous,
            "delta_pct": self.delta_pct,
            "rows": [r.to_dict() for r in self.rows],
            "total_rows": self.total_rows,
            "series": self.series,
            "previous_series": self.previous_series,
        }


def _zeros(keys: tuple[str, ...]) -> Sums:
    return dict.fromkeys(keys, 0)


def _values(metrics: list[str], sums: Sums) -> Values:
    return {k: to_display(k, raw_value(k, sums)) for k in metrics}


def _deltas(metrics: list[str], cur: Sums, prev: Sums) -> Values:
    return {k: delta_pct(raw_value(k, cur), raw_value(k, prev)) for k in metrics}


def _cost_on(costs: list[tuple[date, date, int]], lo: date, hi: date) -> float:
    """Manual costs falling in [lo, hi], each spread evenly over its own days."""
    total = 0.0
    for start, end, amount in costs:
        overlap = (min(end, hi) - max(start, lo)).days + 1
        if overlap > 0:
            total += amount * overlap / ((end - start).days + 1)
    return total


class _Sources:
    """The per-source aggregates of one query, combined into sums on demand."""

    def __init__(
        self, ads: Grains | None, orders: Grains | None, costs: list[tuple[date, date, int]] | None
    ) -> None:
        self.ads, self.orders, self.costs = ads, orders, costs

    def _combine(self, ads: Sums | None, orders: Sums | None, lo: date, hi: date) -> Sums:
        sums: Sums = {}
        if self.ads is not None:
            sums.update(ads or _zeros(AD_BASE_KEYS))
        if self.orders is not None:
            sums.update(orders or _zeros(ORDER_BASE_KEYS))
        if self.costs is not None:
            sums["manual_costs"] = _cost_on(self.costs, lo, hi)
        return sums

    def period(self, index: int, lo: date, hi: date) -> Sums:
        ads = self.ads.totals.get(index) if self.ads else None
        orders = self.orders.totals.get(index) if self.orders else None
        return self._combine(ads, orders, lo, hi)

    def day(self, day: date) -> Sums:
        ads = self.ads.days.get(day) if self.ads else None
        orders = self.orders.days.get(day) if self.orders else None
        return self._combine(ads, orders, day, day)

    def week(self, monday: date, tf: Timeframe) -> Sums:
        ads = self.ads.weeks.get(monday) if self.ads else None
        orders = self.orders.weeks.get(monday) if self.orders else None
        lo, hi = max(monday, tf.start), min(monday + timedelta(days=6), tf.end)
        return self._combine(ads, orders, lo, hi)


def _series(metrics: list[str], src: _Sources, days: list[date]) -> list[dict[str, Any]]:
    return [{"date": d.isoformat(), **_values(metrics, src.day(d))} for d in days]


def _ad_only(metrics: list[str]) -> list[str]:
    return [k for k in metrics if sources_of([k]) == {"ads"}]


async def run(
    session: AsyncSession,
    ctx: AuthContext,
    query: SemanticQuery,
    *,
    clock: Clock = system_clock,
) -> QueryResult:
    """Compute `query` for the caller's workspace."""
    spec = query.timeframe
    tf = resolve(spec.key, spec.start, spec.end, tz=ctx.timezone, clock=clock)
    by = query.breakdown.by if query.breakdown else None
    metrics = list(query.metrics)
    sources = sources_of(metrics)
    grains: set[str] = set()
    if query.series or by == "day":
        grains.add("day")
    if by == "week":
        grains.add("week")
    if by == "provider":
        grains.add("provider")
    wanted = query.totals or bool(grains)
    lo = tf.previous_start if query.compare else tf.start
    ads = orders = costs = None
    if "ads" in sources and wanted:
        ads = await queries.ad_grains(
            session, ctx, tf, query.filters, grains=grains, compare=query.compare
        )
    if "orders" in sources and (query.totals or grains - {"provider"}):
        orders = await queries.order_grains(session, ctx, tf, grains=grains, compare=query.compare)
    if "costs" in sources and wanted:
        costs = await queries.manual_costs(session, ctx, lo, tf.end)
    src = _Sources(ads, orders, costs)
    result = QueryResult(query=query, timeframe=tf, data_version=ctx.data_version)
    if query.totals:
        result.sums = src.period(0, tf.start, tf.end)
        result.totals = _values(metrics, result.sums)
        if query.compare:
            result.previous_sums = src.period(1, tf.previous_start, tf.previous_end)
            result.previous = _values(metrics, result.previous_sums)
            result.delta_pct = _deltas(metrics, result.sums, result.previous_sums)
    if query.series:
        result.series = _series(metrics, src, tf.dates())
        if query.compare:
            result.previous_series = _series(metrics, src, tf.previous_dates())
    if by in ENTITY_LEVELS:
        await _entity_breakdown(session, ctx, query, tf, result)
    elif by == "provider" and ads is not None:
        _provider_breakdown(query, ads, result)
    elif by == "day":
        result.rows = [
            ResultRow(d.isoformat(), d.isoformat(), _values(metrics, src.day(d)))
            for d in tf.dates()
        ]
        _sort_page(query, result)
    elif by == "week":
        first = tf.start - timedelta(days=tf.start.weekday())
        mondays = [first + timedelta(weeks=i) for i in range((tf.end - first).days // 7 + 1)]
        result.rows = [
            ResultRow(m.isoformat(), m.isoformat(), _values(metrics, src.week(m, tf)))
            for m in mondays
        ]
        _sort_page(query, result)
    return result


def _sort_page(query: SemanticQuery, result: QueryResult, default: str | None = None) -> None:
    """Sort and page the few provider/day/week rows (already aggregated by SQL)."""
    assert query.breakdown is not None
    bd = query.breakdown
    result.total_rows = len(result.rows)
    key = bd.sort or default
    descending = bd.order == "desc"
    if key is None:
        # Time rows keep calendar order; desc means newest first.
        if descending:
            result.rows.reverse()
    else:

        def sort_value(row: ResultRow) -> Any:
            return row.label if key == "name" else row.values.get(key)

        # Rows without a value (zero denominator) go last in either direction.
        present = [r for r in result.rows if sort_value(r) is not None]
        missing = [r for r in result.rows if sort_value(r) is None]
        present.sort(key=sort_value, reverse=descending)
        result.rows = present + missing
    result.rows = result.rows[bd.offset : bd.offset + bd.limit]


def _provider_breakdown(query: SemanticQuery, ads: Grains, result: QueryResult) -> None:
    metrics = _ad_only(query.metrics)
    providers = sorted({p for _, p in ads.providers})
    rows = []
    for provider in providers:
        cur = ads.providers.get((0, provider), _zeros(AD_BASE_KEYS))
        row = ResultRow(provider, provider, _with_none(query.metrics, _values(metrics, cur)))
        if query.compare:
            prev = ads.providers.get((1, provider), _zeros(AD_BASE_KEYS))
            row.previous = _with_none(query.metrics, _values(metrics, prev))
            row.delta_pct = _with_none(query.metrics, _deltas(metrics, cur, prev))
        rows.append(row)
    result.rows = rows
    _sort_page(query, result, default=next(iter(metrics), "spend"))


def _with_none(all_metrics: list[str], values: Values) -> Values:
    return {k: values.get(k) for k in all_metrics}


async def _entity_breakdown(
    session: AsyncSession, ctx: AuthContext, query: SemanticQuery, tf: Timeframe, res: QueryResult
) -> None:
    bd = query.breakdown
    assert bd is not None
    ad_metrics = _ad_only(query.metrics)
    sort = bd.sort or next(iter(ad_metrics), "spend")
    page, total = await entity_queries.entity_rows(
        session,
        ctx,
        tf,
        query.filters,
        level=bd.by,
        sort=sort,
        descending=bd.order == "desc",
        limit=bd.limit,
        offset=bd.offset,
        compare=query.compare,
        with_data_only=bd.with_data_only,
    )
    res.total_rows = total
    series: dict[int, dict[date, Sums]] = {}
    if query.row_series and page:
        ids = [r["entity"]["id"] for r in page]
        series = await entity_queries.entity_series(
            session, ctx, tf, query.filters, level=bd.by, ids=ids
        )
    for item in page:
        entity = item["entity"]
        row = ResultRow(
            str(entity["id"]),
            entity["name"],
            _with_none(query.metrics, _values(ad_metrics, item["sums"])),
            entity=entity,
        )
        if item["previous"] is not None:
            row.previous = _with_none(query.metrics, _values(ad_metrics, item["previous"]))
            row.delta_pct = _with_none(
                query.metrics, _deltas(ad_metrics, item["sums"], item["previous"])
            )
        if query.row_series:
            days = series.get(entity["id"], {})
            zero = _zeros(AD_BASE_KEYS)
            row.series = [
                {"date": d.isoformat(), **_values(ad_metrics, days.get(d, zero))}
                for d in tf.dates()
            ]
        res.rows.append(row)


def metric_info(keys: list[str]) -> list[dict[str, str]]:
    """Registry descriptions of the given metrics, in order."""
    return [METRICS[k].to_dict() for k in keys]
