"""Entity summaries: the preset windows read from them give exactly what the facts give.

The dataset is written relative to the real today, so the writer (which keeps the summary
in step on the real clock) and the reader agree on which windows are current.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from metricx.connections.service import delete_connection
from metricx.db import Database
from metricx.metrics import engine, summaries
from metricx.metrics.schemas import SemanticQuery
from metricx.metrics.timeframes import local_today, resolve, system_clock
from metricx.models import EntitySummary, Workspace
from metricx.sync.writer import EntityRow, FactRow, upsert_entities, upsert_facts
from metricx.tenancy import AuthContext, workspace_context_for
from tests.metrics.dataset import Dataset, build

METRICS = ["spend", "revenue", "roas", "conversions", "cpa", "ctr", "impressions", "clicks"]


async def _ctx(db: Database, ds: Dataset) -> AuthContext:
    async with db.transaction() as s:
        ws = await s.get(Workspace, ds.tenant.workspace_id)
        return workspace_context_for(ds.tenant.user_id, ws, "owner")


class Statements:
    """Records the SQL text the engine sends."""

    def __init__(self, db: Database) -> None:
        self.sql: list[str] = []
        self.engine = db.engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.sql.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


async def _rows(db: Database, ctx: AuthContext, query: dict[str, Any], clock=system_clock):  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        result = await engine.run(s, ctx, SemanticQuery.parse(query), clock=clock)
    return [r.to_dict() for r in result.rows], result.total_rows


def _query(
    level: str, timeframe: str, compare: bool, provider: str | None, data_only: bool = False
) -> dict[str, Any]:
    return {
        "metrics": METRICS,
        "timeframe": timeframe,
        "compare": compare,
        "totals": False,
        "filters": {"provider": [provider] if provider else []},
        "breakdown": {"by": level, "sort": "spend", "limit": 50, "with_data_only": data_only},
    }


async def _assert_same_as_facts(db: Database, ctx: AuthContext, clock=system_clock) -> None:  # type: ignore[no-untyped-def]
    facts_ctx = dataclasses.replace(ctx, summary_end=None)
    for level in ("ad", "adset", "campaign"):
        for timeframe in summaries.SUMMARY_PRESETS:
            for compare in (False, True):
                for provider, data_only in ((None, False), ("google", False), (None, True)):
                    q = _query(level, timeframe, compare, provider, data_only)
                    got = await _rows(db, ctx, q, clock)
                    want = await _rows(db, facts_ctx, q, clock)
                    assert got == want, (level, timeframe, compare, provider, data_only)
                    assert want[1] > 0


async def test_summary_rows_equal_fact_rows_and_are_read(db: Database) -> None:
    today = local_today("UTC")
    ds = await build(db, today=today, days=70)
    ctx = await _ctx(db, ds)
    assert ctx.summary_end == today - timedelta(days=1)
    await _assert_same_as_facts(db, ctx)

    recorder = Statements(db)
    try:
        await _rows(db, ctx, _query("campaign", "last_30_days", True, None))
        await _rows(db, ctx, _query("ad", "last_90_days", False, None))
    finally:
        recorder.close()
    assert "entity_summaries" in recorder.sql[0] and "metric_facts" not in recorder.sql[0]
    assert "metric_facts" in recorder.sql[-1] and "entity_summaries" not in recorder.sql[-1]


async def test_with_data_only_ranks_just_the_entities_with_data(db: Database) -> None:
    today = local_today("UTC")
    ds = await build(db, today=today, days=70)
    ctx = await _ctx(db, ds)
    everything, total = await _rows(db, ctx, _query("ad", "last_7_days", False, None))
    ranked, with_data = await _rows(db, ctx, _query("ad", "last_7_days", False, None, True))
    # The paused Meta campaign's ads still have facts; ads without any are left out.
    assert [r for r in everything if r["values"]["impressions"]] == ranked
    assert with_data == len(ranked) <= total
    top = await _rows(db, ctx, {**_query("ad", "last_7_days", False, None, True),
                                "breakdown": {"by": "ad", "sort": "roas", "limit": 3,
                                              "with_data_only": True}})  # fmt: skip
    facts = await _rows(db, dataclasses.replace(ctx, summary_end=None),
                        {**_query("ad", "last_7_days", False, None, True),
                         "breakdown": {"by": "ad", "sort": "roas", "limit": 3,
                                       "with_data_only": True}})  # fmt: skip
    assert top == facts and len(top[0]) == 3


async def test_fact_writes_and_deletes_keep_the_summary_in_step(db: Database) -> None:
    today = local_today("UTC")
    ds = await build(db, today=today, days=70)
    provider, fact = next((p, f) for p, f in reversed(ds.facts) if p == "meta")
    yesterday = today - timedelta(days=1)
    restated = FactRow(fact.entity_id, yesterday, 987_654_321_000, 5, 4, 3.0, 12_345_000_000)
    async with db.transaction() as s:
        await upsert_facts(
            s, workspace_id=ds.tenant.workspace_id, connection_id=ds.connection_ids[provider],
            provider=provider, rows=[restated],
        )  # fmt: skip
    ctx = await _ctx(db, ds)
    rows, _ = await _rows(db, ctx, _query("ad", "last_7_days", False, None))
    assert rows[0]["entity"]["id"] == fact.entity_id  # the restated ad now leads on spend
    await _assert_same_as_facts(db, ctx)

    async with db.transaction() as s:
        await delete_connection(s, ctx, ds.connection_ids["meta"])
    ctx = await _ctx(db, ds)
    async with db.transaction() as s:
        left = await s.scalar(
            select(func.count()).select_from(EntitySummary).where(EntitySummary.provider == "meta")
        )
    assert left == 0
    rows, _ = await _rows(db, ctx, _query("ad", "last_7_days", False, None))
    assert {r["entity"]["provider"] for r in rows if r["values"]["spend"]} == {"google"}


async def test_day_rollover_falls_back_then_the_scheduler_rebuilds(db: Database) -> None:
    today = local_today("UTC")
    ds = await build(db, today=today, days=70)
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)

    def clock() -> datetime:
        return tomorrow + timedelta(hours=12)

    ctx = await _ctx(db, ds)
    tf_tomorrow = resolve("last_7_days", tz="UTC", clock=clock)
    assert not summaries.usable(ctx, tf_tomorrow)  # stale: read the facts instead
    async with db.transaction() as s:
        assert await summaries.stale_workspace_ids(s, clock) == [ds.tenant.workspace_id]
        assert await summaries.stale_workspace_ids(s) == []
        assert await summaries.refresh(s, ds.tenant.workspace_id, clock=clock)
    ctx = await _ctx(db, ds)
    assert ctx.summary_end == today
    assert summaries.usable(ctx, tf_tomorrow)
    await _assert_same_as_facts(db, ctx, clock)


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_windows_end_on_the_local_yesterday(tz: str) -> None:
    now = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
    end, windows = summaries.preset_windows(tz, lambda: now)
    assert end == local_today(tz, lambda: now) - timedelta(days=1)
    lengths = sorted({(e - s).days + 1 for s, e in windows})
    assert lengths == [7, 30] and len(windows) == 4
    assert all(e <= end for _, e in windows)


async def test_an_ad_moving_campaign_invalidates_until_the_next_fact_write(db: Database) -> None:
    today = local_today("UTC")
    ds = await build(db, today=today, days=70)
    ws, meta = ds.tenant.workspace_id, ds.connection_ids["meta"]
    # Meta ad m1-s0-a0 moves from campaign m1 to m2's first ad set.
    moved = EntityRow("ad", "m1-s0-a0", "m1 ad 0.0", "active", "adset", "m2-s0")
    async with db.transaction() as s:
        await upsert_entities(s, workspace_id=ws, connection_id=meta, provider="meta",
                              rows=[moved])  # fmt: skip
    ctx = await _ctx(db, ds)
    assert ctx.summary_end is None  # the roll-ups through the old tree are not used
    async with db.transaction() as s:
        ids = await upsert_entities(s, workspace_id=ws, connection_id=meta, provider="meta",
                                    rows=[moved])  # fmt: skip
        ad_id = ids[("ad", "m1-s0-a0")]
        await upsert_facts(
            s, workspace_id=ws, connection_id=meta, provider="meta",
            rows=[FactRow(ad_id, today - timedelta(days=2), spend_micros=1_000_000)],
        )  # fmt: skip
    ctx = await _ctx(db, ds)
    assert ctx.summary_end == today - timedelta(days=1)
    await _assert_same_as_facts(db, ctx)
