"""Redis stops (and loses everything: no persistence) while the API serves and syncs are
queued: the API keeps answering from the database, and once Redis is back every queued
sync runs exactly once (the database, not the queue, is the record of work)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from metricx.db import Database
from metricx.jobs.queue import DEFAULT_QUEUE
from metricx.models import SyncRun
from tests.conftest import test_settings as db_settings
from tests.factories import login_headers, make_tenant
from tests.fakes.meta import FakeMeta
from tests.reliability.app_process import ServeProcess, WorkerProcess
from tests.reliability.services import PrivateRedis, record
from tests.sync.fakes import add_connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(150)]

TZ = "Europe/Berlin"
TENANTS = 3
DEGRADED_BOUND = 2.0  # seconds: a dashboard with Redis gone still answers well within this


async def _runs(db: Database) -> dict[int, list[str]]:
    async with db.transaction() as s:
        rows = (await s.execute(select(SyncRun.connection_id, SyncRun.status))).all()
    out: dict[int, list[str]] = {}
    for cid, status in rows:
        out.setdefault(cid, []).append(status)
    return out


async def test_api_degrades_and_queued_syncs_run_once_after_redis_returns(
    private_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    meta = FakeMeta(ads=5, days=90, end=today, currency="EUR", timezone=TZ)
    meta.start()
    db = Database(db_settings(private_pg_url), url=private_pg_url)
    env = {"METRICX_REDIS_URL": private_redis.url, "METRICX_META_GRAPH_URL": meta.url + "/v25.0"}
    serve = ServeProcess(tmp_path, private_pg_url, METRICX_JOBS_INLINE="false", **env)
    worker = WorkerProcess(tmp_path, private_pg_url, private_redis.url, **env)
    try:
        tenants = []
        for i in range(TENANTS):
            t = await make_tenant(db, f"t{i}@example.com", currency="EUR")
            cid = await add_connection(
                db, t.workspace_id, account="act_1234567890",
                credentials={"access_token": "meta-token"},
            )  # fmt: skip
            tenants.append((t, cid))
        serve.start()
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as client:
            auths = [await login_headers(client, t.email) for t, _ in tenants]

            async def sync_now(i: int) -> None:
                t, cid = tenants[i]
                r = await client.post(
                    f"/api/workspaces/{t.workspace_id}/connections/{cid}/sync", headers=auths[i]
                )
                assert r.status_code == 202, r.text

            async def dashboard(i: int) -> float:
                started = time.monotonic()
                r = await client.get(
                    f"/api/workspaces/{tenants[i][0].workspace_id}/dashboard", headers=auths[i]
                )
                assert r.status_code == 200, (r.text, serve.stderr())
                return time.monotonic() - started

            await sync_now(0)
            await sync_now(1)
            await dashboard(0)  # warm the Redis cache
            queued = aioredis.from_url(private_redis.url)
            assert await queued.zcard(DEFAULT_QUEUE) == 2  # on the queue, no worker yet
            await queued.aclose()

            await asyncio.to_thread(private_redis.stop)  # the queue's contents are gone
            degraded = [await dashboard(i % TENANTS) for i in range(12)]
            await sync_now(2)  # accepted while Redis is down: durable in the database
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"
            assert max(degraded) < DEGRADED_BOUND, degraded

            await asyncio.to_thread(private_redis.start)
            back_at = time.monotonic()
            worker.start()
            deadline = time.monotonic() + 60
            while True:
                runs = await _runs(db)
                if all(runs.get(cid) == ["succeeded"] for _, cid in tenants):
                    break
                assert time.monotonic() < deadline, (runs, worker.stderr())
                await asyncio.sleep(0.1)
            drained = time.monotonic() - back_at
            assert (await dashboard(0)) < DEGRADED_BOUND
            r = await client.get("/readyz")
            assert r.status_code == 200, r.text
        await asyncio.sleep(2.5)  # more scheduler ticks: nothing runs a second time
        runs = await _runs(db)
        assert {cid: runs.get(cid) for _, cid in tenants} == {
            cid: ["succeeded"] for _, cid in tenants
        }
        assert meta.calls["account"] == TENANTS, dict(meta.calls)
    finally:
        worker.stop()
        serve.stop()
        meta.stop()
        await db.dispose()
    record(
        "redis_outage",
        dashboard_p_max_while_down_seconds=round(max(degraded), 3),
        queued_syncs_done_after_redis_back_seconds=round(drained, 3),
        syncs=TENANTS,
        executions_per_sync=1,
    )


async def test_worker_survives_a_redis_restart_and_keeps_working(
    private_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    today = datetime.now(UTC).astimezone(ZoneInfo(TZ)).date()
    meta = FakeMeta(ads=5, days=90, end=today, currency="EUR", timezone=TZ)
    meta.start()
    db = Database(db_settings(private_pg_url), url=private_pg_url)
    worker = WorkerProcess(
        tmp_path, private_pg_url, private_redis.url, METRICX_META_GRAPH_URL=meta.url + "/v25.0"
    )
    try:
        tenant = await make_tenant(db, currency="EUR")
        worker.start()
        await asyncio.sleep(3)  # connected and ticking
        assert worker.proc is not None and worker.proc.poll() is None, worker.stderr()
        await asyncio.to_thread(private_redis.stop)
        await asyncio.sleep(3)
        assert worker.proc.poll() is None, worker.stderr()  # waiting, not dead
        await asyncio.to_thread(private_redis.start)
        back_at = time.monotonic()
        cid = await add_connection(
            db, tenant.workspace_id, account="act_1234567890",
            credentials={"access_token": "meta-token"}, next_sync_at=datetime.now(UTC),
        )  # fmt: skip
        deadline = time.monotonic() + 40
        while (await _runs(db)).get(cid) != ["succeeded"]:
            assert time.monotonic() < deadline, ((await _runs(db)), worker.stderr())
            await asyncio.sleep(0.1)
        resumed = time.monotonic() - back_at
        assert worker.proc.poll() is None
    finally:
        worker.stop()
        meta.stop()
        await db.dispose()
    record("redis_restart_worker", first_job_done_after_redis_back_seconds=round(resumed, 3))
