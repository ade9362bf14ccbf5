"""The unified dashboard payload, KPI widgets and entity performance, all from the engine.

The dashboard is one request of five statements (ad grains, order grains, top ads,
campaigns, connections), cached whole under a key of workspace, data_version,
normalised parameters and resolved dates; the ETag is derived from that key, so a
304 can be answered before anything is computed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.attribution.queries import OrderTotals
from metricx.attribution.reads import dashboard_attribution_block
from metricx.cache import Cache
from metricx.dashboard import queries
from metricx.metrics import engine, summaries
from metricx.metrics.registry import METRICS, raw_value
from metricx.metrics.schemas import Filters, SemanticQuery, TimeframeSpec
from metricx.metrics.timeframes import Clock, Timeframe, resolve
from metricx.responses import dumps
from metricx.tenancy import AuthContext

KPI_KEYS = [
    "revenue",
    "spend",
    "roas",
    "conversions",
    "cpa",
    "aov",
    "mer",
    "orders",
    "order_revenue",
    "ctr",
    "cpc",
]
CREATIVE_METRICS = ["spend", "revenue", "roas", "conversions"]
CAMPAIGN_METRICS = [
    "spend",
    "revenue",
    "roas",
    "conversions",
    "cpa",
    "cpc",
    "ctr",
    "impressions",
    "clicks",
]
TOP_CREATIVES = 6
TOP_CAMPAIGNS = 20
CACHE_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class DashboardRequest:
    """Normalised dashboard parameters."""

    timeframe: str | None = None
    start: Any = None
    end: Any = None
    provider: str | None = None

    def spec(self) -> TimeframeSpec:
        return TimeframeSpec(key=self.timeframe, start=self.start, end=self.end)

    def filters(self) -> Filters:
        return Filters(provider=[self.provider] if self.provider else [])


@dataclass(frozen=True, slots=True)
class Prepared:
    """What is known before computing: the resolved period, cache key and ETag."""

    timeframe: Timeframe
    key: str
    etag: str


def _kpi(key: str, result: engine.QueryResult, sparkline: bool) -> dict[str, Any]:
    info = METRICS[key]
    return {
        "key": key,
        "label": info.label,
        "unit": info.unit,
        "direction": info.direction,
        "value": result.totals.get(key),
        "previous": result.previous.get(key) if result.previous else None,
        "delta_pct": result.delta_pct.get(key) if result.delta_pct else None,
        "sparkline": (
            [{"date": p["date"], "value": p[key]} for p in result.series]
            if sparkline and result.series is not None
            else None
        ),
    }


def prepare_dashboard(ctx: AuthContext, req: DashboardRequest, clock: Clock) -> Prepared:
    """Resolve the period and derive the cache key and ETag (no SQL runs here)."""
    tf = resolve(req.timeframe, req.start, req.end, tz=ctx.timezone, clock=clock)
    params = "|".join(
        str(p) for p in (ctx.timezone, ctx.currency, tf.key, tf.start, tf.end, req.provider)
    )
    digest = hashlib.sha256(params.encode()).hexdigest()[:24]
    key = f"mx:dash:{CACHE_VERSION}:{ctx.workspace_id}:{ctx.data_version}:{digest}"
    etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
    return Prepared(tf, key, etag)


def etag_matches(header: str | None, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (or is `*`)."""
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


async def dashboard_bytes(
    session: AsyncSession,
    ctx: AuthContext,
    cache: Cache,
    req: DashboardRequest,
    prepared: Prepared,
    clock: Clock,
) -> tuple[bytes, bool]:
    """The payload as JSON bytes and whether it came from the cache."""

    async def compute() -> bytes:
        return dumps(await build_dashboard(session, ctx, req, clock))

    return await cache.get_or_compute(prepared.key, compute)


