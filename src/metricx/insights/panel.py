"""The dashboard's two insights, computed from the engine and ranked by ranking.py.

Three engine queries (platforms, campaigns, ads), each with current and previous period
measures, become `EntityPerformance` values; ranking picks the biggest drop (by money
impact) and the best performing area. No LLM is involved on this path.

Minimum spend: an entity counts only when it spent at least
max(MIN_SPEND_FLOOR, MIN_SPEND_SHARE x the account's spend in the period), so a tiny ad
with a lucky sale is never the "best area" and a test campaign's swing is never a "drop".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.insights.executor import PROVIDER_LABELS
from metricx.insights.ranking import EntityPerformance, Level, Measures, dashboard_insights
from metricx.metrics import engine
from metricx.metrics.schemas import SemanticQuery, TimeframeSpec
from metricx.metrics.timeframes import Clock, Timeframe
from metricx.tenancy import AuthContext

MEASURES = ["spend", "revenue", "impressions", "clicks", "conversions"]
MIN_SPEND_FLOOR = 10.0
MIN_SPEND_SHARE = 0.02
# Entities are fetched by spend; those past the limit are far below the minimum spend.
MAX_ENTITIES = 1_000


def _measures(values: dict[str, float | None] | None) -> Measures:
    v = values or {}
    return Measures(**{k: float(v.get(k) or 0) for k in MEASURES})


def min_spend_for(account_spend: float) -> float:
    return round(max(MIN_SPEND_FLOOR, MIN_SPEND_SHARE * account_spend), 2)


async def _rows(
    session: AsyncSession, ctx: AuthContext, spec: TimeframeSpec, by: str, clock: Clock
) -> engine.QueryResult:
    query = SemanticQuery(
        metrics=MEASURES,
        timeframe=spec,
        breakdown={"by": by, "sort": "spend", "order": "desc", "limit": MAX_ENTITIES},  # type: ignore[arg-type]
        compare=True,
        totals=by == "provider",
    )
    return await engine.run(session, ctx, query, clock=clock)


def _entity(level: Level, row: engine.ResultRow, children: tuple[Any, ...] = ()) -> Any:
    label = PROVIDER_LABELS.get(row.key, row.label) if level == "provider" else row.label
    return EntityPerformance(
        level=level,
        key=row.key,
        label=label,
        current=_measures(row.values),
        previous=_measures(row.previous),
        children=children,
    )


async def compute(
    session: AsyncSession, ctx: AuthContext, spec: TimeframeSpec, clock: Clock
) -> tuple[Timeframe, dict[str, Any]]:
    """The insights payload for a period: the two insights and what they were computed on."""
    platforms = await _rows(session, ctx, spec, "provider", clock)
    campaigns = await _rows(session, ctx, spec, "campaign", clock)
    ads = await _rows(session, ctx, spec, "ad", clock)
    campaign_perf = [_entity("campaign", r) for r in campaigns.rows]
    by_provider: dict[str, list[EntityPerformance]] = {}
    for row, perf in zip(campaigns.rows, campaign_perf, strict=True):
        provider = (row.entity or {}).get("provider")
        if provider:
            by_provider.setdefault(provider, []).append(perf)
    entities = [_entity("provider", r, tuple(by_provider.get(r.key, ()))) for r in platforms.rows]
    entities += campaign_perf
    entities += [_entity("ad", r) for r in ads.rows]
    account_spend = float(platforms.totals.get("spend") or 0)
    min_spend = min_spend_for(account_spend)
    found = dashboard_insights(entities, min_spend=min_spend, currency=ctx.currency)
    for item in found:
        ratio = item["metric"] == "roas"
        for key in ("value", "previous"):
            if item[key] is not None:
                item[key] = round(item[key], 4 if ratio else 2)
    tf = platforms.timeframe
    return tf, {
        "insights": found,
        "timeframe": tf.to_dict(),
        "data_version": ctx.data_version,
        "currency": ctx.currency,
        "min_spend": min_spend,
    }
