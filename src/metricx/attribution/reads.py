"""The attribution read side: summary, feed, campaigns, warnings, pixel health.

Shares: a channel's share is its attributed revenue over all attributed revenue of the
period (the unattributed bucket included, so shares add up to 1). Orders per channel are
credited orders (fractional under multi-touch models). The attribution rate is orders
credited to any channel other than "unattributed" ("direct" counts: we saw the visit)
over all non-test orders of this workspace in the period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.attribution import engine, queries, timeframes
from metricx.errors import ValidationFailed
from metricx.models import Attribution
from metricx.tenancy import AuthContext


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


async def choose(
    session: AsyncSession, ctx: AuthContext, model: str | None, window: int | None
) -> tuple[str, int]:
    """The requested model and window, or the workspace's; 422 naming the field."""
    if model is not None and model not in engine.MODELS:
        names = ", ".join(engine.MODELS)
        raise ValidationFailed(f"model must be one of {names}.", fields=["model"])
    if window is not None and window not in engine.WINDOWS:
        raise ValidationFailed(
            f"window must be one of {', '.join(map(str, engine.WINDOWS))}.", fields=["window"]
        )
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
    lo, hi = timeframes.bounds(start, end, ctx.timezone)
    total_orders, total_revenue = await queries.order_totals(session, ctx, lo, hi)
    channels = await queries.by_column(session, ctx, Attribution.channel, model, window, lo, hi)
    confidence = await queries.by_column(
        session, ctx, Attribution.confidence, model, window, lo, hi
    )
    attributed = await queries.attributed_orders(session, ctx, model, window, lo, hi)
    revenue_all = sum(r for _, r, _, _ in channels)
    computed = any(n for *_, n in channels)
    return {
        "model": model,
        "window_days": window,
        "start": start,
        "end": end,
        "currency": ctx.currency,
        "computed": computed or total_orders == 0,
        "orders": total_orders,
        "revenue_micros": total_revenue,
        "attributed_orders": attributed,
        "attribution_rate": _ratio(attributed, total_orders),
        "attributed_revenue_micros": sum(
            r for key, r, _, _ in channels if key != queries.UNATTRIBUTED
        ),
        "channels": sorted(
            (
                {
                    "channel": key,
                    "revenue_micros": revenue,
                    "orders": round(credit, 4),
                    "share": _ratio(revenue, revenue_all),
                    "aov_micros": round(revenue / credit) if credit else None,
                }
                for key, revenue, credit, _ in channels
            ),
            key=lambda c: (-c["revenue_micros"], c["channel"]),
        ),
        "confidence": [
            {"confidence": key, "revenue_micros": revenue, "orders": round(credit, 4)}
            for key, revenue, credit, _ in sorted(confidence, key=lambda c: c[0])
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
    return {"model": model, "window_days": window, "orders": list(orders.values())}


async def campaigns(
    session: AsyncSession,
    ctx: AuthContext,
    start: date,
    end: date,
    model: str | None = None,
    window: int | None = None,
) -> dict[str, Any]:
    """Attributed (verified) vs platform-reported revenue and ROAS per campaign."""
    model, window = await choose(session, ctx, model, window)
    lo, hi = timeframes.bounds(start, end, ctx.timezone)
    verified = await queries.attributed_by_campaign(session, ctx, model, window, lo, hi)
    platform = await queries.platform_by_campaign(session, ctx, start, end)
    names = await queries.campaigns(session, ctx, set(verified) | set(platform))
    rows: list[dict[str, Any]] = []
    for cid in set(verified) | set(platform):
        revenue, orders = verified.get(cid, (0, 0.0))
        spend, platform_revenue = platform.get(cid, (0, 0))
        meta = names.get(cid)
        rows.append(
            {
                "campaign_id": cid,
                "name": meta.name if meta else "",
                "provider": meta.provider if meta else None,
                "status": meta.status if meta else None,
                "spend_micros": spend,
                "attributed_revenue_micros": revenue,
                "attributed_orders": round(orders, 4),
                "platform_revenue_micros": platform_revenue,
                "verified_roas": _ratio(revenue, spend),
                "platform_roas": _ratio(platform_revenue, spend),
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
    session: AsyncSession, ctx: AuthContext, start: date, end: date
) -> dict[str, Any] | None:
    """The dashboard's `attribution` key: summary and latest orders; None without orders."""
    if not await queries.has_orders(session, ctx):
        return None
    block = await summary(session, ctx, start, end)
    block["feed"] = (await feed(session, ctx, limit=10))["orders"]
    return block
