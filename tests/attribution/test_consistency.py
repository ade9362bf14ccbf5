"""Attribution agrees with the metrics layer: timeframes, orders, spend; the block is cheap."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from metricx.attribution import reads
from metricx.attribution.service import dashboard_attribution_block, run_attribution
from metricx.db import Database
from metricx.metrics import engine as metrics_engine
from metricx.metrics.schemas import SemanticQuery
from metricx.metrics.timeframes import resolve
from metricx.models import Connection
from metricx.sync.writer import upsert_orders
from metricx.tenancy import AuthContext
from tests.attribution.test_service import NOW, PERIOD, TODAY, _order, seed
from tests.factories import login_headers, make_tenant

WEEK_START = TODAY - timedelta(days=6)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    seen: list[str] = []

    def on_execute(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _ctx(tenant, model: str | None = "last_click", window: int | None = 7) -> AuthContext:  # type: ignore[no-untyped-def]
    return AuthContext(
        user_id=tenant.user_id,
        workspace_id=tenant.workspace_id,
        role="owner",
        attribution_model=model,
        attribution_window_days=window,
    )


async def _seed_with_invalid_orders(db: Database, ws: int) -> None:
    """The standard seed plus a cancelled and a voided order (and its test order)."""
    await seed(db, ws)
    async with db.transaction() as s:
        conn = await s.scalar(
            select(Connection.id).where(
                Connection.workspace_id == ws, Connection.provider == "shopify"
            )
        )
        await upsert_orders(
            s,
            workspace_id=ws,
            connection_id=conn,
            rows=[
                _order("c1", 70, NOW - timedelta(minutes=7), cancelled_at=NOW, visitor_id="v-2"),
                _order("v1", 80, NOW - timedelta(minutes=8), financial_status="voided"),
            ],
        )
        await run_attribution(s, ws)


async def test_dashboard_block_takes_at_most_three_statements(db: Database) -> None:
    t = await make_tenant(db)
    empty = await make_tenant(db, "e@example.com")
    await _seed_with_invalid_orders(db, t.workspace_id)
    async with db.transaction() as s:
        with statements(db) as seen:
            block = await dashboard_attribution_block(s, _ctx(t), WEEK_START, TODAY)
        assert block is not None and block["feed"] and block["orders"] == 5
        assert len(seen) <= 3, seen
        with statements(db) as seen:
            none = await dashboard_attribution_block(s, _ctx(empty), WEEK_START, TODAY)
        assert none is None and len(seen) == 1
        # A context built without the settings (scripts, jobs) still works: one lookup more.
        with statements(db) as seen:
            again = await dashboard_attribution_block(s, _ctx(t, None, None), WEEK_START, TODAY)
        assert again == block and len(seen) <= 4


async def test_orders_and_rate_follow_the_metrics_registry(db: Database, client) -> None:
    t = await make_tenant(db)
    await _seed_with_invalid_orders(db, t.workspace_id)
    headers = await login_headers(client, t.email)
    r = await client.get(
        f"/api/workspaces/{t.workspace_id}/attribution/summary?{PERIOD}", headers=headers
    )
    assert r.status_code == 200, r.text
    summary = r.json()
    query = SemanticQuery(
        metrics=["orders", "order_revenue"],
        timeframe={"start": WEEK_START, "end": TODAY},  # type: ignore[arg-type]
        compare=False,
    )
    async with db.transaction() as s:
        kpi = await metrics_engine.run(s, _ctx(t), query)
    # Cancelled, voided and test orders count neither in the KPI nor in the rate.
    assert summary["orders"] == kpi.totals["orders"] == 5
    assert summary["revenue_micros"] == round(kpi.totals["order_revenue"] * 1_000_000)
    assert summary["attributed_orders"] == 4
    assert summary["attribution_rate"] == 0.8
    channel_orders = sum(c["orders"] for c in summary["channels"])
    assert round(channel_orders) == summary["orders"]


async def test_campaigns_spend_and_platform_roas_are_the_engines(db: Database, client) -> None:
    t = await make_tenant(db)
    await _seed_with_invalid_orders(db, t.workspace_id)
    headers = await login_headers(client, t.email)
    r = await client.get(
        f"/api/workspaces/{t.workspace_id}/attribution/campaigns?{PERIOD}", headers=headers
    )
    assert r.status_code == 200, r.text
    rows = {c["campaign_id"]: c for c in r.json()["campaigns"]}
    query = SemanticQuery(
        metrics=["spend", "revenue", "roas"],
        timeframe={"start": WEEK_START, "end": TODAY},  # type: ignore[arg-type]
        breakdown={"by": "campaign"},  # type: ignore[arg-type]
        compare=False,
    )
    async with db.transaction() as s:
        result = await metrics_engine.run(s, _ctx(t), query)
    assert result.rows
    for row in result.rows:
        got = rows[int(row.key)]
        assert got["name"] == row.label
        assert got["spend_micros"] == round(row.values["spend"] * 1_000_000)
        assert got["platform_revenue_micros"] == round(row.values["revenue"] * 1_000_000)
        assert got["platform_roas"] == row.values["roas"]
        expected = got["attributed_revenue_micros"] / got["spend_micros"]
        assert got["verified_roas"] == expected
    prospecting = next(c for c in rows.values() if c["name"] == "Prospecting")
    assert (prospecting["verified_roas"], prospecting["platform_roas"]) == (2.8, 4.0)


async def test_timeframes_are_the_shared_resolvers(db: Database, app, client) -> None:  # type: ignore[no-untyped-def]
    frozen = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
    app.state.clock = lambda: frozen
    t = await make_tenant(db, timezone="Pacific/Auckland")
    headers = await login_headers(client, t.email)
    base = f"/api/workspaces/{t.workspace_id}/attribution"
    for key in ("last_7_days", "last_30_days", "yesterday", "this_month", "last_month"):
        tf = resolve(key, tz="Pacific/Auckland", clock=lambda: frozen)
        for path in ("summary", "campaigns"):
            r = await client.get(f"{base}/{path}?timeframe={key}", headers=headers)
            assert r.status_code == 200, r.text
            assert (r.json()["start"], r.json()["end"]) == (str(tf.start), str(tf.end)), key
    r = await client.get(f"{base}/summary?start=2026-01-01&end=2026-01-31", headers=headers)
    assert (r.json()["start"], r.json()["end"]) == ("2026-01-01", "2026-01-31")
    for query, field in (
        ("timeframe=forever", "timeframe"),
        ("start=2026-01-01", "end"),
        ("end=2026-01-01", "start"),
        ("start=2026-02-01&end=2026-01-01", "start"),
        ("timeframe=last_7_days&start=2026-01-01&end=2026-01-02", "timeframe"),
    ):
        bad = await client.get(f"{base}/warnings?{query}", headers=headers)
        assert bad.status_code == 422, query
        assert bad.json()["fields"] == [field], query


async def test_choose_reads_the_context_first(db: Database) -> None:
    t = await make_tenant(db)
    async with db.transaction() as s:
        with statements(db) as seen:
            assert await reads.choose(s, _ctx(t, "linear", 14), None, None) == ("linear", 14)
            assert await reads.choose(s, _ctx(t), "first_click", 30) == ("first_click", 30)
        assert seen == []
        assert await reads.choose(s, _ctx(t, None, None), None, None) == ("last_click", 7)


class RecordingQueue:
    """A job queue that records what it is given (or fails, like Redis going away)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.down = False

    async def enqueue(self, name: str, **kwargs) -> bool:  # type: ignore[no-untyped-def]
        self.calls.append((name, kwargs))
        if self.down:
            raise ConnectionError("queue down")
        return True


