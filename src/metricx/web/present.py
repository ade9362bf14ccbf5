"""Turn the dashboard payload into what the templates show; tolerant of missing keys."""

from __future__ import annotations

from typing import Any

from metricx.attribution import engine as attribution_engine
from metricx.web import charts
from metricx.web import format as fmt

MICROS = 1_000_000
MODEL_LABELS = {
    "last_click": "Last click",
    "first_click": "First click",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based",
}

KPI_LABELS = {
    "revenue": "Revenue",
    "spend": "Spend",
    "roas": "ROAS",
    "conversions": "Conversions",
    "cpa": "CPA",
    "aov": "AOV",
    "mer": "MER",
    "orders": "Orders",
    "profit": "Profit",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def kpi_card(kpi: dict[str, Any], currency: str) -> dict[str, Any]:
    """One KPI card: formatted value, previous value, coloured delta and sparkline."""
    unit = kpi.get("unit") or ("currency" if kpi.get("key") in ("revenue", "spend") else "count")
    key = str(kpi.get("key") or "")
    return {
        "key": key,
        "label": kpi.get("label") or KPI_LABELS.get(key, key.upper()),
        "value": fmt.metric(kpi.get("value"), unit, currency),
        "previous": fmt.metric(kpi.get("previous"), unit, currency),
        "delta": fmt.delta(kpi.get("delta_pct"), kpi.get("direction")),
        "spark": charts.sparkline(kpi.get("sparkline")),
    }


def _entity_row(row: dict[str, Any], currency: str) -> dict[str, Any]:
    return {
        "id": row.get("id", row.get("entity_id")),
        "name": row.get("name") or fmt.DASH,
        "provider": fmt.provider(row.get("provider")),
        "thumbnail_url": _safe_image(row.get("thumbnail_url") or row.get("thumbnail")),
        "spend": fmt.money(row.get("spend"), currency),
        "revenue": fmt.money(row.get("revenue"), currency),
        "roas": fmt.ratio(row.get("roas")),
        "conversions": fmt.count(row.get("conversions")),
        "cpa": fmt.money(row.get("cpa"), currency),
    }


def _safe_image(url: Any) -> str | None:
    # The CSP allows only same-origin and data: images; other URLs would just be blocked.
    if not isinstance(url, str):
        return None
    if url.startswith("/") and not url.startswith("//"):
        return url
    if url.startswith("data:image/"):
        return url
    return None


def money_micros(value: Any, currency: str) -> str:
    """Integer micros (the attribution API's money) as money in `currency`."""
    number = fmt.to_number(value)
    return fmt.money(None if number is None else number / MICROS, currency)


def attribution_models() -> list[tuple[str, str]]:
    """(key, label) of every model the attribution engine accepts, in its order."""
    return [(m, MODEL_LABELS.get(m, fmt.provider(m))) for m in attribution_engine.MODELS]


def attribution_windows() -> list[tuple[int, str]]:
    """(days, label) of every window the attribution engine accepts."""
    return [(d, f"{d} day{'s' if d != 1 else ''}") for d in attribution_engine.WINDOWS]


def feed_item(order: dict[str, Any], currency: str) -> dict[str, Any]:
    """One attributed order of `reads.feed` / the dashboard block's `feed`.

    Order money is stored in workspace-currency micros (sync.writer.OrderRow), so it is
    shown in the workspace's currency; the first credited touch names the channel and,
    when matched to an ad entity, the ad.
    """
    touches = _list(order.get("touches"))
    first = touches[0] if touches else {}
    entity = _dict(first.get("entity"))
    number = str(order.get("order_number") or order.get("order_id") or fmt.DASH)
    return {
        "order": number.lstrip("#") or fmt.DASH,
        "revenue": money_micros(order.get("revenue_micros"), currency),
        "channel": fmt.provider(first.get("channel")) if first else fmt.DASH,
        "campaign": str(entity.get("name") or ""),
        "when": fmt.ago(order.get("created_at")),
        "created_at": str(order.get("created_at") or ""),
    }


def attribution_view(block: Any, currency: str) -> dict[str, Any] | None:
    """The attribution card from `dashboard_attribution_block` (money in micros)."""
    if not isinstance(block, dict):
        return None
    currency = str(block.get("currency") or currency)
    model = str(block.get("model") or "")
    window = block.get("window_days")
    return {
        "revenue": money_micros(block.get("attributed_revenue_micros"), currency),
        "orders": fmt.count(block.get("attributed_orders")),
        "all_orders": fmt.count(block.get("orders")),
        "rate": fmt.percent(block.get("attribution_rate")),
        "computed": bool(block.get("computed", True)),
        "model": MODEL_LABELS.get(model, fmt.provider(model)) if model else "",
        "window": f"{window}-day window" if window else "",
        "channels": [
            {
                "key": str(c.get("channel") or ""),
                "name": fmt.provider(c.get("channel")),
                "revenue": money_micros(c.get("revenue_micros"), currency),
                "orders": fmt.count(c.get("orders")),
                "share": fmt.percent(c.get("share")),
            }
            # Channels by revenue; the unattributed remainder last, it is not a channel.
            for c in sorted(
                _list(block.get("channels")), key=lambda c: c.get("channel") == "unattributed"
            )
        ],
        "latest": [feed_item(o, currency) for o in _list(block.get("feed"))[:10]],
    }


def _connection(row: dict[str, Any]) -> dict[str, Any]:
    status = str(row.get("status") or "unknown")
    return {
        "id": row.get("id"),
        "name": row.get("name") or fmt.provider(row.get("provider")),
        "provider": fmt.provider(row.get("provider")),
        "status": status,
        "status_label": status.replace("_", " "),
        "healthy": status == "active",
        "last_success": fmt.ago(row.get("last_success_at")),
    }


def dashboard_view(payload: dict[str, Any]) -> dict[str, Any]:
    """Everything the dashboard template renders, formatted in the workspace's currency."""
    workspace = _dict(payload.get("workspace"))
    currency = str(workspace.get("currency") or "USD")
    timeframe = _dict(payload.get("timeframe"))
    status = _dict(payload.get("status"))
    freshness = _dict(status.get("freshness"))
    synced_at = freshness.get("last_success_at")
    connections = [_connection(c) for c in _list(status.get("connections"))]
    kpis = [kpi_card(k, currency) for k in _list(payload.get("kpis"))]
    chart = charts.trend_chart(payload.get("chart"), currency)
    return {
        "workspace": {
            "id": workspace.get("id"),
            "name": workspace.get("name") or "",
            "currency": currency,
            "timezone": workspace.get("timezone") or "UTC",
        },
        "period": {
            "key": timeframe.get("key"),
            "start": fmt.long_date(timeframe.get("start")) if timeframe.get("start") else None,
            "end": fmt.long_date(timeframe.get("end")) if timeframe.get("end") else None,
            "previous_start": fmt.short_date(timeframe.get("previous_start"))
            if timeframe.get("previous_start")
            else None,
            "previous_end": fmt.long_date(timeframe.get("previous_end"))
            if timeframe.get("previous_end")
            else None,
        },
        "kpis": kpis,
        "chart": chart,
        "spend_mix": [
            {
                **m,
                "provider_label": fmt.provider(m.get("provider")),
                "spend_text": fmt.money(m.get("spend"), currency),
                "share_text": fmt.percent(m.get("share")),
            }
            for m in charts.mix_bars(payload.get("spend_mix"))
        ],
        "top_creatives": [_entity_row(r, currency) for r in _list(payload.get("top_creatives"))],
        "unit_economics": [_entity_row(r, currency) for r in _list(payload.get("unit_economics"))],
        "attribution": attribution_view(payload.get("attribution"), currency),
        "connections": connections,
        "freshness": {
            "synced": fmt.ago(synced_at),
            "synced_at": str(synced_at or ""),
        },
        "is_new": not connections,
        "has_data": any(k["value"] != fmt.DASH for k in kpis) or not chart["empty"],
    }


def entity_view(row: dict[str, Any], currency: str) -> dict[str, Any]:
    """One campaigns-table row: formatted text plus raw numbers for client-side sorting."""
    out = _entity_row(row, currency)
    out.update(
        has_children=row.get("has_children"),
        status=str(row.get("status") or ""),
        cpc=fmt.money(row.get("cpc"), currency),
        ctr=fmt.percent_points(row.get("ctr")),
        spark=charts.sparkline(row.get("sparkline"), width=96, height=24),
        raw={
            k: fmt.to_number(row.get(k))
            for k in ("spend", "revenue", "roas", "conversions", "cpa", "cpc", "ctr")
        },
    )
    return out
