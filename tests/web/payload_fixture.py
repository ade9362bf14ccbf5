"""TEMPORARY test fixtures standing in for the metrics engine: a dashboard payload and
entity rows with the contract's shape, deterministic per workspace and timeframe.

Used only by tests/web until `metricx.dashboard.service` is merged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from metricx.tenancy import AuthContext

SPANS = {
    "today": 1,
    "yesterday": 1,
    "last_7_days": 7,
    "last_30_days": 30,
    "last_90_days": 90,
    "this_month": 28,
    "last_month": 31,
}
TODAY = date(2026, 11, 28)


def resolve(tf: dict[str, Any]) -> tuple[date, date]:
    """A fixed-clock resolution of the timeframe (the real one lives in metrics/)."""
    if tf.get("timeframe") == "custom":
        return tf["start"], tf["end"]
    days = SPANS[tf["timeframe"]]
    end = TODAY - timedelta(days=1) if tf["timeframe"] != "today" else TODAY
    return end - timedelta(days=days - 1), end


def _daily(start: date, days: int, seed: int) -> list[dict[str, Any]]:
    out = []
    for i in range(days):
        d = start + timedelta(days=i)
        wave = (d.toordinal() * 7 + seed) % 11
        spend = 900 + 40 * wave
        revenue = spend * (2.4 + (d.toordinal() % 5) / 10)
        out.append({"date": d.isoformat(), "spend": round(spend, 2), "revenue": round(revenue, 2)})
    return out


def sample_dashboard_payload(
    ctx: AuthContext,
    tf: dict[str, Any],
    *,
    name: str = "Brand",
    connections: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A complete payload in the contract's shape."""
    start, end = resolve(tf)
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    current = _daily(start, days, ctx.workspace_id)
    previous = _daily(prev_start, days, ctx.workspace_id + 3)
    spend = sum(r["spend"] for r in current)
    revenue = sum(r["revenue"] for r in current)
    p_spend = sum(r["spend"] for r in previous)
    p_revenue = sum(r["revenue"] for r in previous)
    conversions = round(revenue / 85)
    p_conversions = round(p_revenue / 90)

    def kpi(key, label, unit, direction, value, prev, series_key=None):  # type: ignore[no-untyped-def]
        delta = None if not prev else (value - prev) / prev * 100
        series = [{"date": r["date"], "value": r.get(series_key or key, 0)} for r in current]
        return {
            "key": key,
            "label": label,
            "unit": unit,
            "direction": direction,
            "value": value,
            "previous": prev,
            "delta_pct": delta,
            "sparkline": series,
        }

    chart = [
        {**c, "previous_spend": p["spend"], "previous_revenue": p["revenue"]}
        for c, p in zip(current, previous, strict=True)
    ]
    return {
        "workspace": {
            "id": ctx.workspace_id,
            "name": name,
            "timezone": ctx.timezone,
            "currency": ctx.currency,
        },
        "timeframe": {
            "key": tf["timeframe"],
            "start": start.isoformat(),
            "end": end.isoformat(),
            "previous_start": prev_start.isoformat(),
            "previous_end": prev_end.isoformat(),
        },
        "data_version": ctx.data_version,
        "kpis": [
            kpi("revenue", "Revenue", "currency", "higher", round(revenue, 2), round(p_revenue, 2)),
            kpi("spend", "Spend", "currency", "higher", round(spend, 2), round(p_spend, 2)),
            kpi("roas", "ROAS", "ratio", "higher", revenue / spend, p_revenue / p_spend, "revenue"),
            kpi("conversions", "Conversions", "count", "higher", conversions, p_conversions),
            kpi(
                "cpa",
                "CPA",
                "currency",
                "lower",
                spend / conversions,
                p_spend / p_conversions,
                "spend",
            ),
            kpi("aov", "AOV", "currency", "higher", None, None),
        ],
        "chart": chart,
        "spend_mix": [
            {"provider": "meta", "spend": round(spend * 0.55, 2), "share": 0.55},
            {"provider": "google", "spend": round(spend * 0.3, 2), "share": 0.3},
            {"provider": "tiktok", "spend": round(spend * 0.15, 2), "share": 0.15},
        ],
        "top_creatives": [
            {
                "id": 10 + i,
                "name": f"{label} creative",
                "provider": prov,
                "thumbnail_url": None,
                "spend": round(spend * share, 2),
                "revenue": round(spend * share * roas, 2),
                "roas": roas,
            }
            for i, (label, prov, share, roas) in enumerate(
                [
                    ("UGC unboxing", "meta", 0.2, 3.4),
                    ("Holiday carousel", "meta", 0.12, 2.9),
                    ("Search brand", "google", 0.1, 5.1),
                    ("Creator duet", "tiktok", 0.08, 1.7),
                ]
            )
        ],
        "unit_economics": [
            {
                "id": 100 + i,
                "name": cname,
                "provider": prov,
                "spend": round(spend * share, 2),
                "revenue": round(spend * share * roas, 2),
                "roas": roas,
                "conversions": round(spend * share * roas / 85),
                "cpa": 85 / roas,
            }
            for i, (cname, prov, share, roas) in enumerate(
                [
                    ("Prospecting — Broad", "meta", 0.35, 2.6),
                    ("Retargeting 7d", "meta", 0.2, 4.2),
                    ("Brand search", "google", 0.3, 3.1),
                    ("Spark ads", "tiktok", 0.15, 1.4),
                ]
            )
        ],
        "attribution": {
            "attributed_revenue": round(revenue * 0.62, 2),
            "attributed_orders": 412,
            "attribution_rate": 0.62,
            "by_channel": [
                {"channel": "meta", "revenue": round(revenue * 0.4, 2), "orders": 260},
                {"channel": "google", "revenue": round(revenue * 0.22, 2), "orders": 152},
            ],
            "latest_orders": [
                {
                    "order_number": "1043",
                    "revenue": 128.5,
                    "channel": "meta",
                    "campaign_name": "Retargeting 7d",
                    "attributed_at": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
                },
            ],
        },
        "status": {
            "connections": connections
            if connections is not None
            else [
                {
                    "id": 1,
                    "provider": "meta",
                    "name": "Meta Ads",
                    "status": "active",
                    "last_success_at": (datetime.now(UTC) - timedelta(minutes=4)).isoformat(),
                },
                {
                    "id": 2,
                    "provider": "google",
                    "name": "Google Ads",
                    "status": "needs_reauth",
                    "last_success_at": (datetime.now(UTC) - timedelta(hours=30)).isoformat(),
                },
            ],
            "freshness": {
                "last_synced_at": (datetime.now(UTC) - timedelta(minutes=4)).isoformat(),
                "latest_data_date": end.isoformat(),
            },
        },
    }


