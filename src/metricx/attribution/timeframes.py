"""A minimal timeframe resolver for the attribution read side.

PRIVATE STAND-IN: when metricx.metrics.timeframes lands, the lead swaps `resolve` for the
shared resolver. Days are the workspace's local calendar days; `end` is inclusive.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metricx.errors import ValidationFailed

KEYS = (
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "this_month",
    "last_month",
)
MAX_DAYS = 366 * 3


def resolve(
    timeframe: str | None, start: date | None, end: date | None, tz: str, today: date | None = None
) -> tuple[date, date]:
    """(first day, last day) from a timeframe key or explicit dates; 422 naming the field."""
    if start or end:
        if not (start and end):
            raise ValidationFailed("Give both start and end.", fields=["start" if end else "end"])
        if end < start:
            raise ValidationFailed("end is before start.", fields=["end"])
        if (end - start).days > MAX_DAYS:
            raise ValidationFailed("The period is too long.", fields=["start"])
        return start, end
    key = timeframe or "last_30_days"
    now = today or datetime.now(ZoneInfo(tz)).date()
    if key == "today":
        return now, now
    if key == "yesterday":
        return now - timedelta(days=1), now - timedelta(days=1)
    if key in ("last_7_days", "last_30_days", "last_90_days"):
        days = int(key.split("_")[1])
        return now - timedelta(days=days - 1), now
    if key == "this_month":
        return now.replace(day=1), now
    if key == "last_month":
        last = now.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValidationFailed(f"timeframe must be one of {', '.join(KEYS)}.", fields=["timeframe"])


def bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00) in the workspace timezone, as UTC instants."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, time.min, zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return lo, hi
