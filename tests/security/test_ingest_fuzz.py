"""Property-based runs over the three ingest doors no schema describes well: the pixel,
Shopify webhooks (validly signed, so the body is really parsed) and the CSV import.

For each, hypothesis builds hostile variants of a valid input (NUL bytes, lone surrogates,
overlong strings, invalid dates, huge or non-finite numbers, wrong types) and the
properties are: never a 5xx, and every row that was stored is well-formed (no NUL, strings
within their column's length, integers within BIGINT, finite floats, plausible dates).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import uuid
from datetime import date, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, select

from metricx.models import (
    Connection,
    Entity,
    MetricFact,
    PixelEvent,
    ShopifyOrder,
    ShopifyOrderLine,
)
from tests.attribution.helpers import SECRET, event, order_payload, pixel_key, shopify_connection
from tests.attribution.helpers import sign as hmac_sign
from tests.factories import login_headers, make_tenant

EXAMPLES = int(os.environ.get("METRICX_FUZZ_EXAMPLES", "40"))
BIGINT = 2**63

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\ud800",
            "x" * 5000,
            "<script>alert(1)</script>",
            "'; DROP TABLE users; --",
            "=cmd|'/c calc'!A1",
            "\u202e",
            "0000-00-00",
            "2026-02-30",
            "9999-12-31T99:99:99",
            "NaN",
            "1e400",
            "-1",
            "",
            " ",
        ]
    ),
)
hostile_value = st.one_of(
    hostile_text,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), hostile_text, max_size=3),
)


def draw(strategy: Any, count: int = EXAMPLES) -> list[Any]:
    """Draw varied examples synchronously; the async test then sends each one."""
    out: list[Any] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def to_json(value: Any) -> bytes:
    # json (not orjson) so lone surrogates and NaN/Infinity go out as a hostile client sends them.
    return json.dumps(value, allow_nan=True).encode()


async def assert_stored_rows_are_sane(db, *models: Any) -> int:  # type: ignore[no-untyped-def]
    """Every column of every stored row is well-formed; returns the number of rows seen."""
    seen = 0
    async with db.transaction() as s:
        for model in models:
            for row in (await s.scalars(select(model))).all():
                seen += 1
                for column in model.__table__.columns:
                    _check(model.__tablename__, column, getattr(row, column.key))
    return seen


def _check(table: str, column: Any, value: Any) -> None:
    where = f"{table}.{column.name}={value!r:.80}"
    if isinstance(value, str):
        assert "\x00" not in value, where
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in value), where
        if isinstance(column.type, String) and column.type.length:
            assert len(value) <= column.type.length, where
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        assert -BIGINT <= value < BIGINT, where
    elif isinstance(value, float):
        assert math.isfinite(value), where
    elif isinstance(value, datetime | date):
        assert 1970 <= value.year <= 2200, where
    elif isinstance(value, dict | list):
        text = json.dumps(value)
        assert "\\u0000" not in text, where


# --- pixel ----------------------------------------------------------------------------

PIXEL_FIELDS = [
    "event_id",
    "visitor_id",
    "name",
    "url",
    "referrer",
    "ts",
    "checkout_token",
    "utm_source",
    "fbclid",
    "data",
]


@st.composite
def pixel_bodies(draw_: Any) -> dict[str, Any]:
    events = []
    for _ in range(draw_(st.integers(min_value=1, max_value=3))):
        base = event()
        for key in draw_(st.lists(st.sampled_from(PIXEL_FIELDS), max_size=3, unique=True)):
            base[key] = draw_(hostile_value)
        events.append(base)
    return {"events": events}


async def test_pixel_survives_hostile_events(client, db) -> None:
    tenant = await make_tenant(db)
    key = await pixel_key(db, tenant.workspace_id)
    statuses = set()
    for body in draw(pixel_bodies()):
        raw = to_json({"key": key, **body})
        r = await client.post(
            "/api/pixel/events", content=raw, headers={"Content-Type": "text/plain"}
        )
        assert r.status_code < 500, (body, r.text)
        statuses.add(r.status_code)
    assert statuses & {200} and statuses - {200}, statuses  # both paths were exercised
    assert await assert_stored_rows_are_sane(db, PixelEvent) > 0


# --- webhooks -------------------------------------------------------------------------

ORDER_FIELDS = [
    "id",
    "order_number",
    "email",
    "created_at",
    "updated_at",
    "currency",
    "total_price",
    "subtotal_price",
    "total_tax",
    "total_discounts",
    "financial_status",
    "landing_site",
    "referring_site",
    "checkout_token",
    "note_attributes",
    "line_items",
    "refunds",
    "cancelled_at",
]


@st.composite
def order_bodies(draw_: Any) -> dict[str, Any]:
    body = order_payload(order_id=draw_(st.integers(min_value=1, max_value=10**6)))
    for key in draw_(st.lists(st.sampled_from(ORDER_FIELDS), min_size=1, max_size=4, unique=True)):
        body[key] = draw_(hostile_value)
    if draw_(st.booleans()):
        body["line_items"] = [
            {
                "id": draw_(hostile_value),
                "title": draw_(hostile_text),
                "quantity": draw_(hostile_value),
                "price": draw_(hostile_value),
            }
        ]
    return body


async def test_signed_webhooks_survive_hostile_orders(db, app_factory) -> None:
    tenant = await make_tenant(db)
    await shopify_connection(db, tenant.workspace_id)
    app = await app_factory(shopify_app_secret=SECRET)
    statuses = set()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for body in draw(order_bodies()):
            raw = to_json(body)
            topic = "orders/updated"
            r = await c.post(
                "/api/webhooks/shopify/orders-updated",
                content=raw,
                headers={
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": topic,
                    "X-Shopify-Shop-Domain": "brand.myshopify.com",
                    "X-Shopify-Hmac-SHA256": hmac_sign(raw),
                    "X-Shopify-Webhook-Id": uuid.uuid4().hex,
                },
            )
            assert r.status_code < 500, (body, r.text)
            assert r.status_code != 401, "the signature must be valid so the body is parsed"
            statuses.add(r.status_code)
    assert await assert_stored_rows_are_sane(db, ShopifyOrder, ShopifyOrderLine) > 0, statuses


# --- CSV import -----------------------------------------------------------------------

CSV_HEADER = [
    "date",
    "platform",
    "campaign_id",
    "campaign_name",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "revenue",
]
VALID_ROW = ["2026-01-05", "meta", "c1", "Camp", "12.50", "1000", "20", "1", "40.00"]


@st.composite
def csv_files(draw_: Any) -> bytes:
    rows = []
    for i in range(draw_(st.integers(min_value=1, max_value=4))):
        row = list(VALID_ROW)
        row[2] = f"c{i}"
        for col in draw_(st.lists(st.integers(0, len(row) - 1), max_size=3, unique=True)):
            value = draw_(hostile_value)
            row[col] = value if isinstance(value, str) else json.dumps(value)
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw_(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    with contextlib.suppress(UnicodeEncodeError):
        return text.encode(encoding, errors="surrogatepass")
    return text.encode("utf-8", errors="surrogatepass")


async def test_csv_import_survives_hostile_files(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    async with db.transaction() as s:
        conn = Connection(
            workspace_id=tenant.workspace_id, provider="csv", external_account_id="f", name="CSV"
        )
        s.add(conn)
        await s.flush()
        cid = conn.id
    url = f"/api/workspaces/{tenant.workspace_id}/connections/{cid}/import"
    statuses = set()
    for data in draw(csv_files()):
        r = await client.post(url, files={"file": ("f.csv", data, "text/csv")}, headers=h)
        assert r.status_code < 500, (data[:300], r.text)
        if r.status_code == 422:
            assert r.json()["fields"], r.text  # the failing line and column are named
        statuses.add(r.status_code)
    assert 200 in statuses and 422 in statuses, statuses
    assert await assert_stored_rows_are_sane(db, MetricFact, Entity) > 0
