"""Shared helpers of the attribution tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

import orjson
from sqlalchemy import func, select, update

from metricx.db import Database
from metricx.models import Connection, PixelEvent, Workspace

SECRET = "shpss_test_secret_value"
OLD_SECRET = "shpss_previous_secret"
SHOP = "brand.myshopify.com"


async def pixel_key(db: Database, workspace_id: int, origins: str = "") -> str:
    async with db.transaction() as s:
        ws = await s.get(Workspace, workspace_id)
        assert ws is not None
        if origins:
            await s.execute(
                update(Workspace)
                .where(Workspace.id == workspace_id)
                .values(pixel_allowed_origins=origins)
            )
        return ws.pixel_key


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def pixel_count(db: Database) -> int:
    return await count(db, PixelEvent)


def event(name: str = "page_viewed", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "visitor_id": fields.pop("visitor_id", "v-1"),
        "name": name,
        "url": "https://shop.test/",
    }
    base.update(fields)
    return base


async def shopify_connection(
    db: Database, workspace_id: int, shop: str = SHOP, timezone: str = "UTC"
) -> int:
    async with db.transaction() as s:
        conn = Connection(
            workspace_id=workspace_id,
            provider="shopify",
            external_account_id=shop,
            name="Shop",
            shop_domain=shop,
            timezone=timezone,
        )
        s.add(conn)
        await s.flush()
        return conn.id


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(
    body: bytes, topic: str, webhook_id: str | None = None, shop: str = SHOP, secret: str = SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Hmac-SHA256": sign(body, secret),
        "X-Shopify-Webhook-Id": webhook_id or uuid.uuid4().hex,
    }


def order_payload(order_id: int = 1001, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": order_id,
        "order_number": 1001,
        "name": "#1001",
        "email": "Buyer@Example.com",
        "created_at": "2026-03-01T10:00:00-05:00",
        "updated_at": "2026-03-01T10:00:00-05:00",
        "currency": "USD",
        "total_price": "120.00",
        "subtotal_price": "100.00",
        "total_tax": "10.00",
        "total_discounts": "5.00",
        "total_shipping_price_set": {"shop_money": {"amount": "15.00", "currency_code": "USD"}},
        "financial_status": "paid",
        "cancelled_at": None,
        "test": False,
        "landing_site": "/?utm_source=facebook&utm_medium=paid&utm_campaign=cmp-1&fbclid=FB1",
        "referring_site": "https://l.facebook.com/",
        "source_name": "web",
        "checkout_token": "tok-1",
        "note_attributes": [{"name": "mx_vid", "value": "v-1"}],
        "line_items": [
            {"id": 1, "title": "Shirt", "quantity": 2, "price": "50.00", "product_id": 9}
        ],
        "refunds": [],
    }
    body.update(overrides)
    return body


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload)


async def settle_jobs() -> None:
    """Wait for the jobs the app queued (webhooks queue attribute_orders after commit)."""
    from metricx import jobs

    join = getattr(jobs._current_queue, "join", None)
    if join is not None:
        await join()
