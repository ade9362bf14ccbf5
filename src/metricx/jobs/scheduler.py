"""The scheduler: enqueue one sync per connection whose next_sync_at is due.

Each tick also rebuilds the entity summaries of workspaces whose local day has rolled
over (until then their preset windows are read from the facts, slower but right).

It only reads and enqueues; each connection's sync is its own job, so one tenant's
failing sync (or even a failing enqueue) never delays another's. In worker mode it runs
as an arq cron job (unique across workers); embedded, as a loop inside `metricx serve`.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import select, update

from metricx.jobs.context import JobContext
from metricx.jobs.locks import connection_lock
from metricx.metrics import summaries
from metricx.models import Connection, SyncRun
from metricx.tenancy import unscoped_across_all_workspaces

log = structlog.get_logger("metricx.jobs.scheduler")

UNSCHEDULED_STATUSES = ("needs_reauth", "paused")
UNSCHEDULED_PROVIDERS = ("csv",)
BATCH = 5_000


async def due_connections(jc: JobContext) -> list[tuple[int, int]]:
    """(connection id, workspace id) of every connection due for a sync, oldest first."""
    query = unscoped_across_all_workspaces(
        select(Connection.id, Connection.workspace_id)
        .where(
            Connection.next_sync_at <= jc.now(),
            Connection.status.not_in(UNSCHEDULED_STATUSES),
            Connection.provider.not_in(UNSCHEDULED_PROVIDERS),
        )
        .order_by(Connection.next_sync_at)
        .limit(BATCH)
    )
    async with jc.db.transaction() as s:
        return [(int(cid), int(wid)) for cid, wid in (await s.execute(query)).all()]


async def schedule_due_syncs(jc: JobContext) -> dict[str, int]:
    """Fan out one sync job per due connection; returns counts."""
    counts = {"due": 0, "enqueued": 0, "failed": 0}
    ids = await due_connections(jc)
    counts["due"] = len(ids)
    for connection_id, workspace_id in ids:
        try:
            if await jc.enqueue(
                "sync_connection",
                connection_id=connection_id,
                workspace_id=workspace_id,
                due_only=True,
            ):
                counts["enqueued"] += 1
        except Exception:
            counts["failed"] += 1
            log.exception("scheduler.enqueue_failed", connection_id=connection_id)
    if ids:
        log.info("scheduler.tick", **counts)
    return counts


async def refresh_stale_summaries(jc: JobContext) -> int:
    """Rebuild the entity summaries of workspaces whose day rolled over, one per transaction."""
    async with jc.db.transaction() as s:
        ids = await summaries.stale_workspace_ids(s, jc.now)
    done = 0
    for workspace_id in ids:
        try:
            async with jc.db.transaction() as s:
                done += await summaries.refresh(s, workspace_id, clock=jc.now)
        except Exception:
            log.exception("scheduler.summary_refresh_failed", workspace_id=workspace_id)
    if ids:
        log.info("scheduler.summaries_refreshed", stale=len(ids), refreshed=done)
    return done


async def recover_orphaned_syncs(jc: JobContext) -> int:
    """Requeue syncs whose worker died: runs still `running` while nobody holds the lock.

    A SIGKILLed or crashed arq worker leaves its job "in progress" in Redis for the job
    timeout (hours), and arq drops every enqueue of that job id until then, so without
    this a killed sync would wait hours for its retry. The advisory lock is the truth: it
    dies with the worker's connection. PostgreSQL only (embedded mode has one process).
    """
    if jc.db.dialect != "postgresql":
        return 0
    async with jc.db.transaction() as s:
        running = (
            select(SyncRun.connection_id, SyncRun.workspace_id)
            .where(SyncRun.status == "running")
            .distinct()
        )
        ids = [tuple(r) for r in await s.execute(unscoped_across_all_workspaces(running))]
    recovered = 0
    for connection_id, workspace_id in ids:
        async with connection_lock(jc.db, connection_id) as locked:
            if not locked:
                continue  # a live process is syncing it
            now = jc.now()
            async with jc.db.transaction() as s:
                marked = await s.execute(
                    update(SyncRun)
                    .where(SyncRun.connection_id == connection_id, SyncRun.status == "running")
                    .values(status="failed", finished_at=now, error="interrupted: the worker died")
                )
                if not marked.rowcount:
                    continue  # it finished between the query and the lock
                await s.execute(
                    update(Connection)
                    .where(Connection.id == connection_id, Connection.next_sync_at.is_not(None))
                    .values(next_sync_at=now)
                )
        release = getattr(jc.queue, "release", None)
        if release is not None:
            # The job id names the tenant too (see tasks.job_id), as the enqueue did.
            await release("sync_connection", connection_id=connection_id, workspace_id=workspace_id)
        recovered += 1
        log.warning("scheduler.orphaned_sync_requeued", connection_id=connection_id)
    return recovered


async def tick(jc: JobContext) -> dict[str, int]:
    """One scheduler tick: requeue orphaned syncs, queue due ones, roll summaries over."""
    recovered = await recover_orphaned_syncs(jc)
    counts = await schedule_due_syncs(jc)
    counts["orphans_requeued"] = recovered
    counts["summaries_refreshed"] = await refresh_stale_summaries(jc)
    return counts


class SchedulerLoop:
    """Runs a scheduler tick every `interval` seconds until stopped (embedded mode)."""

    def __init__(self, jc: JobContext, interval: float) -> None:
        self.jc = jc
        self.interval = max(1.0, float(interval))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start ticking (the first tick is immediate: it resumes work left at shutdown)."""
        self._task = asyncio.create_task(self._loop(), name="metricx-scheduler")

    async def _loop(self) -> None:
        while True:
            try:
                await tick(self.jc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler.tick_failed")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
