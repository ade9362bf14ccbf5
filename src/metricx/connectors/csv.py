"""CSV import for any ad platform: parse and validate a whole file into typed rows.

Columns (header names, any order, case-insensitive; `,` `;` or tab separated, UTF-8):

  required  date (YYYY-MM-DD, the account's local day), campaign_id, spend
  optional  platform (default "csv"), campaign_name, adset_id, adset_name, ad_id, ad_name,
            impressions, clicks, conversions, revenue, currency (default: the connection's)

A row's level is its most detailed id (ad_id, else adset_id, else campaign_id); one campaign
uses one level in the whole file, so totals never count a campaign and its ads twice.
Every row is checked; any error makes the whole file invalid (nothing is written), and
each error names its line. Pure CPU work with no I/O: the caller runs it in a thread.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from metricx.errors import ValidationFailed
from metricx.sync.writer import EntityRow
from metricx.workspaces.service import CURRENCY_CODES

REQUIRED = ("date", "campaign_id", "spend")
OPTIONAL = (
    "platform",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "impressions",
    "clicks",
    "conversions",
    "revenue",
    "currency",
)
PLATFORM = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
MAX_MONEY = Decimal(10) ** 12
MAX_ERRORS_SHOWN = 100
MAX_ID = 128


@dataclass(slots=True)
class CsvFact:
    """One validated row: a leaf entity's day, money in micros of `currency`."""

    line: int
    platform: str
    level: str
    external_id: str
    event_date: date
    currency: str
    spend_micros: int
    revenue_micros: int
    impressions: int
    clicks: int
    conversions: float


@dataclass
class ParsedCsv:
    """A valid file: entities per platform and the facts."""

    entities: dict[str, list[EntityRow]] = field(default_factory=dict)
    facts: list[CsvFact] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


class CsvInvalid(ValidationFailed):
    """The file has errors; nothing was imported."""

    def __init__(self, errors: list[dict[str, object]], total: int) -> None:
        first = errors[0]
        super().__init__(
            f"The file has {total} error(s); nothing was imported. First: line "
            f"{first['line']}, {first['column']}: {first['message']}",
            fields=sorted({str(e["column"]) for e in errors}),
            errors=errors,
            error_count=total,
        )
        self.errors = errors


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _money(text: str) -> int:
    value = Decimal(text)
    if not value.is_finite() or value < 0 or value >= MAX_MONEY:
        raise InvalidOperation
    return int((value * 1_000_000).to_integral_value())


def _count(text: str) -> int:
    value = Decimal(text)
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise InvalidOperation
    return int(value)


def _float(text: str) -> float:
    value = Decimal(text)
    # Bounded like money: 1e400 is a finite Decimal but an infinite float.
    if not value.is_finite() or value < 0 or value >= MAX_MONEY:
        raise InvalidOperation
    return float(value)


class _Checker:
    """Collects errors and the cross-row rules (levels, parents, duplicates)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, object]] = []
        self.total = 0
        self.campaign_level: dict[tuple[str, str], tuple[str, int]] = {}
        self.owner: dict[tuple[str, str], tuple[str, str | None, int]] = {}
        self.seen: dict[tuple[str, str, date], int] = {}
        self.names: dict[tuple[str, str, str], EntityRow] = {}

    def error(self, line: int, column: str, message: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append({"line": line, "column": column, "message": message})

    def entity(
        self, line: int, platform: str, level: str, ext: str, name: str, parent: tuple | None
    ) -> None:
        """Register an entity; the same id must keep its platform and parent."""
        key = (level, ext)
        parent_ext = parent[1] if parent else None
        known = self.owner.get(key)
        if known is None:
            self.owner[key] = (platform, parent_ext, line)
        elif known[0] != platform:
            self.error(line, f"{level}_id", f"{ext!r} is {known[0]} on line {known[2]}")
            return
        elif known[1] != parent_ext:
            self.error(line, f"{level}_id", f"{ext!r} has another parent on line {known[2]}")
            return
        row = self.names.get((platform, level, ext))
        if row is None:
            self.names[(platform, level, ext)] = EntityRow(
                level,
                ext,
                name or ext,
                parent_level=parent[0] if parent else None,
                parent_external_id=parent_ext,
            )
        elif name:
            row.name = name


def parse_ad_csv(data: bytes, *, default_currency: str) -> ParsedCsv:
    """Validate the whole file and return its rows, or raise CsvInvalid listing the errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvInvalid(
            [{"line": 1, "column": "file", "message": f"not UTF-8 text ({exc.reason})"}], 1
        ) from exc
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvInvalid(
            [{"line": 1, "column": c, "message": "required column is missing"} for c in missing],
            len(missing),
        )
    reader.fieldnames = header
    out = ParsedCsv(ignored_columns=[h for h in header if h not in REQUIRED + OPTIONAL])
    check = _Checker()
    for raw in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in raw.items() if k is not None):
            continue  # blank line
        fact = _row(raw, line, default_currency, check)
        if fact is not None:
            out.facts.append(fact)
    if not out.facts and not check.total:
        check.error(1, "file", "the file has no data rows")
    if check.total:
        raise CsvInvalid(check.errors, check.total)
    for (platform, _level, _ext), row in check.names.items():
        out.entities.setdefault(platform, []).append(row)
    return out


