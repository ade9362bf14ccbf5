"""Turn the dashboard payload into what the templates show; tolerant of missing keys."""

from __future__ import annotations

from typing import Any

from metricx.web import charts
from metricx.web import format as fmt

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
    if isinstance(url, str) and (url.startswith("/") and not url.startswith("//")):
        return url
    return None


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
    synced_at = freshness.get("last_synced_at") or freshness.get("last_success_at")
    connections = [_connection(c) for c in _list(status.get("connections"))]
    attribution = payload.get("attribution")
    kpis = [kpi_card(k, currency) for k in _list(payload.get("kpis"))]
    chart = charts.trend_chart(payload.get("chart"), currency)
    attribution_view = None
    if isinstance(attribution, dict):
        attribution_view = {
            "revenue": fmt.money(attribution.get("attributed_revenue"), currency),
            "orders": fmt.count(attribution.get("attributed_orders")),
            "rate": fmt.percent(attribution.get("attribution_rate")),
            "channels": [
                {
                    "name": fmt.provider(c.get("channel") or c.get("provider")),
                    "revenue": fmt.money(c.get("revenue"), currency),
                    "orders": fmt.count(c.get("orders")),
                }
                for c in _list(attribution.get("by_channel"))
            ],
            "latest": [
                {
                    "order": o.get("order_number") or o.get("order_id") or fmt.DASH,
                    "revenue": fmt.money(o.get("revenue"), currency),
                    "channel": fmt.provider(o.get("channel") or o.get("provider")),
                    "campaign": o.get("campaign_name") or "",
                    "when": fmt.ago(o.get("attributed_at") or o.get("created_at")),
                }
                for o in _list(attribution.get("latest_orders"))[:10]
            ],
        }
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
        "attribution": attribution_view,
        "connections": connections,
        "freshness": {
            "synced": fmt.ago(synced_at),
            "synced_at": str(synced_at or ""),
            "latest_date": fmt.long_date(freshness.get("latest_data_date"))
            if freshness.get("latest_data_date")
            else None,
        },
        "is_new": not connections,
        "has_data": any(k["value"] != fmt.DASH for k in kpis) or not chart["empty"],
    }


def entity_view(row: dict[str, Any], currency: str) -> dict[str, Any]:
    """One campaigns-table row: formatted text plus raw numbers for client-side sorting."""
    out = _entity_row(row, currency)
    out.update(
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
