"""Shopify webhook primitives: signature check and REST order JSON -> OrderRow (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metricx.attribution.channels import parse_landing
from metricx.sync.writer import OrderLineRow, OrderRow

# URL-safe topic slugs (orders-create) and Shopify's own names (orders/create).
TOPICS = (
    "orders/create",
    "orders/paid",
    "orders/updated",
    "refunds/create",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
)
VISITOR_NOTE_KEYS = ("mx_vid", "metricx_visitor_id", "visitor_id", "_mx_vid")


def normalise_topic(value: str | None) -> str | None:
    """'orders-create', 'orders_create' or 'orders/create' -> 'orders/create' (None if unknown)."""
    if not value:
        return None
    raw = value.strip().lower()
    for slug in (raw, raw.replace("-", "/", 1), raw.replace("_", "/", 1)):
        if slug in TOPICS:
            return slug
    return None


def secrets_from(setting: str | None) -> list[bytes]:
    """The current secret first, then older ones (comma separated, during a rotation)."""
    if not setting:
        return []
    return [s.strip().encode() for s in setting.split(",") if s.strip()]


def signature_valid(raw_body: bytes, header: str | None, secrets: list[bytes]) -> bool:
    """base64(HMAC-SHA256(secret, raw body)) equals the header under any accepted secret."""
    if not header or not secrets:
        return False
    try:
        presented = base64.b64decode(header.strip(), validate=True)
    except (ValueError, TypeError):
        return False
    valid = False
    for secret in secrets:
        digest = hmac.new(secret, raw_body, hashlib.sha256).digest()
        # No early exit: every secret is compared, in constant time.
        valid |= hmac.compare_digest(digest, presented)
    return valid


# No real order amount reaches a trillion; past it a value is garbage, and would overflow
# BIGINT micros once summed.
MAX_AMOUNT = Decimal(10) ** 12
MAX_QUANTITY = 10**9
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200


def text(value: Any, limit: int) -> str:
    """A bounded string without NUL (PostgreSQL refuses NUL in text)."""
    return str(value).replace("\x00", "")[:limit]


def items(value: Any) -> list[Any]:
    """A payload list, or [] when the field holds anything else."""
    return value if isinstance(value, list) else []


def obj(value: Any) -> dict[str, Any]:
    """A payload object, or {} when the field holds anything else."""
    return value if isinstance(value, dict) else {}


def micros(value: Any) -> int:
    """'12.34' -> 12_340_000 (exact decimal arithmetic, no float); garbage is 0."""
    if value in (None, "") or isinstance(value, bool | dict | list):
        return 0
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
            return 0
        return int((amount * 1_000_000).to_integral_value())
    except (InvalidOperation, ValueError, OverflowError):
        return 0


def quantity(value: Any) -> int:
    """A line's quantity: a whole number in range, else 1."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 1
    return number if 0 <= number <= MAX_QUANTITY else 1


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 with offset -> aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if EARLIEST_YEAR <= parsed.year <= LATEST_YEAR else None


def email_hash(email: Any) -> str | None:
    """sha256 of the trimmed, lower-cased email (the only form we keep)."""
    if not isinstance(email, str) or "@" not in email:
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def note_attributes(order: dict[str, Any]) -> dict[str, str]:
    """Shopify's [{name, value}] list as a bounded dict."""
    out: dict[str, str] = {}
    for item in items(order.get("note_attributes")):
        if isinstance(item, dict) and item.get("name"):
            out[text(item["name"], 64)] = text(item.get("value") or "", 255)
        if len(out) >= 50:
            break
    return out


def refund_total(refunds: list[Any]) -> int:
    """Sum of successful refund transactions in a list of refund objects."""
    return sum(refund_amount(r) for r in refunds if isinstance(r, dict))


def refund_amount(refund: dict[str, Any]) -> int:
    """Money actually returned by one refund (its successful refund transactions)."""
    total = 0
    for tx in items(refund.get("transactions")):
        if not isinstance(tx, dict):
            continue
        if tx.get("kind") == "refund" and tx.get("status", "success") == "success":
            total += micros(tx.get("amount"))
    return total


def _shipping(order: dict[str, Any]) -> int:
    shop_money = obj(obj(order.get("total_shipping_price_set")).get("shop_money"))
    if shop_money.get("amount") is not None:
        return micros(shop_money.get("amount"))
    return sum(micros(obj(line).get("price")) for line in items(order.get("shipping_lines")))


def _lines(order: dict[str, Any]) -> list[OrderLineRow]:
    lines = []
    for item in items(order.get("line_items")):
        if not isinstance(item, dict) or item.get("id") is None:
            continue
        lines.append(
            OrderLineRow(
                external_id=text(item["id"], 64),
                title=text(item.get("title") or item.get("name") or "", 500),
                quantity=quantity(item.get("quantity") or 1),
                price_micros=micros(item.get("price")),
                product_id=text(item["product_id"], 64) if item.get("product_id") else None,
                variant_id=text(item["variant_id"], 64) if item.get("variant_id") else None,
                sku=(text(item["sku"], 128) if item.get("sku") else None),
            )
        )
    return lines


def order_row(order: dict[str, Any], shop_timezone: str = "UTC") -> OrderRow:
    """Map a REST webhook order to the shared OrderRow (shop money, shop local day)."""
    created = parse_time(order.get("created_at")) or datetime.now(UTC)
    updated = parse_time(order.get("updated_at")) or created
    try:
        zone = ZoneInfo(shop_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    notes = note_attributes(order)
    landing_site = (order.get("landing_site") or None) and text(order["landing_site"], 2048)
    landing = parse_landing(landing_site)
    visitor = next((notes[k] for k in VISITOR_NOTE_KEYS if notes.get(k)), None)

    def click(key: str) -> str | None:
        return landing.clicks.get(key) or (notes.get(key) or None)

    return OrderRow(
        external_id=text(order["id"], 64),
        created_at=created,
        order_date=created.astimezone(zone).date(),
        updated_at=updated,
        currency=text(order.get("currency") or "USD", 3).upper(),
        total_micros=micros(order.get("total_price")),
        subtotal_micros=micros(order.get("subtotal_price")),
        tax_micros=micros(order.get("total_tax")),
        shipping_micros=_shipping(order),
        discounts_micros=micros(order.get("total_discounts")),
        refunded_micros=refund_total(items(order.get("refunds"))),
        order_number=text(order.get("order_number") or order.get("name") or "", 64),
        financial_status=text(order.get("financial_status") or "pending", 32),
        cancelled_at=parse_time(order.get("cancelled_at")),
        is_test=bool(order.get("test")),
        customer_email_hash=email_hash(
            order.get("email") or obj(order.get("customer")).get("email")
        ),
        landing_site=landing_site,
        referring_site=(order.get("referring_site") or None)
        and text(order["referring_site"], 2048),
        source_name=(text(order["source_name"], 64) if order.get("source_name") else None),
        utm_source=landing.utm.get("utm_source"),
        utm_medium=landing.utm.get("utm_medium"),
        utm_campaign=landing.utm.get("utm_campaign"),
        utm_content=landing.utm.get("utm_content"),
        utm_term=landing.utm.get("utm_term"),
        fbclid=click("fbclid"),
        gclid=click("gclid"),
        ttclid=click("ttclid"),
        checkout_token=text(order["checkout_token"], 128) if order.get("checkout_token") else None,
        visitor_id=visitor[:64] if visitor else None,
        note_attributes=notes,
        lines=_lines(order),
    )
