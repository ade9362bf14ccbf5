"""The one metric registry: every metric's key, label, unit, direction and formula.

Formulas work on summed base measures ("sum first, then divide"); a zero denominator
gives None. Money base measures are summed as integer micros and converted to currency
units only when a value leaves the engine (`to_display`), so rounding happens once, at
the edge: money to cents (half-up), ratios to 4 decimals, percents to 2.

Units and how values are returned:
- currency: decimal number in the workspace currency (1234.56).
- count: a number (conversions may be fractional, platforms model them).
- ratio: a plain multiple (ROAS 3.2 means 3.2 of revenue per 1 of spend).
- percent: already multiplied by 100 (CTR 1.25 means 1.25 %).

Base measure sources:
- ads: metric_facts / daily_rollups (spend, impressions, clicks, conversions, revenue =
  the platform-reported conversion value).
- orders: shopify_orders by the shop's local order_date, excluding cancelled, test and
  voided orders; order_revenue = total - refunded (refunds count against the order's day),
  cogs = the order's cost of goods.
- costs: manual_costs spread evenly over each day of [start_date, end_date].

POAS (profit on ad spend) = (order_revenue - cogs) / spend: gross margin per unit of ad
spend. Profit = order_revenue - cogs - spend - manual_costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from metricx.errors import ValidationFailed

Unit = Literal["currency", "count", "ratio", "percent"]
Direction = Literal["higher", "lower"]
Source = Literal["ads", "orders", "costs"]

MICROS = 1_000_000
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric. Base metrics have a source; derived ones a formula over base keys."""

    key: str
    label: str
    unit: Unit
    direction: Direction
    formula: str
    source: Source | None = None
    money: bool = False
    # Derived: sum(sign * base) [/ denominator] * scale.
    numerator: tuple[tuple[int, str], ...] = ()
    denominator: str | None = None
    scale: float = 1.0

    @property
    def is_base(self) -> bool:
        """True for a measure summed straight from storage."""
        return self.source is not None

    def base_keys(self) -> tuple[str, ...]:
        """The base measures this metric needs."""
        if self.is_base:
            return (self.key,)
        keys = [k for _, k in self.numerator]
        if self.denominator:
            keys.append(self.denominator)
        return tuple(dict.fromkeys(keys))

    def to_dict(self) -> dict[str, str]:
        """The public description of this metric."""
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "direction": self.direction,
            "formula": self.formula,
        }


def _base(key: str, label: str, unit: Unit, direction: Direction, source: Source) -> Metric:
    return Metric(key, label, unit, direction, formula=key, source=source, money=unit == "currency")


def _ratio(
    key: str,
    label: str,
    unit: Unit,
    direction: Direction,
    num: str | tuple[tuple[int, str], ...],
    den: str,
    scale: float = 1.0,
) -> Metric:
    numerator = ((1, num),) if isinstance(num, str) else num
    text = " ".join(("-" if s < 0 else "+") + " " + k for s, k in numerator).lstrip("+ ")
    formula = f"({text}) / {den}" if len(numerator) > 1 else f"{text} / {den}"
    if scale != 1:
        formula += f" * {scale:g}"
    return Metric(
        key, label, unit, direction, formula, numerator=numerator, denominator=den, scale=scale
    )


