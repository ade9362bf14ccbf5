"""Shopify webhook processing: route by shop, deduplicate, write through the shared upsert.

Decisions:
- An unknown shop domain is acknowledged (200, "ignored") and nothing is stored: Shopify
  retries non-2xx answers and removes subscriptions after repeated failures, and a shop
  that is not (or no longer) connected has nothing for us to keep.
- Deduplication is by X-Shopify-Webhook-Id (falling back to X-Shopify-Event-Id, then a
  hash of the body) in webhook_deliveries, inside the same transaction as the write: a
  failure rolls both back and Shopify's retry is processed afresh.
- Orders go through sync.writer.upsert_orders: idempotent by (connection, order id), and
  an older orders/updated never overwrites a newer one.
- Refunds: refunded_micros is the sum of the order's refunds. orders/* payloads carry the
  full refund list, which sets the total; refunds/create adds one refund's amount once,
  keyed by refund id (recorded as "refund:<connection>:<id>" in webhook_deliveries, as are
  the refund ids seen on orders/* payloads), so a refund is never counted twice whichever
  arrives first. A refund for an order not stored yet is left to the order's next
  orders/updated, which lists it.
- customers/redact clears the hashed email, visitor id, checkout token, click ids and
  note attributes of that customer's orders and deletes their journeys and pixel events;
  shop/redact deletes the shop's orders (lines and attributions cascade) and its stored
  access token (the app is uninstalled; keeping a live credential would be keeping data),
  leaving the connection in needs_reauth so nothing syncs it again;
  customers/data_request is logged (warning) with the number of orders held for that
  customer, for the operator to answer: metricx keeps no personal data beyond a hashed email.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.attribution import shopify
from metricx.models import Connection, Journey, PixelEvent, ShopifyOrder, WebhookDelivery
from metricx.sync.writer import refresh_order_rollups, upsert_orders
from metricx.workspaces.repository import bump_data_version

log = structlog.get_logger("metricx.webhooks")


def delivery_id(headers: dict[str, str], raw_body: bytes) -> str:
    """The id that makes a redelivery a no-op."""
    value = headers.get("x-shopify-webhook-id") or headers.get("x-shopify-event-id")
    if value:
        return value.strip()[:128]
    return "body:" + hashlib.sha256(raw_body).hexdigest()


async def connections_for_shop(session: AsyncSession, shop_domain: str) -> list[Connection]:
    """Shopify connections of this shop (one per workspace that connected it)."""
    domain = shop_domain.strip().lower()
    if not domain:
        return []
    result = await session.execute(
        select(Connection).where(Connection.provider == "shopify", Connection.shop_domain == domain)
    )
    return list(result.scalars())


async def claim(
    session: AsyncSession, key: str, workspace_id: int | None, topic: str, shop: str
) -> bool:
    """Record a delivery (or refund) key; False when it was already processed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(WebhookDelivery)
        .values(webhook_id=key, workspace_id=workspace_id, topic=topic, shop_domain=shop[:255])
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(WebhookDelivery.webhook_id)
    )
    return (await session.execute(stmt)).first() is not None


async def process(
    session: AsyncSession,
    *,
    topic: str,
    shop_domain: str,
    webhook_id: str,
    payload: dict[str, Any],
) -> tuple[str, list[int]]:
    """Apply one verified delivery; returns (status, workspace ids changed)."""
    connections = await connections_for_shop(session, shop_domain)
    if not connections:
        log.info("shopify.webhook_unknown_shop", topic=topic, shop=shop_domain)
        return "ignored", []
    if not await claim(session, webhook_id, connections[0].workspace_id, topic, shop_domain):
        return "duplicate", []
    changed: list[int] = []
    for conn in connections:
        if topic.startswith("orders/"):
            did = await _order(session, conn, payload)
        elif topic == "refunds/create":
            did = await _refund(session, conn, payload)
        elif topic == "customers/redact":
            did = await _customer_redact(session, conn, payload)
        elif topic == "shop/redact":
            did = await _shop_redact(session, conn)
        else:
            await _customer_data_request(session, conn, payload)
            did = False
        if did:
            changed.append(conn.workspace_id)
    return "processed", changed


async def _record_refund_ids(
    session: AsyncSession, conn: Connection, refunds: list[Any], topic: str
) -> None:
    for refund in refunds:
        if isinstance(refund, dict) and refund.get("id") is not None:
            key = f"refund:{conn.id}:{refund['id']}"
            await claim(session, key, conn.workspace_id, topic, conn.shop_domain or "")


async def _order(session: AsyncSession, conn: Connection, payload: dict[str, Any]) -> bool:
    if payload.get("id") is None:
        return False
    row = shopify.order_row(payload, conn.timezone)
    written = await upsert_orders(
        session, workspace_id=conn.workspace_id, connection_id=conn.id, rows=[row]
    )
    await _record_refund_ids(session, conn, shopify.items(payload.get("refunds")), "orders")
    return bool(written)


