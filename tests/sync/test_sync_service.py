"""sync_connection against an in-test fake connector, on both engines."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from metricx.connectors.base import AuthExpired, ProviderRateLimited, TransientProviderError
from metricx.db import Database
from metricx.jobs.locks import connection_lock
from metricx.models import (
    Connection,
    DailyRollup,
    Entity,
    MetricFact,
    ShopifyOrder,
    SyncRun,
    Workspace,
)
from metricx.sync.fx import RateRow, upsert_rates
from metricx.sync.service import sync_connection
from tests.factories import make_tenant
from tests.sync.fakes import FIRST_DAY, NOW, TODAY, FakeAds, FakeShop, add_connection

ALL_DAYS = [FIRST_DAY + timedelta(days=i) for i in range(90)]


async def snapshot(db: Database, workspace_id: int) -> dict:
    """Facts keyed by (ad external id, day), plus the rollups, of one workspace."""
    async with db.transaction() as s:
        rows = await s.execute(
            select(
                Entity.external_id,
                MetricFact.event_date,
                MetricFact.spend_micros,
                MetricFact.impressions,
                MetricFact.clicks,
                MetricFact.conversions,
                MetricFact.revenue_micros,
                MetricFact.original_currency,
                MetricFact.original_spend_micros,
            )
            .join(Entity, Entity.id == MetricFact.entity_id)
            .where(MetricFact.workspace_id == workspace_id)
        )
        facts = {(r[0], r[1]): tuple(r[2:]) for r in rows.all()}
        rollups = await s.execute(
            select(DailyRollup.event_date, DailyRollup.spend_micros, DailyRollup.fact_rows).where(
                DailyRollup.workspace_id == workspace_id
            )
        )
        return {"facts": facts, "rollups": sorted(rollups.all())}


async def get(db: Database, model, ident):  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        return await s.get(model, ident)


async def test_first_run_backfills_90_days_exactly(db: Database, make_jc) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    fake = FakeAds(50)
    outcome = await sync_connection(make_jc(fake), cid)
    assert outcome.status == "succeeded", outcome.error
    snap = await snapshot(db, tenant.workspace_id)
    assert len(snap["facts"]) == 50 * 90
    assert {d for _, d in snap["facts"]} == set(ALL_DAYS)
    assert sum(v[0] for v in snap["facts"].values()) == fake.expected_spend(ALL_DAYS)
    assert sum(r[1] for r in snap["rollups"]) == fake.expected_spend(ALL_DAYS)
    assert fake.fact_calls[0][0] == FIRST_DAY and fake.fact_calls[-1][1] == TODAY
    conn = await get(db, Connection, cid)
    assert conn.status == "active" and conn.last_error is None
    assert conn.next_sync_at == NOW + timedelta(minutes=15)
    assert conn.backfilled_through.date() == TODAY
    run = await get(db, SyncRun, outcome.run_id)
    assert run.status == "succeeded" and run.rows_written == 4500
    assert run.counters["facts_written"] == 4500 and run.counters["entities"] == 61
    ws = await get(db, Workspace, tenant.workspace_id)
    # One bump for the entity tree, then one per committed chunk.
    assert ws.data_version == 2 + len(fake.fact_calls)


async def test_incremental_run_rereads_window_and_changes_only_restated_rows(
    db: Database, make_jc
) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    await sync_connection(make_jc(FakeAds(50)), cid)
    before = await snapshot(db, tenant.workspace_id)
    restated = {(3, TODAY - timedelta(days=2)), (7, TODAY - timedelta(days=10)), (49, TODAY)}
    fake = FakeAds(50, restated=restated)
    outcome = await sync_connection(make_jc(fake), cid)
    assert outcome.status == "succeeded"
    # Meta re-reads its 28-day restatement window, not the whole history.
    assert fake.fact_calls[0][0] == TODAY - timedelta(days=27)
    after = await snapshot(db, tenant.workspace_id)
    changed = {k for k in after["facts"] if after["facts"][k] != before["facts"].get(k)}
    assert changed == {(f"ad{a}", d) for a, d in restated}
    assert len(after["facts"]) == 4500
    assert sum(r[1] for r in after["rollups"]) == fake.expected_spend(ALL_DAYS)


async def test_killed_sync_rerun_equals_clean_run(db: Database, make_jc) -> None:
    clean = await make_tenant(db, "clean@example.com")
    crashed = await make_tenant(db, "crash@example.com")
    clean_id = await add_connection(db, clean.workspace_id)
    crash_id = await add_connection(db, crashed.workspace_id)
    await sync_connection(make_jc(FakeAds(50)), clean_id)
    first = await sync_connection(make_jc(FakeAds(50, fail_after_chunks=4)), crash_id)
    assert first.status == "failed" and first.rows_written == 4 * 7 * 50
    assert (await get(db, Connection, crash_id)).status == "error"
    partial = await snapshot(db, crashed.workspace_id)
    assert len(partial["facts"]) == 4 * 7 * 50  # exactly the committed chunks
    resumed = FakeAds(50)
    second = await sync_connection(make_jc(resumed), crash_id)
    assert second.status == "succeeded"
    # The rerun resumes after the last committed chunk instead of backfilling again.
    assert resumed.fact_calls[0][0] == FIRST_DAY + timedelta(days=28)
    assert await snapshot(db, crashed.workspace_id) == await snapshot(db, clean.workspace_id)
    assert (await get(db, Connection, crash_id)).status == "active"


async def test_auth_expired_marks_needs_reauth_without_retry(db: Database, make_jc) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    outcome = await sync_connection(make_jc(FakeAds(account_error=AuthExpired("190"))), cid)
    assert outcome.status == "failed"
    conn = await get(db, Connection, cid)
    assert conn.status == "needs_reauth" and conn.next_sync_at is None
    assert "reconnect" in conn.last_error


async def test_rate_limit_reschedules_after_retry_after(db: Database, make_jc) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    fake = FakeAds(facts_error=ProviderRateLimited("slow down", retry_after=600))
    await sync_connection(make_jc(fake), cid)
    conn = await get(db, Connection, cid)
    assert conn.status == "active" and conn.next_sync_at == NOW + timedelta(seconds=600)


async def test_transient_errors_back_off_then_give_up(db: Database, make_jc) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    fake = FakeAds(facts_error=TransientProviderError("503"))
    delays = []
    for _ in range(4):
        outcome = await sync_connection(make_jc(fake), cid)
        conn = await get(db, Connection, cid)
        delays.append((conn.next_sync_at - NOW).total_seconds())
        run = await get(db, SyncRun, outcome.run_id)
    assert delays[:3] == [60, 120, 240]
    assert run.attempt == 4 and conn.status == "error"


async def test_missing_fx_rate_marks_needs_rate_and_writes_nothing_mixed(
    db: Database, make_jc
) -> None:
    tenant = await make_tenant(db, currency="EUR")
    cid = await add_connection(db, tenant.workspace_id)
    outcome = await sync_connection(make_jc(FakeAds(5, currency="USD")), cid)
    assert outcome.status == "failed"
    conn = await get(db, Connection, cid)
    assert conn.status == "needs_rate" and "USD→EUR" in conn.last_error
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(MetricFact)) == 0
        # Rates for the first 30 days only: those chunks are written, converted; no others.
        await upsert_rates(
            s, [RateRow(FIRST_DAY + timedelta(days=i), "EUR", "USD", 1.25) for i in range(30)]
        )
    await sync_connection(make_jc(FakeAds(5, currency="USD")), cid)
    assert (await get(db, Connection, cid)).status == "needs_rate"
    snap = await snapshot(db, tenant.workspace_id)
    fake = FakeAds(5)
    assert snap["facts"]
    for (ad, day), values in snap["facts"].items():
        original = fake.value(int(ad[2:]), day).spend_micros
        assert values[5] == "USD" and values[6] == original
        assert values[0] == round(original * 0.8)
        assert day <= FIRST_DAY + timedelta(days=29 + 7)  # lookback covers a week at most
    async with db.transaction() as s:
        await upsert_rates(s, [RateRow(d, "USD", "EUR", 0.8) for d in ALL_DAYS])
    outcome = await sync_connection(make_jc(FakeAds(5, currency="USD")), cid)
    assert outcome.status == "succeeded"
    assert (await get(db, Connection, cid)).status == "active"
    assert len((await snapshot(db, tenant.workspace_id))["facts"]) == 5 * 90


async def test_lock_stops_a_connection_syncing_twice(db: Database, make_jc) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    async with connection_lock(db, cid) as held:
        assert held
        async with connection_lock(db, cid) as again:
            assert not again
        outcome = await sync_connection(make_jc(FakeAds(2)), cid)
        assert outcome.status == "skipped"
    async with connection_lock(db, cid) as held_again:
        assert held_again
    assert (await sync_connection(make_jc(FakeAds(2)), cid)).status == "succeeded"


async def test_shopify_orders_converted_with_originals(db: Database, make_jc) -> None:
    tenant = await make_tenant(db, currency="EUR")
    cid = await add_connection(db, tenant.workspace_id, "shopify", account="shop")
    async with db.transaction() as s:
        await upsert_rates(s, [RateRow(d, "USD", "EUR", 0.9) for d in ALL_DAYS])
    outcome = await sync_connection(make_jc(FakeShop("USD")), cid)
    assert outcome.status == "succeeded", outcome.error
    async with db.transaction() as s:
        orders = (await s.scalars(select(ShopifyOrder))).all()
    assert len(orders) == 180
    assert {(o.currency, o.total_micros, o.original_currency) for o in orders} == {
        ("EUR", 45_000_000, "USD")
    }
    assert date(2026, 1, 1) in {o.order_date for o in orders}
