"""The per-process gate on fact-summing statements (metricx.db.heavy_query_slot)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

from metricx.config import Settings
from metricx.db import Database, heavy_query_slot, set_heavy_query_limit
from metricx.metrics import entity_queries
from metricx.metrics.schemas import Filters
from metricx.metrics.timeframes import resolve
from metricx.tenancy import AuthContext
from tests.metrics.dataset import build


async def test_the_gate_admits_the_configured_number_at_once() -> None:
    set_heavy_query_limit(3)
    running = peak = 0

    async def heavy() -> None:
        nonlocal running, peak
        async with heavy_query_slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    try:
        await asyncio.gather(*(heavy() for _ in range(10)))
    finally:
        set_heavy_query_limit(Settings().heavy_query_concurrency)
    assert peak == 3


async def test_rankings_off_the_summaries_pass_the_gate(db: Database, monkeypatch) -> None:
    ds = await build(db, today=date(2026, 3, 15), days=30)
    used: list[str] = []

    @contextlib.asynccontextmanager
    async def counting():  # type: ignore[no-untyped-def]
        used.append("slot")
        async with heavy_query_slot():
            yield

    monkeypatch.setattr(entity_queries, "heavy_query_slot", counting)
    ctx = AuthContext(user_id=ds.tenant.user_id, workspace_id=ds.tenant.workspace_id, role="owner")
    tf = resolve(None, date(2026, 3, 1), date(2026, 3, 14), tz="UTC")
    async with db.transaction() as s:
        rows, total = await entity_queries.entity_rows(
            s, ctx, tf, Filters(), level="campaign", sort="spend", descending=True,
            limit=5, offset=0, compare=False, with_data_only=True,
        )  # fmt: skip
    assert rows and total and used == ["slot"]
