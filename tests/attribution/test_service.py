"""End to end: pixel events + orders -> run_attribution -> summary, feed, campaigns, warnings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from metricx.attribution import pixel_service
from metricx.attribution.service import dashboard_attribution_block, run_attribution
from metricx.db import Database
from metricx.models import Attribution, Connection, Journey, Touchpoint, Workspace
from metricx.sync.writer import (
    EntityRow,
    FactRow,
    OrderRow,
    upsert_entities,
    upsert_facts,
    upsert_orders,
)
from metricx.tenancy import AuthContext
from tests.attribution.helpers import count, shopify_connection
from tests.factories import login_headers, make_tenant

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
# The seeded orders are today's; last_7_days (shared resolver) ends yesterday.
PERIOD = f"start={TODAY - timedelta(days=6)}&end={TODAY}"
HASH = "a" * 64


def _event(ws: int, eid: str, visitor: str, at: datetime, **kw) -> dict:
    row = pixel_service.to_row(
        {"event_id": eid, "visitor_id": visitor, "name": kw.pop("name", "page_viewed"), **kw},
        0,
        ws,
        NOW,
    )
    row["occurred_at"] = at  # controlled history, beyond the ingest clamp
    return row


def _order(ext: str, total: float, at: datetime, **kw) -> OrderRow:
    return OrderRow(
        external_id=ext,
        created_at=at,
        order_date=at.date(),
        updated_at=kw.pop("updated_at", at),
        currency="USD",
        total_micros=int(total * 1_000_000),
        **kw,
    )


async def seed(db: Database, ws: int, shop: str = "brand.myshopify.com") -> None:
    shop_conn = await shopify_connection(db, ws, shop=shop)
    async with db.transaction() as s:
        meta = Connection(
            workspace_id=ws, provider="meta", external_account_id=f"act-{ws}", name="M"
        )
        s.add(meta)
        await s.flush()
        ids = await upsert_entities(
            s,
            workspace_id=ws,
            connection_id=meta.id,
            provider="meta",
            rows=[
                EntityRow("campaign", "111", "Prospecting"),
                EntityRow("adset", "555", "Set", parent_level="campaign", parent_external_id="111"),
                EntityRow(
                    "ad",
                    "999",
                    "Ad",
                    parent_level="adset",
                    parent_external_id="555",
                    tracking_params="utm_source=facebook&utm_campaign={{campaign.id}}",
                ),
                EntityRow("campaign", "222", "Untagged"),
            ],
        )
        day = (NOW - timedelta(days=1)).date()
        await upsert_facts(
            s,
            workspace_id=ws,
            connection_id=meta.id,
            provider="meta",
            rows=[
                FactRow(
                    ids[("ad", "999")], day, spend_micros=50_000_000, revenue_micros=200_000_000
                ),
                FactRow(ids[("campaign", "222")], day, spend_micros=10_000_000),
            ],
        )
        await pixel_service.store_events(
            s,
            [
                _event(
                    ws,
                    "e1",
                    "v-1",
                    NOW - timedelta(days=2),
                    url="https://shop.test/?utm_source=facebook&utm_campaign=111&ad_id=999&fbclid=F",
                ),
                _event(
                    ws,
                    "e2",
                    "v-1",
                    NOW - timedelta(days=2) + timedelta(minutes=1),
                    url="https://shop.test/p",
                    referrer="https://shop.test/",
                ),
                _event(ws, "e3", "v-1", NOW - timedelta(hours=1), url="https://shop.test/"),
                _event(
                    ws,
                    "e4",
                    "v-1",
                    NOW - timedelta(minutes=5),
                    name="checkout_completed",
                    checkout_token="tok-1",
                    url="https://shop.test/thanks",
                    referrer="https://shop.test/",
                ),
                _event(
                    ws,
                    "e5",
                    "v-2",
                    NOW - timedelta(days=3),
                    url="https://shop.test/",
                    referrer="https://www.google.com/",
                ),
            ],
        )
        await upsert_orders(
            s,
            workspace_id=ws,
            connection_id=shop_conn,
            rows=[
                _order(
                    "1",
                    120,
                    NOW - timedelta(minutes=4),
                    checkout_token="tok-1",
                    customer_email_hash=HASH,
                ),
                _order("2", 50, NOW - timedelta(minutes=3), visitor_id="v-2"),
                _order(
                    "3",
                    30,
                    NOW - timedelta(minutes=2),
                    landing_site="/?utm_source=tiktok&utm_medium=paid",
                    utm_source="tiktok",
                    utm_medium="paid",
                ),
                _order("4", 10, NOW - timedelta(minutes=1)),
                _order("5", 25, NOW, customer_email_hash=HASH, refunded_micros=5_000_000),
                _order("6", 999, NOW, is_test=True),
            ],
        )


async def test_run_attribution_matches_and_is_idempotent(db: Database) -> None:
    t = await make_tenant(db)
    await seed(db, t.workspace_id)
    async with db.transaction() as s:
        version = (await s.get(Workspace, t.workspace_id)).data_version  # type: ignore[union-attr]
        first = await run_attribution(s, t.workspace_id, model="last_click")
    assert first["orders"] == 5
    assert await count(db, Journey) == 2
    assert await count(db, Touchpoint) == 3  # the same-site and checkout events are no arrivals
    async with db.transaction() as s:
        rows = (
            (
                await s.execute(
                    select(Attribution)
                    .where(Attribution.model == "last_click")
                    .order_by(Attribution.order_id)
                )
            )
            .scalars()
            .all()
        )
        new_version = (await s.get(Workspace, t.workspace_id)).data_version  # type: ignore[union-attr]
    assert new_version > version
    got = [(r.channel, r.confidence, r.revenue_micros, r.match_type.split(":")[0]) for r in rows]
    assert got == [
        ("meta", "high", 120_000_000, "checkout_token"),
        ("organic_search", "low", 50_000_000, "visitor_id"),
        ("tiktok", "medium", 30_000_000, "landing_site"),
        ("unattributed", "none", 10_000_000, "none"),
        ("meta", "high", 20_000_000, "email"),  # refund netted; matched via the learned email
    ]
    assert rows[0].entity_id is not None
    for _ in range(2):
        async with db.transaction() as s:
            await run_attribution(s, t.workspace_id)  # every model, the workspace window
    assert await count(db, Attribution, Attribution.model == "last_click") == 5
    assert await count(db, Attribution) == 5 * 5  # one touch each: one row per model
    assert await count(db, Touchpoint) == 3


async def test_summary_feed_campaigns_warnings_health_and_scoping(db: Database, client) -> None:
    a = await make_tenant(db, "a@example.com")
    b = await make_tenant(db, "b@example.com")
    await seed(db, a.workspace_id)
    await seed(db, b.workspace_id, shop="other.myshopify.com")
    async with db.transaction() as s:
        await run_attribution(s, a.workspace_id)
        await run_attribution(s, b.workspace_id)
    headers = await login_headers(client, a.email)
    base = f"/api/workspaces/{a.workspace_id}"
    r = await client.get(f"{base}/attribution/summary?{PERIOD}", headers=headers)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["orders"] == 5  # B's identical orders and A's test order are not counted
    assert summary["attributed_orders"] == 4
    assert summary["attribution_rate"] == 0.8
    channels = {c["channel"]: c for c in summary["channels"]}
    assert channels["meta"]["revenue_micros"] == 140_000_000
    assert channels["meta"]["orders"] == 2
    assert channels["meta"]["aov_micros"] == 70_000_000
    assert abs(sum(c["share"] for c in summary["channels"]) - 1) < 1e-9
    assert {c["confidence"] for c in summary["confidence"]} == {"high", "medium", "low", "none"}

    r = await client.get(f"{base}/attribution/feed?limit=2", headers=headers)
    feed = r.json()["orders"]
    assert [o["order_number"] for o in feed] == ["", ""]
    assert len(feed) == 2 and feed[0]["created_at"] >= feed[1]["created_at"]
    assert feed[0]["touches"][0]["channel"] == "meta"

    r = await client.get(f"{base}/attribution/campaigns?{PERIOD}", headers=headers)
    camps = {c["name"]: c for c in r.json()["campaigns"]}
    assert camps["Prospecting"]["attributed_revenue_micros"] == 140_000_000
    assert camps["Prospecting"]["verified_roas"] == 2.8
    assert camps["Prospecting"]["platform_roas"] == 4.0
    assert camps["Untagged"]["verified_roas"] == 0

    r = await client.get(f"{base}/attribution/warnings?{PERIOD}", headers=headers)
    kinds = {(w["name"], w["kind"]) for w in r.json()["warnings"]}
    assert kinds == {("Untagged", "no_utm_parameters"), ("Untagged", "no_attributed_orders")}

    r = await client.get(f"{base}/pixel/health", headers=headers)
    health = r.json()
    assert health["events_7d"] == 5  # received now, whatever the client timestamp

    foreign = f"/api/workspaces/{b.workspace_id}/attribution/summary"
    assert (await client.get(foreign, headers=headers)).status_code == 404
    for path in (
        "attribution/feed",
        "attribution/campaigns",
        "attribution/warnings",
        "pixel/health",
    ):
        assert (
            await client.get(f"/api/workspaces/{b.workspace_id}/{path}", headers=headers)
        ).status_code == 404

    bad = await client.get(f"{base}/attribution/summary?model=magic", headers=headers)
    assert bad.status_code == 422 and bad.json()["fields"] == ["model"]
    bad = await client.get(f"{base}/attribution/summary?timeframe=forever", headers=headers)
    assert bad.status_code == 422 and bad.json()["fields"] == ["timeframe"]


async def test_settings_change_recomputes_and_needs_admin(db: Database, client) -> None:
    t = await make_tenant(db)
    await seed(db, t.workspace_id)
    headers = await login_headers(client, t.email)
    url = f"/api/workspaces/{t.workspace_id}/attribution/settings"
    r = await client.patch(url, json={"model": "linear", "window_days": 14}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "model": "linear",
        "window_days": 14,
        "time_decay_half_life_days": 7.0,
        "recompute": "queued",
    }
    # The recompute runs as an attribute_orders job (in-process runner in embedded mode).
    for _ in range(100):
        if await count(db, Attribution, Attribution.window_days == 14) == 25:
            break
        await asyncio.sleep(0.05)
    assert await count(db, Attribution, Attribution.window_days == 14) == 25
    r = await client.get(
        f"/api/workspaces/{t.workspace_id}/attribution/summary?timeframe=today", headers=headers
    )
    assert r.json()["model"] == "linear" and r.json()["window_days"] == 14
    bad = await client.patch(url, json={"window_days": 3}, headers=headers)
    assert bad.status_code == 422 and bad.json()["fields"] == ["window_days"]


async def test_dashboard_block(db: Database) -> None:
    t = await make_tenant(db)
    empty = await make_tenant(db, "e@example.com")
    await seed(db, t.workspace_id)
    async with db.transaction() as s:
        await run_attribution(s, t.workspace_id)
    today = NOW.date()
    async with db.transaction() as s:
        ctx = AuthContext(user_id=t.user_id, workspace_id=t.workspace_id, role="owner")
        block = await dashboard_attribution_block(s, ctx, today - timedelta(days=6), today)
        none = await dashboard_attribution_block(
            s,
            AuthContext(user_id=empty.user_id, workspace_id=empty.workspace_id, role="owner"),
            today,
            today,
        )
    assert block is not None and block["orders"] == 5 and block["feed"]
    assert none is None


async def test_settings_need_admin_and_foreign_workspaces_are_404(db: Database, client) -> None:
    from metricx.models import Membership

    owner = await make_tenant(db)
    other = await make_tenant(db, "viewer@example.com")
    async with db.transaction() as s:
        s.add(Membership(workspace_id=owner.workspace_id, user_id=other.user_id, role="viewer"))
    headers = await login_headers(client, other.email)
    url = f"/api/workspaces/{owner.workspace_id}/attribution/settings"
    r = await client.patch(url, json={"model": "linear"}, headers=headers)
    assert r.status_code == 403
    owner_headers = await login_headers(client, owner.email)
    foreign = f"/api/workspaces/{other.workspace_id}/attribution/settings"
    r = await client.patch(foreign, json={"model": "linear"}, headers=owner_headers)
    assert r.status_code == 404
    async with db.transaction() as s:
        ws = await s.get(Workspace, owner.workspace_id)
        assert ws is not None and ws.attribution_model == "last_click"


async def test_concurrent_runs_neither_lose_nor_duplicate(pg_db: Database) -> None:
    import asyncio

    t = await make_tenant(pg_db)
    await seed(pg_db, t.workspace_id)

    async def run() -> None:
        async with pg_db.transaction() as s:
            await run_attribution(s, t.workspace_id)

    await asyncio.gather(run(), run(), run())
    assert await count(pg_db, Attribution) == 25


async def _credits(db: Database, ws: int) -> list[tuple]:
    async with db.transaction() as s:
        rows = (
            await s.execute(
                select(
                    Attribution.order_id, Attribution.model, Attribution.window_days,
                    Attribution.position, Attribution.channel, Attribution.entity_id,
                    Attribution.confidence, Attribution.match_type, Attribution.credit,
                    Attribution.revenue_micros,
                ).where(Attribution.workspace_id == ws)
            )
        ).all()  # fmt: skip
    return sorted(tuple(r) for r in rows)


async def test_incremental_run_gives_what_a_full_run_gives(db: Database) -> None:
    """Only changed orders are recomputed, and the result equals recomputing everything."""
    t = await make_tenant(db)
    ws = t.workspace_id
    await seed(db, ws)
    shop = await db_scalar(db, select(Connection.id).where(
        Connection.workspace_id == ws, Connection.provider == "shopify"))  # fmt: skip
    other = "b" * 64
    async with db.transaction() as s:
        # An order matched by nothing yet: its email is not known to any journey.
        await upsert_orders(s, workspace_id=ws, connection_id=shop,
                            rows=[_order("8", 40, NOW - timedelta(minutes=30),
                                         customer_email_hash=other)])  # fmt: skip
    async with db.transaction() as s:
        assert (await run_attribution(s, ws))["orders"] == 6
    # Move the first run two hours back and what it read three, beyond the overlap.
    async with db.transaction() as s:
        for table, column, hours in (("attributions", "computed_at", 2),
                                     ("shopify_orders", "updated_at", 3),
                                     ("pixel_events", "received_at", 3)):  # fmt: skip
            await s.execute(text(f"UPDATE {table} SET {column} = :at"),
                            {"at": NOW - timedelta(hours=hours)})  # fmt: skip

    async with db.transaction() as s:
        await pixel_service.store_events(s, [
            # v-2 turns out to have come from a Google ad before their order (late event).
            _event(ws, "e6", "v-2", NOW - timedelta(days=4),
                   url="https://shop.test/?utm_source=google&utm_medium=cpc&gclid=G"),
            # A new visitor checks out: their order teaches the journey an email.
            _event(ws, "e7", "v-3", NOW - timedelta(hours=3),
                   url="https://shop.test/?utm_source=facebook&utm_campaign=111&ad_id=999"),
            _event(ws, "e8", "v-3", NOW - timedelta(minutes=1), name="checkout_completed",
                   checkout_token="tok-7", url="https://shop.test/thanks"),
        ])  # fmt: skip
        await upsert_orders(s, workspace_id=ws, connection_id=shop, rows=[
            _order("7", 70, NOW, checkout_token="tok-7", customer_email_hash=other),
            # A refund on order 3 (Shopify's updated_at moves on).
            _order("3", 30, NOW - timedelta(minutes=2), updated_at=NOW,
                   landing_site="/?utm_source=tiktok&utm_medium=paid", utm_source="tiktok",
                   utm_medium="paid", refunded_micros=10_000_000),
        ])  # fmt: skip
    async with db.transaction() as s:
        incremental = await run_attribution(s, ws)
    # Orders 2 (new touch), 3 (refund), 7 (new) and 8 (the email order 7 taught), not 1,4,5.
    assert incremental["orders"] == 4, incremental
    after_incremental = await _credits(db, ws)
    async with db.transaction() as s:
        assert (await run_attribution(s, ws, full=True))["orders"] == 7
    assert after_incremental == await _credits(db, ws)
    by_order = {c[0]: c for c in after_incremental if c[1] == "last_click"}
    assert len(by_order) == 7
    channels = {c[0]: c[4] for c in after_incremental if c[1] == "first_click"}
    assert "google" in channels.values() or "paid_search" in channels.values(), channels


async def db_scalar(db: Database, stmt):  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        return await s.scalar(stmt)
