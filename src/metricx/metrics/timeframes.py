"""Timeframes resolved in the workspace timezone, each with an equally long previous period.

Decisions:
- "today" is today's date in the workspace timezone, so a workspace in UTC+13 is on a
  different day than UTC for part of every day.
- last_N_days is the N complete days ending yesterday (what ad platforms call "Last 7
  days"): a partial today would make every comparison look like a drop.
- this_month is month to date (the 1st through today); last_month is the whole previous
  calendar month.
- custom: inclusive ISO dates, start <= end, at most 731 days.
- The previous period always has the same number of days and ends the day before the
  current one starts (for last_month too, so March vs the 31 days before it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metricx.errors import ValidationFailed

Clock = Callable[[], datetime]

MAX_DAYS = 731
DEFAULT_TIMEFRAME = "last_7_days"
PRESETS = (
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "this_month",
    "last_month",
)
TIMEFRAME_KEYS = (*PRESETS, "custom")


def system_clock() -> datetime:
    """The real time, timezone-aware in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A resolved period and its previous period, both inclusive local dates."""

    key: str
    start: date
    end: date
    previous_start: date
    previous_end: date

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous_dates(self) -> list[date]:
        """Every day of the previous period, in order."""
        return [self.previous_start + timedelta(days=i) for i in range(self.days)]

    def to_dict(self) -> dict[str, str]:
        """The public shape: key and both periods as ISO dates."""
        return {
            "key": self.key,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "previous_start": self.previous_start.isoformat(),
            "previous_end": self.previous_end.isoformat(),
        }


def local_today(tz: str, clock: Clock = system_clock) -> date:
    """Today's date in the timezone `tz`."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return clock().astimezone(zone).date()


def _period(key: str, start: date, end: date) -> Timeframe:
    length = end - start + timedelta(days=1)
    previous_end = start - timedelta(days=1)
    return Timeframe(key, start, end, previous_end - length + timedelta(days=1), previous_end)


def _parse_date(value: date | str | None, field: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError) as exc:
        raise ValidationFailed(
            f"{field} must be an ISO date (YYYY-MM-DD).", fields=[field]
        ) from exc


def resolve(
    key: str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    *,
    tz: str = "UTC",
    clock: Clock = system_clock,
) -> Timeframe:
    """Resolve a preset key or a custom start/end into a Timeframe; 422 naming the field."""
    start_d = _parse_date(start, "start")
    end_d = _parse_date(end, "end")
    if start_d is not None or end_d is not None or key == "custom":
        if key not in (None, "custom"):
            raise ValidationFailed(
                "Give either a timeframe or start and end, not both.", fields=["timeframe"]
            )
        if start_d is None:
            raise ValidationFailed("A custom timeframe needs start.", fields=["start"])
        if end_d is None:
            raise ValidationFailed("A custom timeframe needs end.", fields=["end"])
        if start_d > end_d:
            raise ValidationFailed("start must be on or before end.", fields=["start"])
        if (end_d - start_d).days + 1 > MAX_DAYS:
            raise ValidationFailed(f"A timeframe spans at most {MAX_DAYS} days.", fields=["end"])
        if start_d.year < 1971 or end_d.year > 9998:
            raise ValidationFailed("Dates must fall between 1971 and 9998.", fields=["start"])
        return _period("custom", start_d, end_d)
    key = key or DEFAULT_TIMEFRAME
    today = local_today(tz, clock)
    yesterday = today - timedelta(days=1)
    if key == "today":
        return _period(key, today, today)
    if key == "yesterday":
        return _period(key, yesterday, yesterday)
    if key in ("last_7_days", "last_30_days", "last_90_days"):
        n = int(key.split("_")[1])
        return _period(key, yesterday - timedelta(days=n - 1), yesterday)
    if key == "this_month":
        return _period(key, today.replace(day=1), today)
    if key == "last_month":
        end_d = today.replace(day=1) - timedelta(days=1)
        return _period(key, end_d.replace(day=1), end_d)
    known = ", ".join(TIMEFRAME_KEYS)
    raise ValidationFailed(f"Unknown timeframe {key!r}; known: {known}.", fields=["timeframe"])
