"""The shared write path: idempotent upserts, rollups in step, data_version bumps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from metricx.auth.service import create_user
from metricx.db import Database
from metricx.models import Connection, DailyRollup, MetricFact, ShopifyOrder, Workspace
from metricx.sync.writer import (
    EntityRow,
    FactRow,
    OrderLineRow,
    OrderRow,
    upsert_entities,
    upsert_facts,
    upsert_orders,
)
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
