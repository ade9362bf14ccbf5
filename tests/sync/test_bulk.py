"""The PostgreSQL bulk fact path: first load by COPY, restatements by merge, rollups in step."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from metricx.db import Database
from metricx.models import DailyRollup, MetricFact, Workspace
from metricx.sync.bulk import bulk_load_facts
from metricx.sync.writer import upsert_entities
from tests.sync.test_writer import TREE, _setup

DAY = date(2026, 1, 1)


def _chunks(ids: dict[tuple[str, str], int], spend: int) -> list[list[tuple]]:
    rows = [
        (ids[("ad", ad)], DAY + timedelta(days=d), spend, 100, 3, 1.0, 2 * spend)
        for ad in ("a1", "a2")
        for d in range(4)
    ]
    return [rows[:5], rows[5:]]


@pytest.mark.postgres
async def test_bulk_load_then_restate(pg_db: Database) -> None:
    ws_id, conn_id = await _setup(pg_db)
    for spend in (1_000_000, 3_000_000):  # first load COPYs, the second merges
        async with pg_db.transaction() as s:
            ids = await upsert_entities(
                s, workspace_id=ws_id, connection_id=conn_id, provider="meta", rows=TREE
            )
            seen: list[int] = []
            written = await bulk_load_facts(
                s,
                workspace_id=ws_id,
                connection_id=conn_id,
                provider="meta",
                chunks=_chunks(ids, spend),
                on_chunk=seen.append,
            )
            assert written == 8 and seen == [5, 3]
    async with pg_db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(MetricFact)) == 8
        assert await s.scalar(select(func.sum(MetricFact.spend_micros))) == 8 * 3_000_000
        assert await s.scalar(select(func.sum(DailyRollup.revenue_micros))) == 16 * 3_000_000
        assert await s.scalar(select(func.sum(DailyRollup.fact_rows))) == 8
        version = await s.scalar(select(Workspace.data_version).where(Workspace.id == ws_id))
        assert version == 3


async def test_bulk_load_refuses_sqlite(sqlite_db: Database) -> None:
    ws_id, conn_id = await _setup(sqlite_db)
    async with sqlite_db.transaction() as s:
        with pytest.raises(RuntimeError):
            await bulk_load_facts(
                s, workspace_id=ws_id, connection_id=conn_id, provider="meta", chunks=[]
            )
