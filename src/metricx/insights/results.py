"""The results shape the answer builder reads; the engine's output is adapted to it.

Values are per metric key, None where the metric has no value (a zero denominator).
Ratios (roas, mer, poas) are plain numbers; percentages (ctr, cvr) are fractions (0.0123).
`rows` hold a breakdown already sorted and limited by the engine (entity breakdowns by the
first metric; time buckets chronologically unless the query asked for an order); a time
bucket's `key` is the ISO date of its first day. `series` is an optional daily series of
the totals (a sparkline); the answer builder uses it only when there are no rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

Number = int | float | Decimal
Values = dict[str, Number | None]


@dataclass(frozen=True)
class ResultRow:
    key: str
    label: str
    values: Values
    previous: Values | None = None


@dataclass(frozen=True)
class SeriesPoint:
    date: date
    values: Values


@dataclass(frozen=True)
class QueryResults:
    start: date
    end: date
    totals: Values
    previous_start: date | None = None
    previous_end: date | None = None
    previous_totals: Values | None = None
    rows: list[ResultRow] = field(default_factory=list)
    series: list[SeriesPoint] = field(default_factory=list)
    currency: str = "USD"
    data_version: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _json_values(values: Values | None) -> dict[str, float | None] | None:
    if values is None:
        return None
    return {k: None if v is None else float(v) for k, v in values.items()}


def results_to_json(results: QueryResults) -> dict[str, object]:
    """The `results` member of the answer payload."""
    return {
        "start": results.start.isoformat(),
        "end": results.end.isoformat(),
        "previous_start": results.previous_start.isoformat() if results.previous_start else None,
        "previous_end": results.previous_end.isoformat() if results.previous_end else None,
        "totals": _json_values(results.totals),
        "previous_totals": _json_values(results.previous_totals),
        "rows": [
            {
                "key": row.key,
                "label": row.label,
                "values": _json_values(row.values),
                "previous": _json_values(row.previous),
            }
            for row in results.rows
        ],
        "series": [
            {"date": p.date.isoformat(), "values": _json_values(p.values)} for p in results.series
        ],
        "currency": results.currency,
    }