async def build_dashboard(
    session: AsyncSession, ctx: AuthContext, req: DashboardRequest, clock: Clock
) -> dict[str, Any]:
    """Compute the unified dashboard payload."""
    spec, filters = req.spec(), req.filters()

    async def run(query: dict[str, Any], on: AsyncSession = session) -> engine.QueryResult:
        return await engine.run(on, ctx, SemanticQuery.model_validate(query), clock=clock)

    base = {"timeframe": spec, "filters": filters}
    # One statement for ad totals, daily series and spend mix; one for orders.
    main = await run(
        {**base, "metrics": KPI_KEYS, "compare": True, "series": True, "breakdown": "provider"}
    )
    tf = main.timeframe
    creatives_query = {
        **base,
        "metrics": CREATIVE_METRICS,
        "compare": False,
        "totals": False,
        "breakdown": {"by": "ad", "sort": "spend", "limit": TOP_CREATIVES, "with_data_only": True},
    }
    campaigns_query = {
        **base,
        "metrics": CAMPAIGN_METRICS,
        "compare": False,
        "totals": False,
        "breakdown": {
            "by": "campaign",
            "sort": "spend",
            "limit": TOP_CAMPAIGNS,
            "with_data_only": True,
        },
    }
    if summaries.usable(ctx, tf):
        creatives = await run(creatives_query)
        campaigns = await run(campaigns_query)
    else:
        # Off the summaries both rankings sum the range's facts (25 ms each on a workspace
        # of 2,500 ads): run them side by side, the second on a connection of its own.
        async with AsyncSession(session.bind, expire_on_commit=False) as other:
            # A plain task, not a TaskGroup: its ExceptionGroup would hide a database
            # outage (a 503) behind a 500.
            creatives_task = asyncio.create_task(run(creatives_query))
            try:
                campaigns = await run(campaigns_query, other)
            except BaseException:
                creatives_task.cancel()
                with contextlib.suppress(BaseException):
                    await creatives_task
                raise
            creatives = await creatives_task
    name, connections = await queries.workspace_status(session, ctx)
    attribution = await dashboard_attribution_block(
        session, ctx, tf.start, tf.end, known=_order_totals(main)
    )
    return {
        "workspace": {
            "id": ctx.workspace_id,
            "name": name,
            "timezone": ctx.timezone,
            "currency": ctx.currency,
        },
        "timeframe": tf.to_dict(),
        "data_version": ctx.data_version,
        "kpis": [_kpi(k, main, sparkline=True) for k in KPI_KEYS],
        "chart": _chart(main),
        "spend_mix": _spend_mix(main),
        "top_creatives": [
            {
                "entity_id": r.entity["id"],
                "name": r.entity["name"],
                "provider": r.entity["provider"],
                "status": r.entity["status"],
                "thumbnail": r.entity["thumbnail_url"],
                **{k: r.values[k] for k in CREATIVE_METRICS},
            }
            for r in creatives.rows
            if r.entity
        ],
        "unit_economics": [
            {
                "entity_id": r.entity["id"],
                "name": r.entity["name"],
                "provider": r.entity["provider"],
                "status": r.entity["status"],
                **{k: r.values[k] for k in CAMPAIGN_METRICS},
            }
            for r in campaigns.rows
            if r.entity
        ],
        "attribution": attribution,
        "status": _status(connections),
    }


def _order_totals(result: engine.QueryResult) -> OrderTotals | None:
    """The period's order totals from the KPI query, when they show the shop has orders.

    Orders in either period prove the workspace has orders; with none, the attribution
    block asks the database whether there are any at all.
    """
    orders = int(result.sums.get("orders") or 0)
    previous = int((result.previous_sums or {}).get("orders") or 0)
    if not orders and not previous:
        return None
    return OrderTotals(orders, int(result.sums.get("order_revenue") or 0), True)


def _chart(result: engine.QueryResult) -> list[dict[str, Any]]:
    current = result.series or []
    previous = result.previous_series or [{} for _ in current]
    return [
        {
            "date": cur["date"],
            "spend": cur["spend"],
            "revenue": cur["revenue"],
            "order_revenue": cur["order_revenue"],
            "previous_date": prev.get("date"),
            "previous_spend": prev.get("spend"),
            "previous_revenue": prev.get("revenue"),
            "previous_order_revenue": prev.get("order_revenue"),
        }
        for cur, prev in zip(current, previous, strict=True)
    ]


def _spend_mix(result: engine.QueryResult) -> list[dict[str, Any]]:
    total = raw_value("spend", result.sums) or 0
    rows = []
    for row in result.rows:
        spend = row.values.get("spend")
        share = None
        if total and spend is not None:
            share = round(spend * 1_000_000 / total, 4)
        rows.append(
            {
                "provider": row.key,
                "spend": spend,
                "previous_spend": row.previous.get("spend") if row.previous else None,
                "share": share,
            }
        )
    return rows


def _status(connections: list[dict[str, Any]]) -> dict[str, Any]:
    successes = [c["last_success_at"] for c in connections if c["last_success_at"]]
    providers = sorted({c["provider"] for c in connections})
    return {
        "connections": connections,
        "freshness": {
            "last_success_at": max(successes) if successes else None,
            "connected_providers": providers,
            "has_shopify": "shopify" in providers,
        },
    }


async def kpis(
    session: AsyncSession,
    ctx: AuthContext,
    *,
    metrics: list[str],
    timeframe: TimeframeSpec,
    filters: Filters,
    compare: bool,
    sparkline: bool,
    clock: Clock,
) -> dict[str, Any]:
    """KPI widgets: value, previous, delta and sparkline per metric."""
    query = SemanticQuery.parse(
        {
            "metrics": metrics,
            "timeframe": timeframe.model_dump(),
            "filters": filters.model_dump(),
            "compare": compare,
            "series": sparkline,
        }
    )
    result = await engine.run(session, ctx, query, clock=clock)
    return {
        "timeframe": result.timeframe.to_dict(),
        "data_version": ctx.data_version,
        "kpis": [_kpi(k, result, sparkline) for k in query.metrics],
    }
