"""Number, money, date and delta formatting for the pages (server-side, one place)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

DASH = "—"

CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
    "MXN": "MX$",
    "BRL": "R$",
    "CHF": "CHF ",
    "SEK": "kr ",
    "NOK": "kr ",
    "DKK": "kr ",
    "PLN": "zł ",
    "TRY": "₺",
    "ILS": "₪",
    "THB": "฿",
    "PHP": "₱",
    "VND": "₫",
    "UAH": "₴",
    "NGN": "₦",
    "ZAR": "R ",
}
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "IDR", "HUF", "TWD", "COP"})

PROVIDER_LABELS = {
    "meta": "Meta",
    "google": "Google Ads",
    "tiktok": "TikTok",
    "shopify": "Shopify",
    "csv": "CSV import",
    "direct": "Direct",
    "organic": "Organic",
    "email": "Email",
}


def to_number(value: Any) -> float | None:
    """A float from an int, float, Decimal or numeric string; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value == value else None  # NaN is not a number to show
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def symbol(currency: str | None) -> str:
    """The display prefix for a currency code."""
    code = (currency or "USD").upper()
    return CURRENCY_SYMBOLS.get(code, code + " ")


def money(value: Any, currency: str | None = "USD", *, compact: bool = False) -> str:
    """`$12,345.67`; compact `$12.3k`; None renders as a dash."""
    number = to_number(value)
    if number is None:
        return DASH
    sign = "-" if number < 0 else ""
    number = abs(number)
    prefix = symbol(currency)
    if compact:
        return sign + prefix + _compact(number)
    digits = 0 if (currency or "").upper() in ZERO_DECIMAL else 2
    # Decimal half-up on the decimal text: cents render as a person would round them.
    exact = Decimal(str(value)).copy_abs().quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    return f"{sign}{prefix}{exact:,.{digits}f}"


def _compact(number: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if number >= limit:
            scaled = number / limit
            return f"{scaled:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"{number:,.0f}" if number >= 10 else f"{number:,.2f}".rstrip("0").rstrip(".")


def count(value: Any) -> str:
    """Grouped integer, or one decimal for fractional counts (conversions)."""
    number = to_number(value)
    if number is None:
        return DASH
    if abs(number - round(number)) < 0.05:
        return f"{round(number):,}"
    return f"{number:,.1f}"


def ratio(value: Any) -> str:
    """ROAS-style multiples: `3.21` followed by a multiplication sign."""
    number = to_number(value)
    return DASH if number is None else f"{number:,.2f}\u00d7"


def percent(value: Any, digits: int = 1) -> str:
    """A fraction (0.123) as `12.3%`."""
    number = to_number(value)
    return DASH if number is None else f"{number * 100:,.{digits}f}%"


def percent_points(value: Any, digits: int = 2) -> str:
    """A registry percent metric, already multiplied by 100 (CTR 1.25 is `1.25%`)."""
    number = to_number(value)
    return DASH if number is None else f"{number:,.{digits}f}%"


def metric(value: Any, unit: str | None, currency: str | None = "USD") -> str:
    """Format a value by the metric registry's unit."""
    if unit == "currency":
        return money(value, currency)
    if unit == "ratio":
        return ratio(value)
    if unit == "percent":
        return percent_points(value)
    return count(value)


def delta(delta_pct: Any, direction: str | None) -> dict[str, str]:
    """Text and tone of a change against the previous period; a drop in CPA is good."""
    number = to_number(delta_pct)
    if number is None:
        return {"text": DASH, "tone": "neutral", "arrow": "", "label": "no previous value"}
    if abs(number) < 0.05:
        return {"text": "0.0%", "tone": "neutral", "arrow": "→", "label": "unchanged"}
    better = number > 0 if direction != "lower" else number < 0
    return {
        "text": f"{number:+,.1f}%",
        "tone": "good" if better else "bad",
        "arrow": "▲" if number > 0 else "▼",
        "label": "better than the previous period" if better else "worse than the previous period",
    }


def provider(value: Any) -> str:
    """Human name of a provider or channel key."""
    key = str(value or "")
    return PROVIDER_LABELS.get(key, key.replace("_", " ").title() or DASH)


def parse_when(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime or ISO string."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str) and value:
        try:
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def ago(value: Any, now: datetime | None = None) -> str:
    """`4 min ago`, `3 h ago`, `2 days ago`; `never` for no value."""
    when = parse_when(value)
    if when is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def short_date(value: Any) -> str:
    """`Nov 3` from a date or ISO date string."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, date):
        return f"{value:%b} {value.day}"
    return DASH


def long_date(value: Any) -> str:
    """`Nov 3, 2026`."""
    text = short_date(value)
    if isinstance(value, str) and len(value) >= 4 and text != value:
        return f"{text}, {value[:4]}"
    if isinstance(value, date):
        return f"{text}, {value.year}"
    return text
