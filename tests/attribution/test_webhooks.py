"""Shopify webhooks: signatures, routing, idempotency, ordering, refunds and GDPR."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from metricx.db import Database
from metricx.models import Journey, PixelEvent, ShopifyOrder, WebhookDelivery, Workspace
from tests.attribution.helpers import (
    OLD_SECRET,
    SECRET,
    count,
    dumps,
    order_payload,
    settle_jobs,
    shopify_connection,
    webhook_headers,
)
from tests.factories import make_tenant

BASE = "/api/webhooks/shopify"


@pytest.fixture
async def shop_client(db: Database, app_factory):  # type: ignore[no-untyped-def]
    import httpx

    app = await app_factory(shopify_app_secret=f"{SECRET},{OLD_SECRET}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def _order(db: Database) -> ShopifyOrder | None:
    async with db.transaction() as s:
        return (await s.execute(select(ShopifyOrder))).scalar_one_or_none()


async def _version(db: Database, workspace_id: int) -> int:
    async with db.transaction() as s:
        return (await s.get(Workspace, workspace_id)).data_version  # type: ignore[union-attr]


async def test_valid_signature_stores_the_mapped_order(db: Database, shop_client) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id, timezone="America/New_York")
    before = await _version(db, t.workspace_id)
    body = dumps(order_payload())
    r = await shop_client.post(
        f"{BASE}/orders-create", content=body, headers=webhook_headers(body, "orders/create")
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "processed"
    order = await _order(db)
    assert order is not None
    assert order.total_micros == 120_000_000
    assert order.shipping_micros == 15_000_000
    assert order.discounts_micros == 5_000_000
    assert str(order.order_date) == "2026-03-01"
    assert order.customer_email_hash == hashlib.sha256(b"buyer@example.com").hexdigest()
    assert (order.utm_source, order.utm_campaign, order.fbclid) == ("facebook", "cmp-1", "FB1")
    assert order.visitor_id == "v-1"
    assert order.checkout_token == "tok-1"
    assert await _version(db, t.workspace_id) > before


async def test_previous_secret_is_accepted_during_rotation(db: Database, shop_client) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    body = dumps(order_payload())
    headers = webhook_headers(body, "orders/create", secret=OLD_SECRET)
    assert (
        await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    ).status_code == 200


@pytest.mark.parametrize("tamper", ["body", "header", "missing", "wrong_secret", "not_base64"])
async def test_bad_signature_is_401_and_stores_nothing(db: Database, shop_client, tamper) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    body = dumps(order_payload())
    headers = webhook_headers(body, "orders/create")
    if tamper == "body":
        body = body.replace(b"120.00", b"1.00")
    elif tamper == "header":
        headers["X-Shopify-Hmac-SHA256"] = webhook_headers(b"other", "orders/create")[
            "X-Shopify-Hmac-SHA256"
        ]
    elif tamper == "missing":
        del headers["X-Shopify-Hmac-SHA256"]
    elif tamper == "wrong_secret":
        headers = webhook_headers(body, "orders/create", secret="someone-else")
    else:
        headers["X-Shopify-Hmac-SHA256"] = "%%%not-base64%%%"
    r = await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    assert r.status_code == 401
    assert await count(db, ShopifyOrder) == 0
    assert await count(db, WebhookDelivery) == 0


async def test_no_secret_configured_rejects_everything(db: Database, client) -> None:
    body = dumps(order_payload())
    r = await client.post(
        f"{BASE}/orders-create", content=body, headers=webhook_headers(body, "orders/create")
    )
    assert r.status_code == 401


async def test_unknown_shop_is_acknowledged_and_nothing_stored(db: Database, shop_client) -> None:
    await make_tenant(db)
    body = dumps(order_payload())
    headers = webhook_headers(body, "orders/create", shop="stranger.myshopify.com")
    r = await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    assert r.status_code == 200
    assert r.json()["status"] == "ignored"
    assert await count(db, ShopifyOrder) == 0
    assert await count(db, WebhookDelivery) == 0


async def test_duplicate_delivery_counts_once(db: Database, shop_client) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    body = dumps(order_payload())
    headers = webhook_headers(body, "orders/create", webhook_id="wh-1")
    first = await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    await settle_jobs()  # the queued attribution run bumps data_version too
    version = await _version(db, t.workspace_id)
    second = await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    assert first.json()["status"] == "processed"
    assert second.json()["status"] == "duplicate"
    assert await count(db, ShopifyOrder) == 1
    assert await _version(db, t.workspace_id) == version
    # The same order under another delivery id is still one order.
    other = webhook_headers(body, "orders/paid", webhook_id="wh-2")
    assert (
        await shop_client.post(f"{BASE}/orders-paid", content=body, headers=other)
    ).status_code == 200
    assert await count(db, ShopifyOrder) == 1


async def test_update_before_create_ends_in_the_newest_state(db: Database, shop_client) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    newer = dumps(
        order_payload(
            updated_at="2026-03-02T09:00:00-05:00", total_price="99.00", financial_status="paid"
        )
    )
    older = dumps(order_payload(financial_status="pending"))
    for body, topic in ((newer, "orders/updated"), (older, "orders/create")):
        r = await shop_client.post(
            f"{BASE}/{topic.replace('/', '-')}", content=body, headers=webhook_headers(body, topic)
        )
        assert r.status_code == 200
    order = await _order(db)
    assert order is not None
    assert order.total_micros == 99_000_000
    assert order.financial_status == "paid"


async def test_refunds_are_counted_once_whichever_arrives_first(db: Database, shop_client) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    create = dumps(order_payload())
    await shop_client.post(
        f"{BASE}/orders-create", content=create, headers=webhook_headers(create, "orders/create")
    )
    refund = {
        "id": 501,
        "order_id": 1001,
        "transactions": [{"kind": "refund", "status": "success", "amount": "20.00"}],
    }
    body = dumps(refund)
    for _ in range(2):  # redelivered under a new webhook id: still one refund
        r = await shop_client.post(
            f"{BASE}/refunds-create", content=body, headers=webhook_headers(body, "refunds/create")
        )
        assert r.status_code == 200
    assert (await _order(db)).refunded_micros == 20_000_000  # type: ignore[union-attr]
    refund2 = {**refund, "id": 502, "transactions": [{"kind": "refund", "amount": "5.00"}]}
    updated = dumps(order_payload(updated_at="2026-03-03T00:00:00Z", refunds=[refund, refund2]))
    await shop_client.post(
        f"{BASE}/orders-updated",
        content=updated,
        headers=webhook_headers(updated, "orders/updated"),
    )
    assert (await _order(db)).refunded_micros == 25_000_000  # type: ignore[union-attr]
    late = dumps(refund2)
    await shop_client.post(
        f"{BASE}/refunds-create", content=late, headers=webhook_headers(late, "refunds/create")
    )
    assert (await _order(db)).refunded_micros == 25_000_000  # type: ignore[union-attr]


async def test_customers_redact_clears_personal_fields_and_journeys(
    db: Database, shop_client
) -> None:
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    body = dumps(order_payload())
    await shop_client.post(
        f"{BASE}/orders-create", content=body, headers=webhook_headers(body, "orders/create")
    )
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    async with db.transaction() as s:
        s.add(
            PixelEvent(
                workspace_id=t.workspace_id,
                event_id="e1",
                visitor_id="v-1",
                event_name="checkout_completed",
                occurred_at=now,
                checkout_token="tok-1",
                data={},
            )
        )
        s.add(
            Journey(
                workspace_id=t.workspace_id, visitor_id="v-1", first_seen_at=now, last_seen_at=now
            )
        )
    redact = dumps(
        {
            "shop_domain": "brand.myshopify.com",
            "customer": {"id": 1, "email": "buyer@example.com"},
            "orders_to_redact": [1001],
        }
    )
    r = await shop_client.post(
        f"{BASE}/customers-redact",
        content=redact,
        headers=webhook_headers(redact, "customers/redact"),
    )
    assert r.status_code == 200
    order = await _order(db)
    assert order is not None
    assert (order.customer_email_hash, order.visitor_id, order.checkout_token) == (None, None, None)
    assert order.note_attributes == {}
    assert await count(db, Journey) == 0
    assert await count(db, PixelEvent) == 0


async def test_shop_redact_deletes_orders_and_data_request_is_acknowledged(
    db: Database, shop_client
) -> None:
    from metricx.models import Connection

    t = await make_tenant(db)
    conn_id = await shopify_connection(db, t.workspace_id)
    async with db.transaction() as s:
        conn = await s.get(Connection, conn_id)
        assert conn is not None
        conn.credentials_encrypted = b"\x01encrypted-shop-token"
    body = dumps(order_payload())
    await shop_client.post(
        f"{BASE}/orders-create", content=body, headers=webhook_headers(body, "orders/create")
    )
    from structlog.testing import capture_logs

    ask = dumps(
        {
            "shop_domain": "brand.myshopify.com",
            "customer": {"email": "buyer@example.com"},
            "data_request": {"id": 9999},
        }
    )
    with capture_logs() as logs:
        r = await shop_client.post(
            f"{BASE}/customers-data_request",
            content=ask,
            headers=webhook_headers(ask, "customers/data_request"),
        )
    assert r.status_code == 200
    (request_log,) = [e for e in logs if e["event"] == "shopify.customer_data_request"]
    assert request_log["orders_held"] == 1 and request_log["data_request_id"] == 9999
    assert "buyer@example.com" not in repr(logs)
    gone = dumps({"shop_domain": "brand.myshopify.com", "shop_id": 1})
    r = await shop_client.post(
        f"{BASE}/shop-redact", content=gone, headers=webhook_headers(gone, "shop/redact")
    )
    assert r.status_code == 200
    assert await count(db, ShopifyOrder) == 0
    # The uninstalled shop's access token is erased too, and nothing syncs it again.
    async with db.transaction() as s:
        conn = await s.get(Connection, conn_id)
        assert conn is not None
        assert conn.credentials_encrypted is None
        assert conn.status == "needs_reauth" and conn.next_sync_at is None


async def test_unknown_topic_is_404(db: Database, shop_client) -> None:
    body = dumps({"id": 1})
    headers = webhook_headers(body, "products/create")
    r = await shop_client.post(f"{BASE}/products-create", content=body, headers=headers)
    assert r.status_code == 404


async def test_pixel_then_webhook_then_attribution_end_to_end(db: Database, shop_client) -> None:
    from datetime import UTC, datetime

    from metricx.attribution.service import run_attribution
    from metricx.models import Attribution
    from tests.attribution.helpers import event, pixel_key

    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    key = await pixel_key(db, t.workspace_id)
    landing = "https://shop.test/?utm_source=google&utm_medium=cpc&gclid=G1"
    events = [
        event(visitor_id="v-9", url=landing, referrer="https://www.google.com/"),
        event("checkout_completed", visitor_id="v-9", checkout_token="tok-9"),
    ]
    assert (
        await shop_client.post("/api/pixel/events", json={"key": key, "events": events})
    ).status_code == 200
    now = datetime.now(UTC).isoformat()
    body = dumps(
        order_payload(
            order_id=77,
            checkout_token="tok-9",
            note_attributes=[],
            created_at=now,
            updated_at=now,
            landing_site="/",
            referring_site=None,
        )
    )
    r = await shop_client.post(
        f"{BASE}/orders-create", content=body, headers=webhook_headers(body, "orders/create")
    )
    assert r.status_code == 200
    await settle_jobs()  # the webhook queued a run of every model
    async with db.transaction() as s:
        await run_attribution(s, t.workspace_id, model="last_click")
    async with db.transaction() as s:
        row = (
            await s.execute(select(Attribution).where(Attribution.model == "last_click"))
        ).scalar_one()
    assert (row.channel, row.confidence, row.revenue_micros) == ("google", "high", 120_000_000)
    assert row.match_type == "checkout_token:gclid"


async def test_order_arrival_queues_attribution_after_commit(
    db: Database, shop_client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from metricx import jobs
    from tests.attribution.test_consistency import RecordingQueue

    queue = RecordingQueue()
    monkeypatch.setattr(jobs, "_current_queue", queue)
    t = await make_tenant(db)
    await shopify_connection(db, t.workspace_id)
    body = dumps(order_payload())
    headers = webhook_headers(body, "orders/create", webhook_id="wh-q")
    r = await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    assert r.json()["status"] == "processed"
    assert queue.calls == [("attribute_orders", {"workspace_id": t.workspace_id})]
    # A duplicate delivery changes nothing and queues nothing.
    r = await shop_client.post(f"{BASE}/orders-create", content=body, headers=headers)
    assert r.json()["status"] == "duplicate" and len(queue.calls) == 1
