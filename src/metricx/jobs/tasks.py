"""The job functions. Every job takes ids, is idempotent, and runs the same code on arq
workers and in the embedded in-process runner."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from metricx.jobs.context import JobContext

log = structlog.get_logger("metricx.jobs")

JobFn = Callable[..., Awaitable[Any]]


async def sync_connection(
    jc: JobContext,
    *,
    connection_id: int,
    workspace_id: int | None = None,
    run_id: int | None = None,
    due_only: bool = False,
) -> dict[str, Any]:
    """Sync one connection (a no-op when another process holds its lock).

    `workspace_id` is the tenant the job was queued for; a connection of another
    workspace is skipped untouched. None only for jobs queued before it was carried.
    """
    from metricx.sync.service import sync_connection as run_sync

    outcome = await run_sync(
        jc, connection_id, run_id=run_id, due_only=due_only, workspace_id=workspace_id
    )
    return {"status": outcome.status, "run_id": outcome.run_id, "error": outcome.error}


def _optional(module: str, names: tuple[str, ...]) -> JobFn | None:
    """A function another domain may not have built yet."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    for name in names:
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    return None


async def _call_in_transaction(jc: JobContext, fn: JobFn, workspace_id: int) -> Any:
    """Call fn with whichever of (session, workspace_id, settings, http, db) it names."""
    params = inspect.signature(fn).parameters
    async with jc.db.transaction() as session:
        available: dict[str, Any] = {
            "session": session,
            "workspace_id": workspace_id,
            "settings": jc.settings,
            "http": jc.http,
            "db": jc.db,
        }
        return await fn(**{k: v for k, v in available.items() if k in params})


async def attribute_orders(jc: JobContext, *, workspace_id: int) -> dict[str, Any]:
    """Re-attribute a workspace's orders (metricx.attribution.service.run_attribution)."""
    fn = _optional("metricx.attribution.service", ("run_attribution",))
    if fn is None:
        log.info("jobs.attribution_unavailable", workspace_id=workspace_id)
        return {"status": "skipped"}
    await _call_in_transaction(jc, fn, workspace_id)
    return {"status": "succeeded"}


async def refresh_insights(jc: JobContext, *, workspace_id: int) -> dict[str, Any]:
    """Precompute a workspace's dashboard insights (metricx.insights.service)."""
    fn = _optional("metricx.insights.service", ("refresh_insights", "refresh_workspace_insights"))
    if fn is None:
        log.info("jobs.insights_unavailable", workspace_id=workspace_id)
        return {"status": "skipped"}
    await _call_in_transaction(jc, fn, workspace_id)
    return {"status": "succeeded"}


JOBS: dict[str, JobFn] = {
    "sync_connection": sync_connection,
    "attribute_orders": attribute_orders,
    "refresh_insights": refresh_insights,
}

_ID_KEYS = {
    "sync_connection": ("sync", "connection_id"),
    "attribute_orders": ("attribute", "workspace_id"),
    "refresh_insights": ("insights", "workspace_id"),
}


# Seconds a queued job waits before it runs, so a burst of triggers coalesces into one run
# (the job id drops the later enqueues while it waits). attribute_orders recomputes every
# order of the workspace; queued per webhook it ran back to back per shop in the soak,
# rewriting the attributions table faster than autovacuum could keep up.
DEBOUNCE_SECONDS: dict[str, float] = {"attribute_orders": 30.0}


def job_id(name: str, kwargs: dict[str, Any]) -> str:
    """The idempotency key: one queued or running job per (kind, subject)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    prefix, key = _ID_KEYS[name]
    if key != "workspace_id" and kwargs.get("workspace_id") is not None:
        # The tenant is part of the id, so a job id alone says whose data it touches.
        return f"{prefix}:{kwargs['workspace_id']}:{kwargs[key]}"
    return f"{prefix}:{kwargs[key]}"
