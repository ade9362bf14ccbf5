"""Timeframe phrases to a semantic timeframe, relative to the workspace-local `today`.

Rules (all periods inclusive):
- "last/past N days" ends yesterday, the same convention as the engine's last_7_days (the N
  complete days before today); N of 7, 30 or 90 becomes the named key, any other N explicit
  dates. "N weeks" is 7N days; "N months" is 30N days; "past month" is last_30_days.
- Weeks start on Monday: "this week" is Monday..today, "last week" the previous Monday..Sunday.
- A named month ("in March", "March 2026") is its first..last day, clipped to today; without a
  year it is the most recent such month that has started.
- "since <date>" runs to today; "this year"/"ytd" is Jan 1..today; "last year" the previous
  calendar year. Day-month dates without a year take the most recent past occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from metricx.insights.lexicon import NUMBER, to_int
from metricx.insights.semantic import Timeframe

MONTHS = {
    name: i
    for i in range(1, 13)
    for name in {calendar.month_name[i].lower(), calendar.month_abbr[i].lower()}
}
MONTHS["sept"] = 9
_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
# A date: ISO, "March 3[, 2026]" or "3 March [2026]".
_DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH} {_DAY}(?:,? {_YEAR})?|{_DAY} (?:of )?{_MONTH}"
    rf"(?:,? {_YEAR})?)"
)
_KEYS_BY_DAYS = {7: "last_7_days", 30: "last_30_days", 90: "last_90_days"}


@dataclass(frozen=True)
class Found:
    timeframe: Timeframe
    span: tuple[int, int]


class DateError(ValueError):
    """A date phrase was recognised but names no valid period."""


def _last_days(today: date, days: int) -> Timeframe:
    if days in _KEYS_BY_DAYS:
        return Timeframe.named(_KEYS_BY_DAYS[days])
    if days < 1:
        raise DateError("a period needs at least one day")
    return Timeframe.between(today - timedelta(days=days), today - timedelta(days=1))


def _parse_date(text: str, today: date) -> date:
    text = text.strip().replace(",", "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    words = text.replace(" of ", " ").split()
    year = int(words[-1]) if re.fullmatch(_YEAR, words[-1]) else None
    if year is not None:
        words = words[:-1]
    if words[0].rstrip(".") in MONTHS:
        month, day = MONTHS[words[0].rstrip(".")], int(re.sub(r"\D", "", words[1]))
    else:
        day, month = int(re.sub(r"\D", "", words[0])), MONTHS[words[1].rstrip(".")]
    if year is None:
        year = today.year
        if date(year, month, min(day, 28)) > today:
            year -= 1
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateError(f"{text!r} is not a date") from exc


def _month(today: date, month: int, year: int | None) -> Timeframe:
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    first = date(year, month, 1)
    if first > today:
        raise DateError("that month has not started yet")
    last = date(year, month, calendar.monthrange(year, month)[1])
    return Timeframe.between(first, min(last, today))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def find_timeframe(text: str, today: date) -> Found | None:
    """The first timeframe phrase in `text` (lower-cased), or None."""
    for pattern, build in _RULES:
        match = re.search(pattern, text)
        if match:
            return Found(build(match, today), match.span())
    return None


def _between(m: re.Match[str], today: date) -> Timeframe:
    start, end = _parse_date(m["a"], today), _parse_date(m["b"], today)
    if start > end and start.year == end.year and not re.search(_YEAR, m["a"]):
        start = start.replace(year=start.year - 1)
    return Timeframe.between(start, end)


def _this_year(today: date) -> Timeframe:
    return Timeframe.between(date(today.year, 1, 1), today)


def _last_year(today: date) -> Timeframe:
    return Timeframe.between(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))


_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}

_RULES: tuple[tuple[str, Callable[[re.Match[str], date], Timeframe]], ...] = (
    (
        rf"\b(?:from|between) (?P<a>{_DATE}) (?:to|and|until|through|-) (?P<b>{_DATE})\b",
        _between,
    ),
    (
        rf"\b(?:since|from|starting) (?P<a>{_DATE})\b",
        lambda m, t: Timeframe.between(_parse_date(m["a"], t), t),
    ),
    (
        rf"\bon (?P<a>{_DATE})\b|\b(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})\b",
        lambda m, t: Timeframe.between(*[_parse_date(m["a"] or m["iso"], t)] * 2),
    ),
    (r"\btoday\b|\bso far today\b", lambda m, t: Timeframe.named("today")),
    (r"\byesterday\b", lambda m, t: Timeframe.named("yesterday")),
    (
        r"\b(?:this|current) week\b|\bweek to date\b|\bwtd\b",
        lambda m, t: Timeframe.between(_week_start(t), t),
    ),
    (
        r"\b(?:last|previous|prior) week\b",
        lambda m, t: Timeframe.between(
            _week_start(t) - timedelta(days=7), _week_start(t) - timedelta(days=1)
        ),
    ),
    (
        rf"\b(?:last|past|previous|prior|trailing)\s+(?P<n>{NUMBER})\s+(?P<unit>day|week|month)s?\b",
        lambda m, t: _last_days(t, to_int(m["n"]) * _UNIT_DAYS[m["unit"]]),
    ),
    (
        r"\b(?:the )?(?:last|past) (?:fortnight|couple (?:of )?weeks)\b",
        lambda m, t: _last_days(t, 14),
    ),
    (r"\b(?:past|last) (?:week|seven days)\b", lambda m, t: _last_days(t, 7)),
    (r"\bpast month\b", lambda m, t: _last_days(t, 30)),
    (
        r"\b(?:this|current) month\b|\bmonth to date\b|\bmtd\b",
        lambda m, t: Timeframe.named("this_month"),
    ),
    (r"\b(?:last|previous|prior) month\b", lambda m, t: Timeframe.named("last_month")),
    (r"\b(?:this|current) year\b|\byear to date\b|\bytd\b", lambda m, t: _this_year(t)),
    (r"\b(?:last|previous|prior) year\b", lambda m, t: _last_year(t)),
    (
        rf"\b(?:in|during|for|of|over)\s+(?:the month of )?(?P<month>{_MONTH})"
        rf"(?:\s+(?P<year>{_YEAR}))?\b"
        rf"|\b(?P<month2>{_MONTH})\s+(?P<year2>{_YEAR})\b",
        lambda m, t: _month(
            t,
            MONTHS[(m["month"] or m["month2"]).rstrip(".")],
            int(m["year"] or m["year2"]) if (m["year"] or m["year2"]) else None,
        ),
    ),
    (
        r"\b(?P<month>january|february|march|april|june|july|august|september|october"
        r"|november|december)\b",
        lambda m, t: _month(t, MONTHS[m["month"]], None),
    ),
)

# Time words that, left over after parsing, mean a period we do not understand.
UNKNOWN_TIME = (
    r"\bq[1-4]\b|\bquarters?\b|\btomorrow\b|\bnext (?:week|month|year|quarter)\b"
    r"|\b(?:19|20)\d{2}\b|\bhours?\b|\bweekends?\b|\blast time\b|\bforecast\b|\bpredict"
    r"|\bholidays?\b|\bblack friday\b|\bcyber monday\b"
)
