"""Plain-Python recomputation of metrics over a Dataset's raw rows (no engine code)."""

from __future__ import annotations

from datetime import date

from tests.metrics.dataset import Dataset


def base_sums(
    ds: Dataset, start: date, end: date, *, providers: set[str] | None = None
) -> dict[str, float]:
    """Base measures over [start, end], money in currency units (not micros)."""
    spend = impressions = clicks = conversions = revenue = 0.0
    for provider, f in ds.facts:
        if start <= f.event_date <= end and (providers is None or provider in providers):
            spend += f.spend_micros
            impressions += f.impressions
            clicks += f.clicks
            conversions += f.conversions
            revenue += f.revenue_micros
    orders = 0
    order_revenue = cogs = 0.0
    for o in ds.orders:
        valid = o.cancelled_at is None and not o.is_test and o.financial_status != "voided"
        if valid and start <= o.order_date <= end:
            orders += 1
            order_revenue += o.total_micros - o.refunded_micros
            cogs += sum(line.cogs_micros for line in o.lines)
    manual = 0.0
    for c_start, c_end, amount in ds.costs:
        days = (c_end - c_start).days + 1
        overlap = (min(c_end, end) - max(c_start, start)).days + 1
        if overlap > 0:
            manual += amount * overlap / days
    return {
        "spend": spend / 1e6,
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "revenue": revenue / 1e6,
        "orders": orders,
        "order_revenue": order_revenue / 1e6,
        "cogs": cogs / 1e6,
        "manual_costs": manual / 1e6,
    }


def _div(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


def metrics(s: dict[str, float]) -> dict[str, float | None]:
    """Every metric from base sums, by the documented formulas."""
    ctr = _div(s["clicks"], s["impressions"])
    cvr = _div(s["conversions"], s["clicks"])
    cpm = _div(s["spend"], s["impressions"])
    return {
        **s,
        "roas": _div(s["revenue"], s["spend"]),
        "cpa": _div(s["spend"], s["conversions"]),
        "cpc": _div(s["spend"], s["clicks"]),
        "cpm": None if cpm is None else cpm * 1000,
        "ctr": None if ctr is None else ctr * 100,
        "cvr": None if cvr is None else cvr * 100,
        "aov": _div(s["order_revenue"], s["orders"]),
        "mer": _div(s["order_revenue"], s["spend"]),
        "poas": _div(s["order_revenue"] - s["cogs"], s["spend"]),
        "profit": s["order_revenue"] - s["cogs"] - s["spend"] - s["manual_costs"],
    }


TOLERANCE = {"currency": 0.0051, "ratio": 0.0001, "percent": 0.0051, "count": 0.0051}


def close(unit: str, got: float | None, want: float | None) -> bool:
    """Equal to the cent for money (to 4 decimals for ratios); None only equals None."""
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= TOLERANCE[unit]
