"""What the insights package needs to know about each metric: label, unit and direction.

A local copy until the metric registry (metricx.metrics.registry) lands; the lead swaps it.
Units: "currency" (workspace currency), "count", "ratio" (shown as 2.41), "percent" (the
engine returns a fraction, 0.0123, shown as 1.23%).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["currency", "count", "ratio", "percent"]
Direction = Literal["higher", "lower", "neutral"]


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    unit: Unit
    direction: Direction


_INFO = (
    MetricInfo("spend", "Spend", "currency", "neutral"),
    MetricInfo("impressions", "Impressions", "count", "higher"),
    MetricInfo("clicks", "Clicks", "count", "higher"),
    MetricInfo("conversions", "Conversions", "count", "higher"),
    MetricInfo("revenue", "Revenue", "currency", "higher"),
    MetricInfo("orders", "Orders", "count", "higher"),
    MetricInfo("order_revenue", "Store revenue", "currency", "higher"),
    MetricInfo("cogs", "COGS", "currency", "lower"),
    MetricInfo("manual_costs", "Manual costs", "currency", "lower"),
    MetricInfo("roas", "ROAS", "ratio", "higher"),
    MetricInfo("cpa", "CPA", "currency", "lower"),
    MetricInfo("cpc", "CPC", "currency", "lower"),
    MetricInfo("cpm", "CPM", "currency", "lower"),
    MetricInfo("ctr", "CTR", "percent", "higher"),
    MetricInfo("cvr", "Conversion rate", "percent", "higher"),
    MetricInfo("aov", "AOV", "currency", "higher"),
    MetricInfo("mer", "MER", "ratio", "higher"),
    MetricInfo("profit", "Profit", "currency", "higher"),
    MetricInfo("poas", "POAS", "ratio", "higher"),
)
METRICS: dict[str, MetricInfo] = {m.key: m for m in _INFO}


def info(key: str) -> MetricInfo:
    return METRICS[key]