def sample_entities(
    ctx: AuthContext, params: dict[str, Any], *, campaign_name: str = "Prospecting — Broad"
) -> dict[str, Any]:
    """Entity rows for the campaigns page: 3 campaigns, each with 2 ad sets, each 2 ads."""
    level = params["level"]
    parent_id = params.get("parent_id")
    start, end = resolve(params)
    days = (end - start).days + 1
    names = {1: campaign_name, 2: "Retargeting 7d", 3: "Brand search"}
    items = []
    if level == "campaign":
        ids = [1, 2, 3]
        parent = None
    elif level == "adset":
        ids = [parent_id * 10 + 1, parent_id * 10 + 2] if parent_id else [11, 12, 21]
        parent = {"id": parent_id, "name": names.get(parent_id, "Campaign"), "level": "campaign"}
    else:
        ids = [parent_id * 10 + 1, parent_id * 10 + 2] if parent_id else [111]
        parent = {
            "id": parent_id,
            "name": f"Ad set {parent_id}",
            "level": "adset",
            "parent_id": (parent_id or 0) // 10,
            "parent_name": names.get((parent_id or 0) // 10, "Campaign"),
        }
    for n, entity_id in enumerate(ids):
        spend = 100.0 * days / (n + 1) + entity_id
        revenue = spend * (1.5 + n)
        items.append(
            {
                "id": entity_id,
                "level": level,
                "provider": "meta",
                "status": "active",
                "name": names[entity_id] if level == "campaign" else f"{level.title()} {entity_id}",
                "spend": spend,
                "revenue": revenue,
                "roas": revenue / spend,
                "conversions": revenue / 80,
                "cpa": spend / (revenue / 80),
                "cpc": 1.2,
                "ctr": 1.3,
                "sparkline": [
                    {"date": str(start + timedelta(days=i)), "value": 10 + (i * entity_id) % 7}
                    for i in range(min(days, 30))
                ],
            }
        )
    return {"rows": items, "parent": parent}
