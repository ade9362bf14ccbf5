"""sync_connection: one locked, recorded, idempotent run of one connection.

The run is recorded in sync_runs (queued → running → succeeded | failed) and the outcome
on the connection (status, last_*, next_sync_at). Provider failures decide what happens
next: expired credentials wait for the user, rate limits wait as long as the provider
asks, transient errors retry with backoff a bounded number of times.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update

from metricx.connectors.base import (
    AuthExpired,
    ConnectorError,
    ProviderRateLimited,
    TransientProviderError,
)
from metricx.crypto import SecretBox
from metricx.jobs.context import JobContext
from metricx.jobs.locks import connection_lock
from metricx.models import Connection, SyncRun
from metricx.sync.flows import ProgressFn, SyncPlan, sync_ads, sync_orders
from metricx.sync.fx import MissingFxRate
from metricx.sync.windows import as_marker

log = structlog.get_logger("metricx.sync")

MAX_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 1800
NOT_SYNCABLE = ("csv",)


@dataclass
class SyncOutcome:
    """What one call of sync_connection did."""

    connection_id: int
    status: str  # succeeded | failed | skipped
    run_id: int | None = None
    connection_status: str | None = None
    rows_written: int = 0
    counters: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def backoff_seconds(attempt: int) -> int:
    """Exponential backoff after the n-th failed attempt, capped."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))


async def sync_connection(
    jc: JobContext,
    connection_id: int,
    *,
    run_id: int | None = None,
    due_only: bool = False,
    progress: ProgressFn | None = None,
    workspace_id: int | None = None,
) -> SyncOutcome:
    """Sync one connection unless another process is already syncing it.

    With `workspace_id`, a connection that is not in that workspace is skipped untouched:
    a job queued for one tenant can never write another's data.
    """
    async with connection_lock(jc.db, connection_id) as locked:
        if not locked:
            log.info("sync.already_running", connection_id=connection_id)
            return SyncOutcome(connection_id, "skipped", run_id, error="already syncing")
        return await _sync_locked(jc, connection_id, run_id, due_only, progress, workspace_id)


async def _start(
    jc: JobContext,
    connection_id: int,
    run_id: int | None,
    due_only: bool,
    now: datetime,
    workspace_id: int | None = None,
) -> tuple[Connection, SyncRun] | SyncOutcome:
    async with jc.db.transaction() as s:
        conn = await s.get(Connection, connection_id)
        if conn is None:
            return SyncOutcome(connection_id, "skipped", run_id, error="no such connection")
        if workspace_id is not None and conn.workspace_id != workspace_id:
            # Same answer as a missing connection: the job learns nothing about other tenants.
            log.warning(
                "sync.foreign_connection", connection_id=connection_id, workspace_id=workspace_id
            )
            return SyncOutcome(connection_id, "skipped", run_id, error="no such connection")
        if conn.provider in NOT_SYNCABLE or conn.status == "paused":
            return SyncOutcome(connection_id, "skipped", run_id, error=f"{conn.status} connection")
        if due_only and (conn.next_sync_at is None or conn.next_sync_at > now):
            return SyncOutcome(connection_id, "skipped", run_id, error="not due")
        # We hold the lock, so any run still marked running lost its worker.
        await s.execute(
            update(SyncRun)
            .where(SyncRun.connection_id == conn.id, SyncRun.status == "running")
            .values(status="failed", finished_at=now, error="interrupted: the worker stopped")
        )
        previous = await s.scalar(
            select(SyncRun)
            .where(
                SyncRun.connection_id == conn.id,
                SyncRun.kind == "sync",
                SyncRun.status.in_(("succeeded", "failed")),
            )
            .order_by(SyncRun.id.desc())
            .limit(1)
        )
        attempt = 1
        # Consecutive transient failures count up; any other outcome starts again at 1.
        if previous is not None and previous.status == "failed" and previous.counters.get("retry"):
            attempt = previous.attempt + 1
        query = select(SyncRun).where(SyncRun.connection_id == conn.id, SyncRun.status == "queued")
        if run_id is not None:
            query = query.where(SyncRun.id == run_id)
        run = await s.scalar(query.order_by(SyncRun.id).limit(1))
        if run is None:
            run = SyncRun(workspace_id=conn.workspace_id, connection_id=conn.id, kind="sync")
            s.add(run)
        run.status, run.started_at, run.attempt = "running", now, attempt
        run.counters, run.rows_written = {}, 0
        conn.last_sync_started_at = now
        conn.sync_generation = (conn.sync_generation or 0) + 1
        await s.flush()
        return conn, run


