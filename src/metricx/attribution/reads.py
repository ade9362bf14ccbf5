"""The attribution read side: summary, feed, campaigns, warnings, pixel health.

Shares: a channel's share is its attributed revenue over all attributed revenue of the
period (the unattributed bucket included, so shares add up to 1). Orders per channel are
credited orders (fractional under multi-touch models). The attribution rate is orders
credited to any channel other than "unattributed" ("direct" counts: we saw the visit)
over all orders of this workspace in the period.

Periods and orders mean what they mean on the dashboard: timeframes come from
metricx.metrics.timeframes, and "orders of the period" are the metrics registry's
(the shop's local order date in the period; cancelled, test and voided orders excluded),
on both sides of the rate and in the credit sums. Platform spend and revenue per campaign
come from the metrics engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.attribution import engine, queries
from metricx.errors import ValidationFailed
from metricx.metrics import engine as metrics_engine
from metricx.metrics.schemas import SemanticQuery
from metricx.tenancy import AuthContext

FEED_ON_DASHBOARD = 10


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


async def choose(
    session: AsyncSession, ctx: AuthContext, model: str | None, window: int | None
) -> tuple[str, int]:
    """The requested model and window, or the workspace's; 422 naming the field.

    The workspace's settings come with the AuthContext (the edge loaded the row already);
    only a context built without them costs a query.
    """
    if model is not None and model not in engine.MODELS:
        names = ", ".join(engine.MODELS)
        raise ValidationFailed(f"model must be one of {names}.", fields=["model"])
    if window is not None and window not in engine.WINDOWS:
        raise ValidationFailed(
            f"window must be one of {', '.join(map(str, engine.WINDOWS))}.", fields=["window"]
        )
    model = model or ctx.attribution_model
    window = window or ctx.attribution_window_days
    if model is None or window is None:
        ws = await queries.workspace_settings(session, ctx)
        model = model or ws.attribution_model
        window = window or ws.attribution_window_days
    return model, window


async def summary(
    session: AsyncSession,
    ctx: AuthContext,
    start: date,
    end: date,
    model: str | None = None,
    window: int | None = None,
) -> dict[str, Any]:
    """Revenue, orders, share and AOV by channel; attribution rate; split by confidence."""
    model, window = await choose(session, ctx, model, window)
    totals = await queries.order_totals(session, ctx, start, end)
    return await _summary(session, ctx, start, end, model, window, totals)


async def _summary(
    session: AsyncSession,
    ctx: AuthContext,
    start: date,
    end: date,
    model: str,
    window: int,
    totals: queries.OrderTotals,
) -> dict[str, Any]:
    """The summary from known totals: one grouped statement, folded here.

    Every order's credits add up to 1 and an order is either wholly unattributed or
    wholly credited to channels, so the attributed orders are the credit summed over
    the channels other than "unattributed" (rounded off float noise).
    """
    rows = await queries.credit_breakdown(session, ctx, model, window, start, end)
    channels: dict[str, list[float]] = {}
    confidence: dict[str, list[float]] = {}
    for channel, conf, revenue, credit in rows:
        for bucket, key in ((channels, channel), (confidence, conf)):
            sums = bucket.setdefault(key, [0, 0.0])
            sums[0] += revenue
            sums[1] += credit
    revenue_all = sum(r for r, _ in channels.values())
    attributed = round(sum(c for k, (_, c) in channels.items() if k != queries.UNATTRIBUTED))
    return {
        "model": model,
        "window_days": window,
        "start": start,
        "end": end,
        "currency": ctx.currency,
        "computed": bool(rows) or totals.orders == 0,
        "orders": totals.orders,
        "revenue_micros": totals.revenue_micros,
        "attributed_orders": attributed,
        "attribution_rate": _ratio(attributed, totals.orders),
        "attributed_revenue_micros": int(
            sum(r for key, (r, _) in channels.items() if key != queries.UNATTRIBUTED)
        ),
        "channels": sorted(
            (
                {
                    "channel": key,
                    "revenue_micros": int(revenue),
                    "orders": round(credit, 4),
                    "share": _ratio(revenue, revenue_all),
                    "aov_micros": round(revenue / credit) if credit else None,
                }
                for key, (revenue, credit) in channels.items()
            ),
            key=lambda c: (-c["revenue_micros"], c["channel"]),
        ),
        "confidence": [
            {"confidence": key, "revenue_micros": int(revenue), "orders": round(credit, 4)}
            for key, (revenue, credit) in sorted(confidence.items())
        ],
    }


async def feed(
    session: AsyncSession,
    ctx: AuthContext,
    limit: int = 20,
    model: str | None = None,
    window: int | None = None,
) -> dict[str, Any]:
    """Latest attributed orders, newest first, each with its credited touches."""
    model, window = await choose(session, ctx, model, window)
    return {
        "model": model,
        "window_days": window,
        "orders": await _feed(session, ctx, model, window, limit),
    }


async def _feed(
    session: AsyncSession, ctx: AuthContext, model: str, window: int, limit: int
) -> list[dict[str, Any]]:
    """The feed's orders for a known model and window: one statement."""
    orders: dict[int, dict[str, Any]] = {}
    for row in await queries.feed(session, ctx, model, window, limit):
        item = orders.get(row.order_id)
        if item is None:
            item = orders[row.order_id] = {
                "order_id": row.order_id,
                "order_number": row.order_number,
                "created_at": row.order_created_at,
                "currency": row.currency,
                "revenue_micros": engine.net_revenue(row.total_micros, row.refunded_micros),
                "touches": [],
            }
        item["touches"].append(
            {
                "channel": row.channel,
                "confidence": row.confidence,
                "match_type": row.match_type,
                "credit": row.credit,
                "revenue_micros": row.revenue_micros,
                "entity": (
                    {"id": row.entity_id, "name": row.entity_name, "level": row.entity_level}
                    if row.entity_id
                    else None
                ),
            }
        )
    return list(orders.values())


