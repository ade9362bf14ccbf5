"""Shopify order nodes (GraphQL or bulk JSONL) → OrderRow, and the queries that fetch them.

Decisions that shape the numbers:
- Ids are the numeric tail of the GraphQL gid, so rows match the REST ids in webhooks.
- Money is the shop-currency side (`shopMoney`) of each MoneyBag; presentment currency is
  not mixed in. Line `price_micros` and `cogs_micros` are line totals (unit price or
  cost times quantity), so an order's COGS is the sum of its lines.
- UTMs and click ids: the journey's last visit (then the first), its `utmParameters`
  first, then the landing page's query string; click ids and a visitor id may also come
  from cart attributes (`customAttributes`) set by a storefront script.
- The customer's email is kept only as sha256 of its trimmed, lower-cased form.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from metricx.connectors._http import to_micros
from metricx.sync.writer import OrderLineRow, OrderRow

VISITOR_KEYS = ("_metricx_vid", "metricx_vid", "_metricx_visitor_id", "visitor_id", "_visitor_id")
CLICK_IDS = ("fbclid", "gclid", "ttclid")
UTM_KEYS = ("source", "medium", "campaign", "content", "term")

_MONEY = "shopMoney { amount currencyCode }"
_VISIT = "landingPage referrerUrl source sourceType utmParameters { " + " ".join(UTM_KEYS) + " }"
_ORDER_SCALARS = f"""
  id name createdAt updatedAt processedAt cancelledAt test displayFinancialStatus
  currencyCode email sourceName
  totalPriceSet {{ {_MONEY} }}
  subtotalPriceSet {{ {_MONEY} }}
  totalTaxSet {{ {_MONEY} }}
  totalShippingPriceSet {{ {_MONEY} }}
  totalDiscountsSet {{ {_MONEY} }}
  totalRefundedSet {{ {_MONEY} }}
  customAttributes {{ key value }}
  customerJourneySummary {{ ready firstVisit {{ {_VISIT} }} lastVisit {{ {_VISIT} }} }}
"""
_LINE = f"""
  id title quantity sku
  variant {{ id inventoryItem {{ unitCost {{ amount currencyCode }} }} }}
  originalUnitPriceSet {{ {_MONEY} }}
"""

# Paged query: ~85 points per order with 10 lines, so 10 orders stay under the 1,000-point
# single-query ceiling; orders with more lines are completed by LINES_QUERY.
ORDERS_QUERY = f"""
query Orders($first: Int!, $after: String, $query: String!, $lines: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {_ORDER_SCALARS}
      lineItems(first: $lines) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE} }} }}
    }}
  }}
}}
"""
LINES_QUERY = f"""
query OrderLines($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: 50, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {_LINE} }}
    }}
  }}
}}
"""
SHOP_QUERY = "query Shop { shop { name currencyCode ianaTimezone myshopifyDomain } }"
BULK_INNER = f"""
{{
  orders(query: "__FILTER__") {{
    edges {{ node {{
      {_ORDER_SCALARS}
      lineItems {{ edges {{ node {{ {_LINE} }} }} }}
    }} }}
  }}
}}
"""
BULK_RUN = """
mutation Bulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""
BULK_POLL = """
query BulkStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl }
  }
}
"""


def numeric_id(gid: str | None) -> str:
    """gid://shopify/Order/123 → "123" (REST and webhook ids)."""
    return str(gid or "").rsplit("/", 1)[-1]


def email_hash(email: str | None) -> str | None:
    """sha256 of the trimmed, lower-cased email; the address itself is never kept."""
    if not email or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _money(bag: dict[str, Any] | None) -> tuple[int, str | None]:
    shop = (bag or {}).get("shopMoney") or {}
    return to_micros(shop.get("amount")), shop.get("currencyCode")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def parse_line(node: dict[str, Any]) -> OrderLineRow:
    """A line item node → OrderLineRow (totals for the line's quantity)."""
    quantity = int(node.get("quantity") or 0)
    unit_price, _ = _money(node.get("originalUnitPriceSet"))
    variant = node.get("variant") or {}
    unit_cost = ((variant.get("inventoryItem") or {}).get("unitCost") or {}).get("amount")
    return OrderLineRow(
        external_id=numeric_id(node.get("id")),
        title=node.get("title") or "",
        quantity=quantity,
        price_micros=unit_price * quantity,
        cogs_micros=to_micros(unit_cost) * quantity,
        variant_id=numeric_id(variant.get("id")) if variant.get("id") else None,
        sku=node.get("sku") or None,
    )


