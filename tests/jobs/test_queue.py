"""The in-process runner, the scheduler and the arq path on real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from metricx.db import Database
from metricx.jobs.queue import ArqQueue, InProcessQueue
from metricx.jobs.scheduler import schedule_due_syncs
from metricx.jobs.tasks import DEBOUNCE_SECONDS, job_id
from metricx.jobs.worker import build_worker
from metricx.models import Connection, MetricFact, SyncRun
from tests.factories import make_tenant
from tests.sync.fakes import NOW, FakeAds, add_connection


async def runs(db: Database, connection_id: int) -> list[SyncRun]:
    async with db.transaction() as s:
        result = await s.scalars(select(SyncRun).where(SyncRun.connection_id == connection_id))
        return list(result.all())


async def get(db: Database, model: Any, ident: int) -> Any:
    async with db.transaction() as s:
        return await s.get(model, ident)


def test_job_ids_make_enqueue_idempotent() -> None:
    assert job_id("sync_connection", {"connection_id": 5, "due_only": True}) == "sync:5"
    assert job_id("attribute_orders", {"workspace_id": 2}) == "attribute:2"
    with pytest.raises(KeyError):
        job_id("nope", {})


async def test_in_process_queue_runs_duplicate_once(db: Database, make_jc) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    jc = make_jc(FakeAds(3))
    queue = InProcessQueue(lambda: jc, concurrency=2)
    jc.queue = queue
    assert await queue.enqueue("sync_connection", connection_id=cid)
    assert not await queue.enqueue("sync_connection", connection_id=cid)
    await queue.join()
    assert [r.status for r in await runs(db, cid)] == ["succeeded"]
    await queue.close()


async def test_shutdown_cancels_and_reschedules_running_sync(db: Database, make_jc) -> None:
    class Slow(FakeAds):
        async def facts(self, start, end):  # type: ignore[no-untyped-def]
            await asyncio.sleep(30)
            yield []

    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    jc = make_jc(Slow(2))
    queue = InProcessQueue(lambda: jc)
    await queue.enqueue("sync_connection", connection_id=cid)
    await asyncio.sleep(0.3)
    await queue.close(drain_seconds=0.1)
    (run,) = await runs(db, cid)
    assert run.status == "failed" and "interrupted" in run.error
    conn = await get(db, Connection, cid)
    assert conn.next_sync_at == NOW  # due at once: the next start picks it up
    assert not await queue.enqueue("sync_connection", connection_id=cid)


async def test_scheduler_fans_out_and_one_failing_tenant_does_not_stop_another(
    db: Database, make_jc
) -> None:
    bad = await make_tenant(db, "bad@example.com")
    good = await make_tenant(db, "good@example.com")
    bad_id = await add_connection(db, bad.workspace_id, next_sync_at=NOW - timedelta(minutes=1))
    good_id = await add_connection(db, good.workspace_id, next_sync_at=NOW)
    later_id = await add_connection(
        db, good.workspace_id, account="act_2", next_sync_at=NOW + timedelta(minutes=5)
    )
    reauth_id = await add_connection(
        db, good.workspace_id, account="act_3", next_sync_at=NOW, status="needs_reauth"
    )

    def factory(*, connection: Connection, **_: Any) -> Any:
        if connection.workspace_id == bad.workspace_id:
            raise RuntimeError("this tenant's client explodes")
        return FakeAds(3)

    jc = make_jc(factory=factory)
    queue = InProcessQueue(lambda: jc)
    jc.queue = queue
    counts = await schedule_due_syncs(jc)
    assert counts == {"due": 2, "enqueued": 2, "failed": 0}
    await queue.join()
    assert (await get(db, Connection, bad_id)).status == "error"
    assert (await get(db, Connection, good_id)).status == "active"
    assert [r.status for r in await runs(db, good_id)] == ["succeeded"]
    assert await runs(db, later_id) == [] and await runs(db, reauth_id) == []
    # Nothing is due any more: the next tick enqueues nothing.
    assert (await schedule_due_syncs(jc))["due"] == 0
    await queue.close()


@pytest.mark.redis
async def test_arq_enqueue_worker_runs_once(db: Database, redis_url: str) -> None:
    tenant = await make_tenant(db)
    cid = await add_connection(db, tenant.workspace_id)
    settings = db.settings.model_copy(update={"redis_url": redis_url})
    queue_name = f"metricx:test:{uuid.uuid4().hex[:8]}"
    queue = await ArqQueue.connect(redis_url, queue_name)
    try:
        assert await queue.enqueue("sync_connection", connection_id=cid)
        assert not await queue.enqueue("sync_connection", connection_id=cid)  # duplicate
        worker = build_worker(
            settings,
            queue_name=queue_name,
            burst=True,
            with_cron=False,
            handle_signals=False,
            database=db,
            connector_factory=lambda **_: FakeAds(4),
            now=lambda: NOW,
        )
        try:
            await worker.async_run()
        finally:
            await worker.close()
        (run,) = await runs(db, cid)
        assert run.status == "succeeded" and run.rows_written == 4 * 90
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(MetricFact)) == 4 * 90
        # Finished jobs keep no result, so the connection can be queued again.
        assert await queue.enqueue("sync_connection", connection_id=cid)
    finally:
        if queue.redis is not None:
            await queue.redis.delete(queue_name)
        await queue.close()


@pytest.mark.redis
async def test_arq_attribution_is_debounced_and_coalesces(redis_url: str) -> None:
    """A burst of webhooks queues one attribute_orders run, DEBOUNCE_SECONDS later."""
    queue_name = f"metricx:test:{uuid.uuid4().hex[:8]}"
    queue = await ArqQueue.connect(redis_url, queue_name)
    try:
        assert await queue.enqueue("attribute_orders", workspace_id=7)
        for _ in range(5):
            assert not await queue.enqueue("attribute_orders", workspace_id=7)
        assert await queue.enqueue("sync_connection", connection_id=3)
        redis = await queue._pool()
        now_ms = time.time() * 1000
        scores = dict(await redis.zrange(queue_name, 0, -1, withscores=True))
        deferred = scores[b"attribute:7"] - now_ms
        wait = DEBOUNCE_SECONDS["attribute_orders"] * 1000
        assert wait - 5_000 < deferred <= wait
        assert scores[b"sync:3"] <= now_ms + 1  # syncs are not delayed
    finally:
        if queue.redis is not None:
            await queue.redis.delete(queue_name, "arq:job:attribute:7", "arq:job:sync:3")
        await queue.close()


def test_worker_registers_every_job_and_the_scheduler_cron(db: Database) -> None:
    settings = db.settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:6379/14", "scheduler_interval_seconds": 20}
    )
    worker = build_worker(settings, handle_signals=False)
    assert set(worker.functions) == {
        "sync_connection",
        "attribute_orders",
        "refresh_insights",
        "schedule_due_syncs",
    }
    (cron_job,) = worker.cron_jobs
    assert cron_job.second == {0, 20, 40} and cron_job.unique
    with pytest.raises(ValueError, match="REDIS_URL"):
        build_worker(db.settings)


async def test_embedded_app_runs_jobs_in_process(app_factory) -> None:
    app = await app_factory(scheduler_interval_seconds=0)
    assert isinstance(app.state.jobs, InProcessQueue) and app.state.scheduler is None
    app = await app_factory()
    assert app.state.scheduler is not None


async def test_module_level_enqueue_uses_the_app_queue(db: Database, app_factory) -> None:
    import metricx.jobs as jobs

    assert await jobs.enqueue("refresh_insights", workspace_id=1) is False  # no queue yet
    app = await app_factory(scheduler_interval_seconds=0)
    assert await jobs.enqueue("attribute_orders", workspace_id=1) is True
    await app.state.jobs.join()


def test_connection_bridge_calls_the_connectors_registry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys
    import types

    from metricx.sync.connectors import ConnectorUnavailable, build_for_connection

    calls: list[tuple] = []
    fake = types.ModuleType("metricx.connectors.registry")
    fake.build_connector = lambda provider, **kw: calls.append((provider, kw)) or "client"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "metricx.connectors.registry", fake)
    shop = Connection(provider="shopify", external_account_id="1", shop_domain="b.myshopify.com")
    assert (
        build_for_connection(http=None, settings=None, connection=shop, credentials={"a": 1})
        == "client"
    )  # type: ignore[arg-type]
    assert calls[0][0] == "shopify" and calls[0][1]["external_id"] == "b.myshopify.com"
    assert calls[0][1]["credentials"] == {"a": 1}
    monkeypatch.setitem(sys.modules, "metricx.connectors.registry", types.ModuleType("x"))
    with pytest.raises(ConnectorUnavailable):
        build_for_connection(http=None, settings=None, connection=shop, credentials={})  # type: ignore[arg-type]
