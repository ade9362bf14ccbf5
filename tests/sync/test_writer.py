"""The shared write path: idempotent upserts, rollups in step, data_version bumps."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from metricx.auth.service import create_user
from metricx.connections.service import delete_connection
from metricx.db import Database
from metricx.models import (
    Connection,
    DailyOrderRollup,
    DailyRollup,
    MetricFact,
    ShopifyOrder,
    Workspace,
)
from metricx.sync.writer import (
    EntityRow,
    FactRow,
    OrderLineRow,
    OrderRow,
    upsert_entities,
    upsert_facts,
    upsert_orders,
)
from metricx.tenancy import AuthContext
from metricx.workspaces.service import create_workspace


async def _setup(db: Database) -> tuple[int, int]:
    async with db.transaction() as s:
        user = await create_user(s, "w@example.com", "password")
        ws = await create_workspace(s, user, name="W")
        conn = Connection(workspace_id=ws.id, provider="meta", external_account_id="1", name="A")
        s.add(conn)
        await s.flush()
        return ws.id, conn.id


TREE = [
    EntityRow("account", "act1", "Account"),
    EntityRow("campaign", "c1", "Camp", parent_level="account", parent_external_id="act1"),
    EntityRow("adset", "s1", "Set", parent_level="campaign", parent_external_id="c1"),
    EntityRow("ad", "a1", "Ad 1", parent_level="adset", parent_external_id="s1"),
    EntityRow("ad", "a2", "Ad 2", parent_level="adset", parent_external_id="s1"),
]


async def test_facts_upsert_is_idempotent_and_rollups_follow(db: Database) -> None:
    ws_id, conn_id = await _setup(db)
    day = date(2026, 1, 1)
    for spend in (1_000_000, 2_500_000):  # the second run restates the same rows
        async with db.transaction() as s:
            ids = await upsert_entities(
                s, workspace_id=ws_id, connection_id=conn_id, provider="meta", rows=TREE
            )
            rows = [
                FactRow(ids[("ad", ad)], day + timedelta(days=d), spend_micros=spend, clicks=3)
                for ad in ("a1", "a2")
                for d in range(3)
            ]
            await upsert_facts(
                s, workspace_id=ws_id, connection_id=conn_id, provider="meta", rows=rows
            )
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(MetricFact)) == 6
        total = await s.scalar(select(func.sum(DailyRollup.spend_micros)))
        assert total == 6 * 2_500_000
        assert await s.scalar(select(func.count()).select_from(DailyRollup)) == 3
        version = await s.scalar(select(Workspace.data_version).where(Workspace.id == ws_id))
        assert version == 3
        ad = await s.scalar(select(func.count()).select_from(MetricFact))
        assert ad == 6


async def test_older_order_update_never_overwrites_newer(db: Database) -> None:
    ws_id, conn_id = await _setup(db)
    t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def order(updated: datetime, total: int) -> OrderRow:
        return OrderRow(
            external_id="o1",
            created_at=t0,
            order_date=t0.date(),
            updated_at=updated,
            currency="USD",
            total_micros=total,
            lines=[OrderLineRow("l1", "Shirt", 1, total, 1_000_000)],
        )

    async with db.transaction() as s:
        assert await upsert_orders(
            s, workspace_id=ws_id, connection_id=conn_id, rows=[order(t0 + timedelta(hours=2), 50)]
        )
    async with db.transaction() as s:
        written = await upsert_orders(
            s, workspace_id=ws_id, connection_id=conn_id, rows=[order(t0, 10)]
        )
        assert written == {}
    async with db.transaction() as s:
        stored = await s.scalar(select(ShopifyOrder))
        assert stored is not None
        assert stored.total_micros == 50
        assert stored.cogs_micros == 1_000_000


async def _order_rollups(db: Database, ws_id: int) -> tuple[list[tuple], list[tuple]]:
    """(stored rollups, rollups recomputed from the orders) of one workspace."""
    r = DailyOrderRollup
    query = select(r.order_date, r.orders, r.revenue_micros, r.cogs_micros, r.order_rows)
    async with db.transaction() as s:
        stored = (
            await s.execute(query.where(r.workspace_id == ws_id).order_by(r.order_date))
        ).all()
        orders = (
            await s.execute(select(ShopifyOrder).where(ShopifyOrder.workspace_id == ws_id))
        ).scalars()
        by_day: dict[date, list[int]] = {}
        for o in orders:
            day = by_day.setdefault(o.order_date, [0, 0, 0, 0])
            day[3] += 1
            if o.cancelled_at is None and not o.is_test and o.financial_status != "voided":
                day[0] += 1
                day[1] += o.total_micros - o.refunded_micros
                day[2] += o.cogs_micros
    return [tuple(r) for r in stored], [(d, *v) for d, v in sorted(by_day.items())]


async def test_order_rollups_follow_every_order_write(db: Database) -> None:
    ws_id, _ = await _setup(db)
    async with db.transaction() as s:
        shop = Connection(workspace_id=ws_id, provider="shopify", external_account_id="s", name="S")
        s.add(shop)
        await s.flush()
        shop_id = shop.id
    t0 = datetime(2026, 2, 1, 9, tzinfo=UTC)

    def order(i: int, updated: datetime, **extra: object) -> OrderRow:
        created = t0 + timedelta(days=i % 5, hours=i)
        return OrderRow(
            external_id=f"o{i}", created_at=created, order_date=created.date(),
            updated_at=updated, currency="USD", total_micros=10_000_000 * (i + 1),
            lines=[OrderLineRow(f"l{i}", "Shirt", 1, 10_000_000, 2_000_000)], **extra,
        )  # fmt: skip

    rows = [order(i, t0) for i in range(12)]
    rows.append(order(12, t0, is_test=True))
    async with db.transaction() as s:
        await upsert_orders(s, workspace_id=ws_id, connection_id=shop_id, rows=rows)
    stored, want = await _order_rollups(db, ws_id)
    assert stored == want and sum(r[1] for r in stored) == 12

    later = t0 + timedelta(days=9)
    changed = [order(3, later, cancelled_at=later), order(4, later, refunded_micros=5_000_000)]
    async with db.transaction() as s:
        await upsert_orders(s, workspace_id=ws_id, connection_id=shop_id, rows=changed)
    stored, want = await _order_rollups(db, ws_id)
    assert stored == want and sum(r[1] for r in stored) == 11

    owner = AuthContext(user_id=0, workspace_id=ws_id, role="owner")
    async with db.transaction() as s:
        await delete_connection(s, owner, shop_id)
    stored, want = await _order_rollups(db, ws_id)
    assert stored == want == []


async def test_rereading_unchanged_facts_leaves_them_untouched(db: Database) -> None:
    """Only rows whose measures moved are rewritten: updated_at marks real changes."""
    ws_id, conn_id = await _setup(db)
    day = date(2026, 1, 1)
    async with db.transaction() as s:
        ids = await upsert_entities(
            s, workspace_id=ws_id, connection_id=conn_id, provider="meta", rows=TREE
        )

    async def write(spend_a2: int, leads: float | None = None) -> dict[int, datetime]:
        rows = [
            FactRow(ids[("ad", "a1")], day, spend_micros=1_000_000, clicks=3, leads=leads),
            FactRow(ids[("ad", "a2")], day, spend_micros=spend_a2, clicks=3),
        ]
        async with db.transaction() as s:
            await upsert_facts(
                s, workspace_id=ws_id, connection_id=conn_id, provider="meta", rows=rows
            )
        async with db.transaction() as s:
            stamps = await s.execute(select(MetricFact.entity_id, MetricFact.updated_at))
            return dict(stamps.all())

    first = await write(2_000_000)
    second = await write(2_500_000)  # a2 restated, a1 read again unchanged
    assert second[ids[("ad", "a1")]] == first[ids[("ad", "a1")]]
    assert second[ids[("ad", "a2")]] > first[ids[("ad", "a2")]]
    third = await write(2_500_000, leads=1.0)  # NULL → 1.0 is a change too
    assert third[ids[("ad", "a1")]] > second[ids[("ad", "a1")]]
    async with db.transaction() as s:
        assert await s.scalar(select(func.sum(DailyRollup.spend_micros))) == 3_500_000


@pytest.mark.postgres
async def test_concurrent_order_writes_for_one_day_both_land_in_the_rollup(pg_db: Database) -> None:
    """Two open transactions write orders of the same new day (the soak's webhooks did).

    Without the per-workspace rollup lock both delete nothing, both insert the day's row
    and the second fails on the primary key once the first commits.
    """
    db = pg_db
    ws_id, _ = await _setup(db)
    async with db.transaction() as s:
        shop = Connection(workspace_id=ws_id, provider="shopify", external_account_id="s", name="S")
        s.add(shop)
        await s.flush()
        shop_id = shop.id
    t0 = datetime(2026, 3, 1, 9, tzinfo=UTC)

    def order(i: int) -> OrderRow:
        return OrderRow(
            external_id=f"race{i}", created_at=t0, order_date=t0.date(), updated_at=t0,
            currency="USD", total_micros=10_000_000,
            lines=[OrderLineRow(f"l{i}", "Shirt", 1, 10_000_000, 0)],
        )  # fmt: skip

    first_written = asyncio.Event()

    async def writer(i: int, hold: float) -> None:
        async with db.transaction() as s:
            await upsert_orders(s, workspace_id=ws_id, connection_id=shop_id, rows=[order(i)])
            first_written.set()
            await asyncio.sleep(hold)  # keep the transaction open while the other writes

    first = asyncio.create_task(writer(1, 0.5))
    await first_written.wait()
    await asyncio.wait_for(asyncio.gather(first, writer(2, 0)), timeout=10)
    stored, want = await _order_rollups(db, ws_id)
    assert stored == want
    assert stored[0][1] == 2
