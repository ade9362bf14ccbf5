"""Which days a sync reads: a 90-day backfill first, then the provider's restatement window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Days whose numbers the provider may still change (PROVIDERS.md "Restatement").
RESTATEMENT_DAYS = {"meta": 28, "google": 14, "tiktok": 3, "shopify": 30}
DEFAULT_RESTATEMENT_DAYS = 7
BACKFILL_DAYS = 90
CHUNK_DAYS = {"shopify": 3}
DEFAULT_CHUNK_DAYS = 7


def _int_setting(settings: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = settings.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, number))


def local_today(now: datetime, timezone: str) -> date:
    """The calendar day it is in the account's timezone."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def restatement_days(provider: str, settings: dict[str, Any]) -> int:
    """The trailing days re-read on every incremental run (connection settings may override)."""
    default = RESTATEMENT_DAYS.get(provider, DEFAULT_RESTATEMENT_DAYS)
    return _int_setting(settings, "restatement_days", default, 1, 400)


def sync_range(
    provider: str, settings: dict[str, Any], backfilled_through: datetime | None, today: date
) -> tuple[date, date]:
    """[start, end] local days for this run: backfill first, then gap + restatement window."""
    if backfilled_through is None:
        days = _int_setting(settings, "backfill_days", BACKFILL_DAYS, 1, 3 * 366)
        return today - timedelta(days=days - 1), today
    covered = backfilled_through.astimezone(UTC).date()
    window_start = today - timedelta(days=restatement_days(provider, settings) - 1)
    return min(covered + timedelta(days=1), window_start), today


def chunk_range(
    start: date, end: date, provider: str, settings: dict[str, Any]
) -> list[tuple[date, date]]:
    """Split [start, end] into consecutive windows, each written in one transaction."""
    size = _int_setting(settings, "chunk_days", CHUNK_DAYS.get(provider, DEFAULT_CHUNK_DAYS), 1, 92)
    out: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=size - 1))
        out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out


def as_marker(day: date) -> datetime:
    """A local day stored in a UTC timestamp column (midnight UTC of that date)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