def _row(
    raw: dict[str | None, str | None], line: int, default_currency: str, check: _Checker
) -> CsvFact | None:
    def get(column: str) -> str:
        return (raw.get(column) or "").strip()

    before = check.total
    platform = get("platform").lower() or "csv"
    if not PLATFORM.match(platform):
        check.error(line, "platform", "use a short lowercase name like meta, google or tiktok")
    try:
        day = date.fromisoformat(get("date"))
    except ValueError:
        check.error(line, "date", f"{get('date')!r} is not a date in YYYY-MM-DD form")
        day = None
    ids = {c: get(c) for c in ("campaign_id", "adset_id", "ad_id")}
    for column, value in ids.items():
        if len(value) > MAX_ID:
            check.error(line, column, f"ids are at most {MAX_ID} characters")
    if not ids["campaign_id"]:
        check.error(line, "campaign_id", "is required")
    currency = (get("currency") or default_currency).upper()
    if currency not in CURRENCY_CODES:
        check.error(line, "currency", f"{currency!r} is not a supported ISO currency code")
    values: dict[str, object] = {}
    parsers = (
        ("spend", _money, True),
        ("revenue", _money, False),
        ("impressions", _count, False),
        ("clicks", _count, False),
        ("conversions", _float, False),
    )
    for column, parse, required in parsers:
        text = get(column).replace(" ", "")
        if not text:
            if required:
                check.error(line, column, "is required")
            values[column] = 0
            continue
        try:
            values[column] = parse(text)
        except (InvalidOperation, ValueError):
            kind = "a whole number" if parse is _count else "a number"
            check.error(line, column, f"{get(column)!r} is not {kind} ≥ 0 (use . for decimals)")
    if check.total > before or day is None:
        return None
    level = "ad" if ids["ad_id"] else "adset" if ids["adset_id"] else "campaign"
    campaign = ids["campaign_id"]
    seen_level = check.campaign_level.setdefault((platform, campaign), (level, line))
    if seen_level[0] != level:
        check.error(
            line,
            f"{level}_id",
            f"campaign {campaign!r} has {seen_level[0]}-level rows (line {seen_level[1]}); "
            "use one level per campaign so nothing is counted twice",
        )
        return None
    check.entity(line, platform, "campaign", campaign, get("campaign_name"), None)
    parent: tuple[str, str] = ("campaign", campaign)
    if ids["adset_id"]:
        check.entity(line, platform, "adset", ids["adset_id"], get("adset_name"), parent)
        parent = ("adset", ids["adset_id"])
    if ids["ad_id"]:
        check.entity(line, platform, "ad", ids["ad_id"], get("ad_name"), parent)
    leaf = ids["ad_id"] or ids["adset_id"] or campaign
    first = check.seen.setdefault((level, leaf, day), line)
    if first != line:
        check.error(line, "date", f"duplicate row for {level} {leaf!r} on {day} (line {first})")
    if check.total > before:
        return None
    return CsvFact(
        line=line,
        platform=platform,
        level=level,
        external_id=leaf,
        event_date=day,
        currency=currency,
        spend_micros=int(values["spend"]),  # type: ignore[call-overload]
        revenue_micros=int(values["revenue"]),  # type: ignore[call-overload]
        impressions=int(values["impressions"]),  # type: ignore[call-overload]
        clicks=int(values["clicks"]),  # type: ignore[call-overload]
        conversions=float(values["conversions"]),  # type: ignore[arg-type]
    )