def _query_params(url: str | None) -> dict[str, str]:
    if not url:
        return {}
    query = urlsplit(url).query
    return {k: v[0] for k, v in parse_qs(query).items() if v and v[0]}


def parse_order(node: dict[str, Any], tz: ZoneInfo, lines: list[dict[str, Any]]) -> OrderRow:
    """An order node (with its line item nodes) → OrderRow in shop-currency micros."""
    created = _dt(node["createdAt"])
    assert created is not None
    total, currency = _money(node.get("totalPriceSet"))
    attributes = {a["key"]: a.get("value") for a in node.get("customAttributes") or []}
    journey = node.get("customerJourneySummary") or {}
    visit = journey.get("lastVisit") or journey.get("firstVisit") or {}
    landing = visit.get("landingPage")
    params = _query_params(landing)
    utm = visit.get("utmParameters") or {}

    def utm_value(key: str) -> str | None:
        return utm.get(key) or params.get(f"utm_{key}") or None

    def click_id(key: str) -> str | None:
        return params.get(key) or attributes.get(key) or attributes.get(f"_{key}") or None

    visitor = next((attributes[k] for k in VISITOR_KEYS if attributes.get(k)), None)
    return OrderRow(
        external_id=numeric_id(node["id"]),
        created_at=created,
        order_date=created.astimezone(tz).date(),
        updated_at=_dt(node.get("updatedAt")) or created,
        currency=currency or node.get("currencyCode") or "USD",
        total_micros=total,
        subtotal_micros=_money(node.get("subtotalPriceSet"))[0],
        tax_micros=_money(node.get("totalTaxSet"))[0],
        shipping_micros=_money(node.get("totalShippingPriceSet"))[0],
        discounts_micros=_money(node.get("totalDiscountsSet"))[0],
        refunded_micros=_money(node.get("totalRefundedSet"))[0],
        order_number=node.get("name") or "",
        financial_status=str(node.get("displayFinancialStatus") or "").lower() or "pending",
        cancelled_at=_dt(node.get("cancelledAt")),
        is_test=bool(node.get("test")),
        customer_email_hash=email_hash(node.get("email")),
        landing_site=landing,
        referring_site=visit.get("referrerUrl"),
        source_name=node.get("sourceName"),
        utm_source=utm_value("source"),
        utm_medium=utm_value("medium"),
        utm_campaign=utm_value("campaign"),
        utm_content=utm_value("content"),
        utm_term=utm_value("term"),
        fbclid=click_id("fbclid"),
        gclid=click_id("gclid"),
        ttclid=click_id("ttclid"),
        checkout_token=attributes.get("checkout_token") or attributes.get("_checkout_token"),
        visitor_id=visitor,
        note_attributes=attributes,
        lines=[parse_line(line) for line in lines],
    )


def reassemble_jsonl(lines: list[str], tz: ZoneInfo) -> list[OrderRow]:
    """Bulk JSONL (orders, and line items pointing at them by __parentId) → OrderRows.

    Children come after their parent but not necessarily right after, so the whole
    window's file is grouped before rows are built.
    """
    import json

    orders: dict[str, dict[str, Any]] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    for raw in lines:
        if not raw.strip():
            continue
        obj = json.loads(raw)
        parent = obj.pop("__parentId", None)
        if parent is None:
            orders[obj["id"]] = obj
            children.setdefault(obj["id"], [])
        else:
            children.setdefault(parent, []).append(obj)
    return [parse_order(node, tz, children.get(gid, [])) for gid, node in orders.items()]