async def _refund(session: AsyncSession, conn: Connection, payload: dict[str, Any]) -> bool:
    refund_id, order_id = payload.get("id"), payload.get("order_id")
    if refund_id is None or order_id is None:
        return False
    amount = shopify.refund_amount(payload)
    key = f"refund:{conn.id}:{refund_id}"
    exists = await session.scalar(
        select(ShopifyOrder.id).where(
            ShopifyOrder.connection_id == conn.id, ShopifyOrder.external_id == str(order_id)
        )
    )
    if exists is None or amount <= 0:
        return False
    if not await claim(session, key, conn.workspace_id, "refunds/create", conn.shop_domain or ""):
        return False
    day = await session.scalar(
        update(ShopifyOrder)
        .where(ShopifyOrder.id == exists)
        .values(refunded_micros=ShopifyOrder.refunded_micros + amount)
        .returning(ShopifyOrder.order_date)
    )
    await refresh_order_rollups(session, conn.workspace_id, day, day)
    await bump_data_version(session, conn.workspace_id)
    return True


async def _customer_redact(
    session: AsyncSession, conn: Connection, payload: dict[str, Any]
) -> bool:
    customer = shopify.obj(payload.get("customer"))
    digest = shopify.email_hash(customer.get("email"))
    order_ids = [str(i) for i in shopify.items(payload.get("orders_to_redact"))]
    match: list[Any] = [ShopifyOrder.external_id.in_(order_ids)] if order_ids else []
    if digest:
        match.append(ShopifyOrder.customer_email_hash == digest)
    if not match:
        return False
    scope = (ShopifyOrder.workspace_id == conn.workspace_id, ShopifyOrder.connection_id == conn.id)
    found = (
        await session.execute(
            select(ShopifyOrder.id, ShopifyOrder.visitor_id, ShopifyOrder.checkout_token).where(
                *scope, or_(*match)
            )
        )
    ).all()
    visitors = {v for _, v, _ in found if v}
    tokens = [t for _, _, t in found if t]
    if tokens:
        rows = await session.execute(
            select(PixelEvent.visitor_id).where(
                PixelEvent.workspace_id == conn.workspace_id,
                PixelEvent.checkout_token.in_(tokens),
            )
        )
        visitors.update(rows.scalars())
    journey_match: list[Any] = [Journey.visitor_id.in_(visitors)] if visitors else []
    if digest:
        journey_match.append(Journey.email_hash == digest)
    if journey_match:
        await session.execute(
            delete(Journey).where(Journey.workspace_id == conn.workspace_id, or_(*journey_match))
        )
    if visitors:
        await session.execute(
            delete(PixelEvent).where(
                PixelEvent.workspace_id == conn.workspace_id, PixelEvent.visitor_id.in_(visitors)
            )
        )
    if found:
        await session.execute(
            update(ShopifyOrder)
            .where(ShopifyOrder.id.in_([i for i, _, _ in found]))
            .values(
                customer_email_hash=None,
                visitor_id=None,
                checkout_token=None,
                fbclid=None,
                gclid=None,
                ttclid=None,
                note_attributes={},
            )
        )
    await bump_data_version(session, conn.workspace_id)
    log.info("shopify.customer_redacted", workspace=conn.workspace_id, orders=len(found))
    return True


async def _customer_data_request(
    session: AsyncSession, conn: Connection, payload: dict[str, Any]
) -> None:
    """Record what we hold for the customer so the operator can answer the merchant.

    Shopify expects the app to hand the data to the store owner within 30 days; metricx
    holds only a hashed email and attribution fields on orders the shop already has, so
    the request is logged with the count of those orders (never the email itself).
    """
    customer = shopify.obj(payload.get("customer"))
    digest = shopify.email_hash(customer.get("email"))
    order_ids = [str(i) for i in shopify.items(payload.get("orders_requested"))]
    match: list[Any] = [ShopifyOrder.external_id.in_(order_ids)] if order_ids else []
    if digest:
        match.append(ShopifyOrder.customer_email_hash == digest)
    held = 0
    if match:
        held = len(
            (
                await session.execute(
                    select(ShopifyOrder.id).where(
                        ShopifyOrder.connection_id == conn.id, or_(*match)
                    )
                )
            ).all()
        )
    log.warning(
        "shopify.customer_data_request",
        workspace=conn.workspace_id,
        connection=conn.id,
        data_request_id=shopify.obj(payload.get("data_request")).get("id"),
        orders_held=held,
        action="send the merchant this customer's attribution data within 30 days",
    )


async def _shop_redact(session: AsyncSession, conn: Connection) -> bool:
    await session.execute(delete(ShopifyOrder).where(ShopifyOrder.connection_id == conn.id))
    await session.execute(
        update(Connection)
        .where(Connection.id == conn.id)
        .values(credentials_encrypted=None, status="needs_reauth", next_sync_at=None)
    )
    await refresh_order_rollups(session, conn.workspace_id)
    await bump_data_version(session, conn.workspace_id)
    log.info("shopify.shop_redacted", workspace=conn.workspace_id, connection=conn.id)
    return True