async def _sync_locked(
    jc: JobContext,
    connection_id: int,
    run_id: int | None,
    due_only: bool,
    progress: ProgressFn | None,
    workspace_id: int | None = None,
) -> SyncOutcome:
    now = jc.now()
    started = await _start(jc, connection_id, run_id, due_only, now, workspace_id)
    if isinstance(started, SyncOutcome):
        return started
    conn, run = started
    plan = SyncPlan(
        connection_id=conn.id,
        workspace_id=conn.workspace_id,
        provider=conn.provider,
        run_id=run.id,
        now=now,
        settings=dict(conn.settings or {}),
        backfilled_through=conn.backfilled_through,
        progress=progress,
    )
    log.info("sync.started", connection_id=conn.id, run_id=run.id, attempt=run.attempt)
    try:
        try:
            credentials = _credentials(jc, conn)
        except ValueError as exc:
            raise AuthExpired(f"stored credentials cannot be decrypted: {exc}") from exc
        connector = jc.connector_factory(
            http=jc.http, settings=jc.settings, connection=conn, credentials=credentials
        )
        if conn.provider == "shopify":
            await sync_orders(jc, plan, connector)
        else:
            await sync_ads(jc, plan, connector)
    except asyncio.CancelledError:
        # Shutdown: record the interruption and make the scheduler pick it up again at once.
        await asyncio.shield(
            _finish(jc, conn, run.id, plan, "failed", "active", "interrupted; will retry", now)
        )
        raise
    except Exception as exc:
        return await _failed(jc, conn, run, plan, exc)
    outcome = await _finish(jc, conn, run.id, plan, "succeeded", "active", None, None)
    await jc.enqueue("attribute_orders", workspace_id=conn.workspace_id)
    await jc.enqueue("refresh_insights", workspace_id=conn.workspace_id)
    return outcome


def _credentials(jc: JobContext, conn: Connection) -> dict[str, Any]:
    if not conn.credentials_encrypted:
        return {}
    value = SecretBox.from_settings(jc.settings).decrypt_json(conn.credentials_encrypted)
    return value if isinstance(value, dict) else {}


async def _failed(
    jc: JobContext, conn: Connection, run: SyncRun, plan: SyncPlan, exc: Exception
) -> SyncOutcome:
    now = jc.now()
    message = str(exc) or type(exc).__name__
    if isinstance(exc, AuthExpired):
        status, next_at = "needs_reauth", None
        message = f"The provider rejected the credentials; reconnect the account. ({message})"
    elif isinstance(exc, MissingFxRate):
        status, next_at = "needs_rate", now + timedelta(minutes=conn.sync_frequency_minutes)
    elif isinstance(exc, ProviderRateLimited):
        status, next_at = "active", now + timedelta(seconds=max(1.0, exc.retry_after))
        plan.counters["rate_limited"] = True
        message = f"Rate limited by the provider; retrying at {next_at.isoformat()}. ({message})"
    elif isinstance(exc, TransientProviderError) and run.attempt < MAX_ATTEMPTS:
        status, next_at = "active", now + timedelta(seconds=backoff_seconds(run.attempt))
        plan.counters["retry"] = True
        message = f"Temporary provider error, attempt {run.attempt}/{MAX_ATTEMPTS}: {message}"
    else:
        status, next_at = "error", now + timedelta(minutes=conn.sync_frequency_minutes)
        if not isinstance(exc, ConnectorError):
            log.exception("sync.crashed", connection_id=conn.id, run_id=run.id)
    log.warning(
        "sync.failed",
        connection_id=conn.id,
        run_id=run.id,
        error=type(exc).__name__,
        connection_status=status,
    )
    return await _finish(jc, conn, run.id, plan, "failed", status, message[:4000], next_at)


async def _finish(
    jc: JobContext,
    conn: Connection,
    run_id: int,
    plan: SyncPlan,
    run_status: str,
    conn_status: str,
    error: str | None,
    next_at: datetime | None,
) -> SyncOutcome:
    now = jc.now()
    values: dict[str, Any] = {
        "status": conn_status,
        "last_sync_finished_at": now,
        "last_error": error,
    }
    if run_status == "succeeded":
        values["last_success_at"] = now
        values["next_sync_at"] = now + timedelta(minutes=conn.sync_frequency_minutes)
        if plan.end is not None:
            values["backfilled_through"] = as_marker(plan.end)
    else:
        values["next_sync_at"] = next_at
    async with jc.db.transaction() as s:
        waiting = await s.scalar(
            select(SyncRun.id)
            .where(SyncRun.connection_id == conn.id, SyncRun.status == "queued")
            .limit(1)
        )
        if waiting is not None and values["next_sync_at"] is not None:
            # "Sync now" was asked while this run was going: the scheduler runs it next tick.
            values["next_sync_at"] = min(values["next_sync_at"], now)
        await s.execute(update(Connection).where(Connection.id == conn.id).values(**values))
        await s.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(status=run_status, finished_at=now, error=error, counters=plan.counters)
        )
        rows = await s.scalar(select(SyncRun.rows_written).where(SyncRun.id == run_id))
    log.info("sync.finished", connection_id=conn.id, run_id=run_id, status=run_status)
    return SyncOutcome(
        conn.id,
        run_status,
        run_id,
        connection_status=conn_status,
        rows_written=int(rows or 0),
        counters=dict(plan.counters),
        error=error,
    )