_METRICS = (
    _base("spend", "Spend", "currency", "lower", "ads"),
    _base("impressions", "Impressions", "count", "higher", "ads"),
    _base("clicks", "Clicks", "count", "higher", "ads"),
    _base("conversions", "Conversions", "count", "higher", "ads"),
    _base("revenue", "Revenue", "currency", "higher", "ads"),
    _base("orders", "Orders", "count", "higher", "orders"),
    _base("order_revenue", "Order revenue", "currency", "higher", "orders"),
    _base("cogs", "Cost of goods", "currency", "lower", "orders"),
    _base("manual_costs", "Manual costs", "currency", "lower", "costs"),
    _ratio("roas", "ROAS", "ratio", "higher", "revenue", "spend"),
    _ratio("cpa", "CPA", "currency", "lower", "spend", "conversions"),
    _ratio("cpc", "CPC", "currency", "lower", "spend", "clicks"),
    _ratio("cpm", "CPM", "currency", "lower", "spend", "impressions", 1000),
    _ratio("ctr", "CTR", "percent", "higher", "clicks", "impressions", 100),
    _ratio("cvr", "Conversion rate", "percent", "higher", "conversions", "clicks", 100),
    _ratio("aov", "AOV", "currency", "higher", "order_revenue", "orders"),
    _ratio("mer", "MER", "ratio", "higher", "order_revenue", "spend"),
    _ratio("poas", "POAS", "ratio", "higher", ((1, "order_revenue"), (-1, "cogs")), "spend"),
    Metric(
        "profit",
        "Profit",
        "currency",
        "higher",
        "order_revenue - cogs - spend - manual_costs",
        numerator=((1, "order_revenue"), (-1, "cogs"), (-1, "spend"), (-1, "manual_costs")),
    ),
)

METRICS: dict[str, Metric] = {m.key: m for m in _METRICS}
BASE_KEYS = tuple(m.key for m in _METRICS if m.is_base)
AD_BASE_KEYS = tuple(m.key for m in _METRICS if m.source == "ads")
ORDER_BASE_KEYS = tuple(m.key for m in _METRICS if m.source == "orders")


def get_metric(key: str, *, field: str = "metrics") -> Metric:
    """The metric named `key`, or 422 naming the field."""
    metric = METRICS.get(key)
    if metric is None:
        known = ", ".join(METRICS)
        raise ValidationFailed(f"Unknown metric {key!r}; known: {known}.", fields=[field])
    return metric


def sources_of(keys: list[str] | tuple[str, ...]) -> set[str]:
    """The storage sources needed to compute these metrics."""
    return {METRICS[b].source for k in keys for b in METRICS[k].base_keys()}  # type: ignore[misc]


def is_money(key: str) -> bool:
    """True when the metric's value is an amount of money."""
    return METRICS[key].unit == "currency"


def raw_value(key: str, sums: dict[str, float | int]) -> float | None:
    """A metric from summed base measures, money still in micros for currency units.

    None when a denominator is zero or a base measure is missing from `sums`.
    """
    metric = METRICS[key]
    if metric.is_base:
        value = sums.get(key)
        return None if value is None else value
    total: float = 0
    for sign, base in metric.numerator:
        part = sums.get(base)
        if part is None:
            return None
        total += sign * part
    if metric.denominator is None:
        return total
    den = sums.get(metric.denominator)
    if not den:
        return None
    # Money per unit (CPA, CPC, CPM, AOV) keeps the numerator's micros.
    return total / den * metric.scale


def to_display(key: str, raw: float | None) -> float | None:
    """Convert a raw value to what the API returns; money in currency units, to the cent."""
    if raw is None:
        return None
    metric = METRICS[key]
    if metric.unit == "currency":
        return micros_to_amount(raw)
    if metric.unit == "count":
        return round(float(raw), 2) if isinstance(raw, float) else raw
    if metric.unit == "percent":
        return round(float(raw), 2)
    return round(float(raw), 4)


def value(key: str, sums: dict[str, float | int]) -> float | None:
    """A metric's display value from summed base measures."""
    return to_display(key, raw_value(key, sums))


def delta_pct(current: float | None, previous: float | None) -> float | None:
    """Percent change from previous to current; None without a non-zero previous value."""
    if current is None or previous is None or previous == 0:
        return None
    return round((current - previous) / abs(previous) * 100, 2)


def micros_to_amount(micros: int | float) -> float:
    """Micros to currency units rounded to the cent (half-up)."""
    exact = Decimal(micros) if isinstance(micros, int) else Decimal(repr(float(micros)))
    return float((exact / MICROS).quantize(CENT, rounding=ROUND_HALF_UP))
