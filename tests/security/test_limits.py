"""Every size limit answers a typed 413/422 naming what is too big, and stores nothing."""

from __future__ import annotations

from datetime import date, timedelta

import orjson
import pytest

from metricx.dashboard import entities
from metricx.models import Connection, Entity, MetricFact, PixelEvent, ShopifyOrder
from tests.attribution.helpers import (
    SECRET,
    count,
    event,
    order_payload,
    pixel_key,
    shopify_connection,
    webhook_headers,
)
from tests.factories import login_headers, make_tenant


async def _campaigns(db, workspace_id: int, n: int) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        conn = Connection(
            workspace_id=workspace_id, provider="meta", external_account_id="act_1", name="M"
        )
        s.add(conn)
        await s.flush()
        day = date.today() - timedelta(days=1)
        for i in range(n):
            ent = Entity(
                workspace_id=workspace_id,
                connection_id=conn.id,
                provider="meta",
                level="campaign",
                external_id=f"c{i}",
                name=f"Campaign {i}",
                status="active",
            )
            s.add(ent)
            await s.flush()
            s.add(
                MetricFact(
                    entity_id=ent.id,
                    event_date=day,
                    workspace_id=workspace_id,
                    connection_id=conn.id,
                    provider="meta",
                    spend_micros=1_000_000 * (i + 1),
                    impressions=100,
                    clicks=1,
                )
            )


async def test_question_length_is_422_naming_the_field(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}/questions"
    too_long = await client.post(url, json={"question": "spend? " * 400}, headers=h)
    assert too_long.status_code == 422
    assert too_long.json()["fields"] == ["question"]
    empty = await client.post(url, json={"question": ""}, headers=h)
    assert empty.status_code == 422 and empty.json()["fields"] == ["question"]


async def test_export_over_the_row_cap_is_422_not_a_truncated_file(client, db, monkeypatch) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    await _campaigns(db, tenant.workspace_id, 3)
    url = f"/api/workspaces/{tenant.workspace_id}/export.csv"
    params = {"level": "campaign", "timeframe": "last_7_days"}
    monkeypatch.setattr(entities, "EXPORT_PAGE", 2)
    monkeypatch.setattr(entities, "EXPORT_MAX_ROWS", 3)
    exact = await client.get(url, params=params, headers=h)
    assert exact.status_code == 200, exact.text
    assert len(exact.text.strip().splitlines()) == 4  # header + 3 rows, over two pages
    monkeypatch.setattr(entities, "EXPORT_MAX_ROWS", 2)
    over = await client.get(url, params=params, headers=h)
    assert over.status_code == 422, over.text
    body = over.json()
    assert body["error"] == "export_too_large"
    assert "level" in body["fields"] and "q" in body["fields"]


async def test_pixel_batch_and_body_limits(client, db) -> None:
    tenant = await make_tenant(db)
    key = await pixel_key(db, tenant.workspace_id)
    url = "/api/pixel/events"
    batch = await client.post(url, json={"key": key, "events": [event() for _ in range(101)]})
    assert batch.status_code == 422 and batch.json()["fields"] == ["events"]
    big = orjson.dumps({"key": key, "events": [event(data={"x": "y" * 300_000})]})
    body = await client.post(url, content=big, headers={"Content-Type": "text/plain"})
    assert body.status_code == 413 and body.json()["error"] == "payload_too_large"
    assert await count(db, PixelEvent) == 0


async def test_webhook_body_limit(db, app_factory) -> None:
    import httpx

    tenant = await make_tenant(db)
    await shopify_connection(db, tenant.workspace_id)
    app = await app_factory(shopify_app_secret=SECRET, max_body_bytes=50_000)
    raw = orjson.dumps(order_payload(note="n" * 60_000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(
            "/api/webhooks/shopify/orders-create",
            content=raw,
            headers=webhook_headers(raw, "orders/create"),
        )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert await count(db, ShopifyOrder) == 0


@pytest.mark.parametrize("size", [2_000_000])
async def test_csv_import_size_limit_names_the_file(client, db, size: int) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    async with db.transaction() as s:
        conn = Connection(
            workspace_id=tenant.workspace_id, provider="csv", external_account_id="f", name="CSV"
        )
        s.add(conn)
        await s.flush()
        cid = conn.id
    head = b"date,platform,campaign_id,campaign_name,spend\n"
    data = head + b"2026-01-05,meta,c1,Big,1\n" * (size // 25)
    r = await client.post(
        f"/api/workspaces/{tenant.workspace_id}/connections/{cid}/import",
        files={"file": ("big.csv", data, "text/csv")},
        headers=h,
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "payload_too_large"
    assert await count(db, MetricFact) == 0
