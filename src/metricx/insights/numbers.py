"""Formatting numbers for answers, and checking that a text only uses numbers it was given.

`unverified_numbers` is the guard on the LLM's phrasing: every number in the text must equal
an allowed number after rounding to the precision the text shows, with currency symbols,
thousands separators, signs, percent signs and k/M suffixes tolerated.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from metricx.insights.catalog import Unit

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?:\s?(?P<scale>k|m|mn|bn|thousand|million)\b)?(?P<pct>\s?%)?",
    re.IGNORECASE,
)


def as_float(value: int | float | Decimal | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_value(value: int | float | Decimal | None, unit: Unit, currency: str = "USD") -> str:
    """How a metric value is displayed in answers and visuals."""
    number = as_float(value)
    if number is None:
        return "n/a"
    if unit == "currency":
        symbol = CURRENCY_SYMBOLS.get(currency)
        text = f"{abs(number):,.2f}"
        sign = "-" if number < 0 else ""
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
    if unit == "count":
        return f"{number:,.0f}"
    if unit == "percent":
        return f"{number * 100:.2f}%"
    return f"{number:,.2f}"


def format_pct(value: float) -> str:
    return f"{abs(value):.1f}%"


def format_day(day: date, with_year: bool = False) -> str:
    text = f"{day:%b} {day.day}"
    return f"{text}, {day.year}" if with_year else text


def delta_pct(current: float | None, previous: float | None) -> float | None:
    """Percent change, None when either side is missing or the previous value is zero."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100


_MONTH_NAMES = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
_DATE_TEXT = re.compile(
    rf"\b(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
    rf"|(?P<m1>{_MONTH_NAMES})\.? (?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,? (?P<y1>\d{{4}}))?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<m2>{_MONTH_NAMES})\.?"
    rf"(?:,? (?P<y2>\d{{4}}))?)\b",
    re.IGNORECASE,
)
_MONTH_NUMBER = {
    name: i
    for i in range(1, 13)
    for name in (calendar.month_name[i].lower(), calendar.month_abbr[i].lower())
}
_MONTH_NUMBER["sept"] = 9


def strip_dates(text: str, first: date, last: date) -> str:
    """Remove mentions of calendar dates between `first` and `last` (inclusive).

    A date outside the range stays, so its numbers fail verification like any other.
    """

    def keep_or_drop(match: re.Match[str]) -> str:
        try:
            if match["iso"]:
                day = date.fromisoformat(match["iso"])
            else:
                month = _MONTH_NUMBER[(match["m1"] or match["m2"]).lower()]
                dom = int(match["d1"] or match["d2"])
                year = match["y1"] or match["y2"]
                years = [int(year)] if year else list(range(first.year, last.year + 1))
                candidates = [date(y, month, dom) for y in years]
                day = next((c for c in candidates if first <= c <= last), candidates[0])
        except ValueError:
            return match.group()
        return " " if first <= day <= last else match.group()

    return _DATE_TEXT.sub(keep_or_drop, text)


def numbers_in(text: str) -> list[tuple[str, float, float]]:
    """Each number in `text` as (as written, value, tolerance from its displayed precision)."""
    found = []
    for match in _NUMBER.finditer(text):
        digits = match["int"].replace(",", "")
        frac = match["frac"] or ""
        value = float(f"{digits}.{frac}" if frac else digits)
        tolerance = 0.5 * 10 ** -len(frac)
        scale = _SCALES.get((match["scale"] or "").lower(), 1.0)
        found.append((match.group().strip(), value * scale, tolerance * scale))
    return found


def unverified_numbers(text: str, allowed: Iterable[float]) -> list[str]:
    """The numbers in `text` that match none of `allowed` (compared by absolute value)."""
    pool = sorted({abs(a) for a in allowed if a is not None and math.isfinite(a)})
    bad = []
    for written, value, tolerance in numbers_in(text):
        slack = tolerance + 1e-9 * max(1.0, value)
        if not any(abs(value - a) <= slack for a in pool):
            bad.append(written)
    return bad
