"""Currency conversion at write time from the fx_rates table, and the rates import.

A day's amounts use that day's rate, or the latest earlier rate within FX_LOOKBACK_DAYS.
A pair can be stored either way round (EUR→USD or USD→EUR). No rate means no write: the
caller marks the connection as needing a rate rather than adding different currencies.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.errors import ValidationFailed
from metricx.models import FxRate
from metricx.sync.writer import _insert
from metricx.workspaces.service import CURRENCY_CODES

FX_LOOKBACK_DAYS = 7


class MissingFxRate(Exception):
    """No usable rate for a currency pair on a day."""

    def __init__(self, source: str, target: str, day: date) -> None:
        self.source, self.target, self.day = source, target, day
        super().__init__(
            f"No {source}→{target} exchange rate for {day.isoformat()} or the "
            f"{FX_LOOKBACK_DAYS} days before; import one with `metricx fx import rates.csv`."
        )


@dataclass
class FxConverter:
    """Converts micros from one currency to another for days in a loaded range."""

    source: str
    target: str
    # day -> rate, both directions normalised to source→target
    _rates: dict[date, float]

    @classmethod
    async def load(
        cls, session: AsyncSession, source: str, target: str, start: date, end: date
    ) -> FxConverter:
        """Read every rate of the pair that can serve days in [start, end]."""
        if source == target:
            return cls(source, target, {})
        rows = await session.execute(
            select(FxRate.rate_date, FxRate.base_currency, FxRate.rate).where(
                FxRate.rate_date.between(start - timedelta(days=FX_LOOKBACK_DAYS), end),
                or_(
                    and_(FxRate.base_currency == source, FxRate.quote_currency == target),
                    and_(FxRate.base_currency == target, FxRate.quote_currency == source),
                ),
            )
        )
        rates: dict[date, float] = {}
        for day, base, rate in rows.all():
            if rate <= 0:
                continue
            value = rate if base == source else 1.0 / rate
            # A direct quote wins over an inverted one for the same day.
            if base == source or day not in rates:
                rates[day] = value
        return cls(source, target, rates)

    def rate(self, day: date) -> float:
        """The rate serving `day`, or MissingFxRate."""
        if self.source == self.target:
            return 1.0
        for back in range(FX_LOOKBACK_DAYS + 1):
            found = self._rates.get(day - timedelta(days=back))
            if found is not None:
                return found
        raise MissingFxRate(self.source, self.target, day)

    def convert(self, micros: int, day: date) -> int:
        """`micros` in source currency on `day`, in target-currency micros."""
        if self.source == self.target:
            return micros
        return round(micros * self.rate(day))


@dataclass(slots=True)
class RateRow:
    """One validated line of a rates file."""

    rate_date: date
    base: str
    quote: str
    rate: float


def parse_rates_csv(data: str) -> list[RateRow]:
    """Parse `date,base,quote,rate`; every bad line is reported with its number."""
    reader = csv.DictReader(io.StringIO(data))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = {"date", "base", "quote", "rate"} - set(header)
    if missing:
        raise ValidationFailed(
            f"The rates file needs the columns date,base,quote,rate (missing: "
            f"{', '.join(sorted(missing))}).",
            fields=sorted(missing),
        )
    reader.fieldnames = header
    rows: dict[tuple[date, str, str], RateRow] = {}
    errors: list[str] = []
    for line_no, raw in enumerate(reader, start=2):
        try:
            day = date.fromisoformat((raw.get("date") or "").strip())
        except ValueError:
            errors.append(f"line {line_no}: date must be YYYY-MM-DD")
            continue
        base = (raw.get("base") or "").strip().upper()
        quote = (raw.get("quote") or "").strip().upper()
        if base not in CURRENCY_CODES or quote not in CURRENCY_CODES or base == quote:
            errors.append(f"line {line_no}: base and quote must be two different ISO currencies")
            continue
        try:
            rate = Decimal((raw.get("rate") or "").strip())
        except InvalidOperation:
            rate = Decimal(-1)
        if not rate.is_finite() or rate <= 0:
            errors.append(f"line {line_no}: rate must be a positive number")
            continue
        rows[(day, base, quote)] = RateRow(day, base, quote, float(rate))
    if errors:
        raise ValidationFailed(
            f"{len(errors)} invalid line(s): " + "; ".join(errors[:20]), fields=["rate_file"]
        )
    return list(rows.values())


async def upsert_rates(session: AsyncSession, rows: list[RateRow]) -> int:
    """Insert or replace rates (idempotent)."""
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        stmt = _insert(session, FxRate).values(
            [
                {
                    "rate_date": r.rate_date,
                    "base_currency": r.base,
                    "quote_currency": r.quote,
                    "rate": r.rate,
                }
                for r in chunk
            ]
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["rate_date", "base_currency", "quote_currency"],
            set_={"rate": stmt.excluded.rate},
        )
        await session.execute(stmt)
    return len(rows)