PLATFORM_METRICS = ["spend", "revenue", "roas"]
MAX_CAMPAIGNS = 100_000


def _micros(amount: float | None) -> int:
    return round((amount or 0) * 1_000_000)


async def platform_by_campaign(
    session: AsyncSession, ctx: AuthContext, start: date, end: date
) -> dict[int, dict[str, Any]]:
    """campaign id -> the metrics engine's spend, revenue and ROAS row for [start, end].

    The same engine and registry as the dashboard, so spend and platform ROAS are equal
    to what the dashboard shows for the period.
    """
    query = SemanticQuery(
        metrics=PLATFORM_METRICS,
        timeframe={"start": start, "end": end},  # type: ignore[arg-type]
        breakdown={"by": "campaign", "sort": "spend", "limit": MAX_CAMPAIGNS},  # type: ignore[arg-type]
        compare=False,
        totals=False,
    )
    result = await metrics_engine.run(session, ctx, query)
    return {int(row.key): {"values": row.values, "entity": row.entity} for row in result.rows}


async def campaigns(
    session: AsyncSession,
    ctx: AuthContext,
    start: date,
    end: date,
    model: str | None = None,
    window: int | None = None,
) -> dict[str, Any]:
    """Attributed (verified) vs platform-reported revenue and ROAS per campaign.

    Spend and platform revenue come from the metrics engine (money to the cent, as the
    dashboard shows it); verified ROAS = attributed revenue / that spend.
    """
    model, window = await choose(session, ctx, model, window)
    verified = await queries.attributed_by_campaign(session, ctx, model, window, start, end)
    platform = await platform_by_campaign(session, ctx, start, end)
    missing = set(verified) - set(platform)
    names = await queries.campaigns(session, ctx, missing)
    rows: list[dict[str, Any]] = []
    for cid in set(verified) | set(platform):
        revenue, orders = verified.get(cid, (0, 0.0))
        found = platform.get(cid)
        values = found["values"] if found else {}
        meta = found["entity"] if found else None
        if meta is None and cid in names:
            row = names[cid]
            meta = {"name": row.name, "provider": row.provider, "status": row.status}
        spend = _micros(values.get("spend"))
        rows.append(
            {
                "campaign_id": cid,
                "name": meta["name"] if meta else "",
                "provider": meta["provider"] if meta else None,
                "status": meta["status"] if meta else None,
                "spend_micros": spend,
                "attributed_revenue_micros": revenue,
                "attributed_orders": round(orders, 4),
                "platform_revenue_micros": _micros(values.get("revenue")),
                "verified_roas": _ratio(revenue, spend),
                "platform_roas": values.get("roas"),
            }
        )
    rows.sort(key=lambda r: (-r["spend_micros"], -r["attributed_revenue_micros"], r["campaign_id"]))
    return {"model": model, "window_days": window, "start": start, "end": end, "campaigns": rows}


async def warnings(
    session: AsyncSession, ctx: AuthContext, start: date, end: date
) -> dict[str, Any]:
    """Spending campaigns without UTMs in their tracking parameters or without orders."""
    data = await campaigns(session, ctx, start, end)
    tagged = await queries.campaigns_with_utms(session, ctx)
    items = []
    for row in data["campaigns"]:
        if row["spend_micros"] <= 0:
            continue
        if row["campaign_id"] not in tagged:
            items.append({**_brief(row), "kind": "no_utm_parameters"})
        if not row["attributed_orders"]:
            items.append({**_brief(row), "kind": "no_attributed_orders"})
    return {"start": start, "end": end, "warnings": items}


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("campaign_id", "name", "provider", "spend_micros")
    return {k: row[k] for k in keys}


async def pixel_health(session: AsyncSession, ctx: AuthContext) -> dict[str, Any]:
    """Events in the last 24 h and 7 days, the last event time and the tagged share."""
    now = datetime.now(UTC)
    day, week, last, tagged = await queries.pixel_health(
        session, ctx, now - timedelta(days=1), now - timedelta(days=7)
    )
    if last is None:
        last = await queries.last_event_at(session, ctx)
    return {
        "events_24h": day,
        "events_7d": week,
        "last_event_at": last,
        "tagged_share_7d": _ratio(tagged, week),
        "status": "ok" if day else ("stale" if last else "no_events"),
    }


async def dashboard_attribution_block(
    session: AsyncSession,
    ctx: AuthContext,
    start: date,
    end: date,
    known: queries.OrderTotals | None = None,
) -> dict[str, Any] | None:
    """The dashboard's `attribution` key: summary and latest orders; None without orders.

    At most three statements with a context from the edge: the order totals (which also
    say whether the workspace has any order), the credit by channel and confidence, and
    the feed. `known` totals of the period (the dashboard's KPIs have them) save the first.
    """
    model, window = await choose(session, ctx, None, None)
    totals = known if known is not None else await queries.order_totals(session, ctx, start, end)
    if not totals.any_orders:
        return None
    block = await _summary(session, ctx, start, end, model, window, totals)
    block["feed"] = await _feed(session, ctx, model, window, FEED_ON_DASHBOARD)
    return block
