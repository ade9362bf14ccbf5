"""Deterministic answers: a sentence, a visual spec and the facts behind them.

Every number in the text comes from `QueryResults` (or is a percent change computed from two
of its numbers). The facts list is what an LLM may phrase, and what its phrasing is checked
against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from metricx.insights.catalog import info
from metricx.insights.numbers import as_float, delta_pct, format_day, format_pct, format_value
from metricx.insights.results import QueryResults, ResultRow
from metricx.insights.semantic import SemanticQuery

DASH = " \u2013 "
_KEY_PHRASES = {
    "today": "today",
    "yesterday": "yesterday",
    "last_7_days": "in the last 7 days",
    "last_30_days": "in the last 30 days",
    "last_90_days": "in the last 90 days",
    "this_month": "this month",
    "last_month": "last month",
}
_BY_NOUN = {
    "provider": "platform",
    "campaign": "campaign",
    "adset": "ad set",
    "ad": "ad",
    "day": "day",
    "week": "week",
}


@dataclass(frozen=True)
class Fact:
    """One number the answer states: what it is, its value and how it is displayed."""

    label: str
    value: float | None
    formatted: str


@dataclass(frozen=True)
class Answer:
    text: str
    visual: dict[str, Any]
    facts: list[Fact]


def _dates(start, end, with_year: bool) -> str:  # type: ignore[no-untyped-def]
    if start == end:
        return format_day(start, with_year)
    return f"{format_day(start)}{DASH}{format_day(end, with_year)}"


def period_phrase(query: SemanticQuery, results: QueryResults) -> str:
    """E.g. 'in the last 7 days (Nov 21 - Nov 27)' (with an en dash)."""
    with_year = results.start.year != results.end.year
    dates = _dates(results.start, results.end, with_year)
    key = query.timeframe.key
    if key in _KEY_PHRASES:
        return f"{_KEY_PHRASES[key]} ({dates})"
    if results.start == results.end:
        return f"on {format_day(results.start, True)}"
    return f"from {format_day(results.start, with_year)} to {format_day(results.end, True)}"


def previous_phrase(results: QueryResults) -> str:
    if results.previous_start is None or results.previous_end is None:
        return "the previous period"
    days = (results.previous_end - results.previous_start).days + 1
    span = _dates(results.previous_start, results.previous_end, False)
    return f"the day before ({span})" if days == 1 else f"the previous {days} days ({span})"


class _Builder:
    def __init__(self, query: SemanticQuery, results: QueryResults) -> None:
        self.query = query
        self.results = results
        self.facts: list[Fact] = []

    def fmt(self, metric: str, value: Any, label: str) -> str:
        text = format_value(value, info(metric).unit, self.results.currency)
        number = as_float(value)
        if number is not None and info(metric).unit == "percent":
            number *= 100
        self.facts.append(Fact(label, number, text))
        return text

    def change(self, metric: str, current: Any, previous: Any, label: str) -> str:
        """', down 18.2% from 2.95' or an explanation why there is no change to show."""
        cur, prev = as_float(current), as_float(previous)
        prev_text = self.fmt(metric, previous, f"{label} (previous period)")
        pct = delta_pct(cur, prev)
        if pct is None:
            if prev is None or cur is None:
                return ", with no comparable value in the previous period"
            return f", compared with {prev_text} before"
        if round(pct, 1) == 0:
            return f", unchanged from {prev_text}"
        self.facts.append(Fact(f"{label} change %", round(pct, 1), format_pct(pct)))
        direction = "up" if pct > 0 else "down"
        return f", {direction} {format_pct(pct)} from {prev_text}"

    # -- totals ----------------------------------------------------------------------------
    def totals(self) -> str:
        q, r = self.query, self.results
        comparing = q.compare and r.previous_totals is not None
        period = period_phrase(q, r)
        parts = []
        for metric in q.metrics:
            label = info(metric).label
            value = r.totals.get(metric)
            if as_float(value) is None:
                part = f"{label} has no value (nothing to divide by)"
            else:
                part = f"{label} was {self.fmt(metric, value, label)}"
            change = ""
            if comparing:
                assert r.previous_totals is not None
                change = self.change(metric, value, r.previous_totals.get(metric), label)
            parts.append((part, change))
        if len(parts) == 1:
            part, change = parts[0]
            tail = f" in {previous_phrase(r)}" if change and "no comparable" not in change else ""
            return f"{part} {period}{change}{tail}."
        head = period[0].upper() + period[1:]
        if comparing:
            head += f", compared with {previous_phrase(r)}"
        body = "; ".join(_lower_first(part) + change for part, change in parts)
        return f"{head}: {body}."

    # -- breakdowns ------------------------------------------------------------------------
    def row_text(self, row: ResultRow, metric: str) -> str:
        text = f"{row.label} {self.fmt(metric, row.values.get(metric), row.label)}"
        if self.query.compare and row.previous is not None:
            change = self.change(
                metric, row.values.get(metric), row.previous.get(metric), row.label
            )
            text += f" ({change[2:]})"
        return text

    def ranking(self) -> str:
        q, r = self.query, self.results
        assert q.breakdown is not None
        metric, noun = q.metrics[0], _BY_NOUN[q.breakdown.by]
        label, period = info(metric).label, period_phrase(q, r)
        if not r.rows:
            return f"No {noun} had data {period}."
        extreme = "highest" if q.breakdown.order == "desc" else "lowest"
        if q.breakdown.limit == 1:
            row = r.rows[0]
            value = self.fmt(metric, row.values.get(metric), row.label)
            return f"{row.label} had the {extreme} {label} {period}: {value}."
        listed = "; ".join(self.row_text(row, metric) for row in r.rows)
        head = f"{label} by {noun} {period}"
        if q.breakdown.order is not None:
            head += f", {extreme} first"
        return f"{head}: {listed}."

    def timeline(self) -> str:
        q, r = self.query, self.results
        assert q.breakdown is not None
        metric = q.metrics[0]
        label = info(metric).label
        unit_word = "Daily" if q.breakdown.by == "day" else "Weekly"
        period = period_phrase(q, r)
        if q.breakdown.order is not None:
            return self.ranking()
        points: list[tuple[ResultRow, float]] = []
        for row in r.rows:
            number = as_float(row.values.get(metric))
            if number is not None:
                points.append((row, number))
        if not points:
            return f"{unit_word} {label} {period}: no data."
        high = max(points, key=lambda p: p[1])
        low = min(points, key=lambda p: p[1])
        total = self.fmt(metric, r.totals.get(metric), f"{label} total")
        high_text = self.fmt(metric, high[0].values.get(metric), high[0].label)
        low_text = self.fmt(metric, low[0].values.get(metric), low[0].label)
        return (
            f"{unit_word} {label} {period}: {total} overall, highest {high[0].label} "
            f"({high_text}), lowest {low[0].label} ({low_text})."
        )


def _lower_first(text: str) -> str:
    """'Spend was' -> 'spend was', but 'CTR was' stays."""
    return text[0].lower() + text[1:] if text[1:2].islower() else text


def _visual(query: SemanticQuery, results: QueryResults) -> dict[str, Any]:
    def cell(metric: str, value: Any) -> dict[str, Any]:
        unit = info(metric).unit
        return {"value": as_float(value), "formatted": format_value(value, unit, results.currency)}

    columns = [{"key": m, "label": info(m).label, "unit": info(m).unit} for m in query.metrics]
    b = query.breakdown
    if b is None:
        items = []
        for m in query.metrics:
            item = {"metric": m, "label": info(m).label, **cell(m, results.totals.get(m))}
            if query.compare and results.previous_totals is not None:
                prev = as_float(results.previous_totals.get(m))
                item["previous"] = prev
                item["delta_pct"] = delta_pct(as_float(results.totals.get(m)), prev)
            items.append(item)
        return {"type": "kpi", "items": items}
    if b.is_time and b.order is None:
        points = [
            {"date": row.key, **{m: as_float(row.values.get(m)) for m in query.metrics}}
            for row in results.rows
        ]
        return {"type": "line", "x": "date", "series": columns, "points": points}
    rows = [
        {
            "key": row.key,
            "label": row.label,
            **{m: cell(m, row.values.get(m)) for m in query.metrics},
        }
        for row in results.rows
    ]
    if len(query.metrics) == 1:
        return {"type": "bar", "metric": columns[0], "bars": rows}
    return {"type": "table", "columns": columns, "rows": rows}


def build_answer(query: SemanticQuery, results: QueryResults) -> Answer:
    """The deterministic answer to `query` from `results`."""
    builder = _Builder(query, results)
    if query.breakdown is None:
        text = builder.totals()
    elif query.breakdown.is_time:
        text = builder.timeline()
    else:
        text = builder.ranking()
    return Answer(text=text, visual=_visual(query, results), facts=builder.facts)


def allowed_numbers(answer: Answer, query: SemanticQuery, results: QueryResults) -> list[float]:
    """Numbers an answer may contain besides dates: its facts, years, period length, ranks."""
    allowed = [f.value for f in answer.facts if f.value is not None]
    allowed += [results.start.year, results.end.year, results.days]
    if results.previous_start and results.previous_end:
        allowed += [(results.previous_end - results.previous_start).days + 1]
    allowed += [len(results.rows), *range(1, len(results.rows) + 1)]
    if query.breakdown is not None and query.breakdown.limit is not None:
        allowed.append(query.breakdown.limit)
    return [float(a) for a in allowed]


def date_range(results: QueryResults) -> tuple[date, date]:
    """The dates an answer may mention: from the previous period's start to the end."""
    return (results.previous_start or results.start, results.end)
