"""What the insights package needs to know about each metric: label, unit and direction.

A view over the one metric registry (metricx.metrics.registry), so a metric added there is
answerable here. Two deliberate differences for answer text: percent metrics are handled as
fractions inside insights (the executor divides the engine's 1.23 into 0.0123, and answers
show 1.23%), and a few labels read better in a sentence ("Store revenue", "COGS").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from metricx.metrics.registry import METRICS as REGISTRY

Unit = Literal["currency", "count", "ratio", "percent"]
Direction = Literal["higher", "lower", "neutral"]

# Labels as answers phrase them; everything else comes from the registry.
_LABELS = {"order_revenue": "Store revenue", "cogs": "COGS"}
# Spend is neither good nor bad by itself.
_DIRECTIONS: dict[str, Direction] = {"spend": "neutral"}


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    unit: Unit
    direction: Direction


METRICS: dict[str, MetricInfo] = {
    key: MetricInfo(key, _LABELS.get(key, m.label), m.unit, _DIRECTIONS.get(key, m.direction))
    for key, m in REGISTRY.items()
}


def info(key: str) -> MetricInfo:
    return METRICS[key]