async def test_settings_change_queues_attribute_orders_after_commit(
    db: Database, client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from metricx import jobs

    queue = RecordingQueue()
    monkeypatch.setattr(jobs, "_current_queue", queue)
    t = await make_tenant(db)
    headers = await login_headers(client, t.email)
    url = f"/api/workspaces/{t.workspace_id}/attribution/settings"
    r = await client.patch(url, json={"model": "linear"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["recompute"] == "queued"
    assert queue.calls == [("attribute_orders", {"workspace_id": t.workspace_id})]
    # An unchanged body changes nothing and queues nothing.
    r = await client.patch(url, json={}, headers=headers)
    assert r.json()["recompute"] == "unchanged" and len(queue.calls) == 1
    # A queue outage after the commit does not fail the request.
    queue.down = True
    r = await client.patch(url, json={"model": "first_click"}, headers=headers)
    assert r.status_code == 200 and r.json()["model"] == "first_click"
    assert len(queue.calls) == 2


async def test_schedule_waits_for_the_commit(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from metricx import jobs
    from metricx.attribution import service
    from metricx.deps import run_after_commit

    queue = RecordingQueue()
    monkeypatch.setattr(jobs, "_current_queue", queue)
    t = await make_tenant(db)
    async with db.transaction() as s:
        service.schedule_attribution(s, t.workspace_id)
        assert queue.calls == []  # nothing before the commit
        await run_after_commit(s)
    assert queue.calls == [("attribute_orders", {"workspace_id": t.workspace_id})]
