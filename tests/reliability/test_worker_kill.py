"""An arq worker SIGKILLed in the middle of a sync: a new worker picks the job up and the
data ends equal to a clean run's."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, text

from metricx.db import Database
from metricx.jobs.context import JobContext
from metricx.models import SyncRun
from metricx.sync.service import sync_connection
from tests.conftest import test_settings as db_settings
from tests.factories import make_tenant
from tests.fakes.fixtures import settings_for
from tests.fakes.meta import FakeMeta
from tests.reliability.app_process import WorkerProcess
from tests.reliability.services import PrivatePostgres, PrivateRedis, record
from tests.sync.fakes import add_connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(150)]

TZ = "Europe/Berlin"
PER_CALL_DELAY = 0.15


async def _facts(db: Database, connection_id: int) -> dict[tuple[str, str, str], tuple]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT e.level, e.external_id, f.event_date, f.spend_micros, f.impressions, "
                "f.clicks, f.conversions, f.revenue_micros FROM metric_facts f "
                "JOIN entities e ON e.id = f.entity_id WHERE f.connection_id = :c"
            ),
            {"c": connection_id},
        )
        return {(r[0], r[1], str(r[2])): tuple(r[3:]) for r in rows}


async def _runs(db: Database, connection_id: int) -> list[tuple[str, str | None]]:
    async with db.transaction() as s:
        runs = await s.scalars(
            select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(SyncRun.id)
        )
        return [(r.status, r.error) for r in runs]


async def _wait(predicate, timeout: float, what: str, worker: WorkerProcess):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"{what} within {timeout}s\n{worker.stderr()}"
        await asyncio.sleep(0.1)


async def test_killed_worker_job_is_retried_and_equals_a_clean_run(
    private_pg: PrivatePostgres,
    private_pg_url: str,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    fake = FakeMeta(ads=20, days=90, end=today, currency="EUR", timezone=TZ)
    fake.start()
    settings = settings_for(meta=fake, database_url=private_pg_url, slow_query_ms=60_000)
    db = Database(db_settings(private_pg_url, slow_query_ms=60_000), url=private_pg_url)
    worker = WorkerProcess(
        tmp_path, private_pg_url, private_redis.url, METRICX_META_GRAPH_URL=settings.meta_graph_url
    )
    try:
        creds = {"access_token": "meta-token"}
        clean_ws = (await make_tenant(db, "clean@example.com", currency="EUR")).workspace_id
        clean_id = await add_connection(db, clean_ws, account="act_1234567890", credentials=creds)
        async with httpx.AsyncClient(timeout=5) as http:
            jc = JobContext(db=db, settings=settings, http=http)
            outcome = await sync_connection(jc, clean_id)
        assert outcome.status == "succeeded", outcome
        clean = await _facts(db, clean_id)
        assert clean

        ws = (await make_tenant(db, "killed@example.com", currency="EUR")).workspace_id
        fake.hang_next(1_000_000, PER_CALL_DELAY)  # slow every call: the kill lands mid-sync
        cid = await add_connection(
            db, ws, account="act_1234567890", credentials=creds, next_sync_at=datetime.now(UTC)
        )
        worker.start()  # its scheduler cron finds the due connection at startup

        async def some_facts() -> bool:
            return len(await _facts(db, cid)) > 0

        await _wait(some_facts, 40, "no chunk committed", worker)
        assert worker.kill() == -9
        killed_at = time.monotonic()
        partial = len(await _facts(db, cid))
        assert 0 < partial < len(clean), (partial, len(clean))
        assert [s for s, _ in await _runs(db, cid)] == ["running"]

        fake.hang_next(0)
        worker.start()

        async def finished() -> bool:
            return any(s == "succeeded" for s, _ in await _runs(db, cid))

        await _wait(finished, 40, "the killed sync was not retried", worker)
        recovery = time.monotonic() - killed_at
        await asyncio.sleep(2.5)  # two more scheduler ticks: nothing may run it again
        worker.stop()
        runs = await _runs(db, cid)
        assert [s for s, _ in runs] == ["failed", "succeeded"], runs
        assert "interrupted" in (runs[0][1] or "")
        assert await _facts(db, cid) == clean
    finally:
        worker.stop()
        fake.stop()
        await db.dispose()
    record(
        "worker_sigkill",
        recovery_seconds=round(recovery, 3),
        facts=len(clean),
        facts_before_kill=partial,
    )
