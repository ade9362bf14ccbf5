"""`metricx worker`: an arq worker running the job functions and the scheduler cron."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from arq.connections import RedisSettings
from arq.cron import cron
from arq.worker import Worker, func

from metricx.config import Settings
from metricx.db import Database
from metricx.http import create_http_client
from metricx.jobs import set_queue
from metricx.jobs.context import JobContext
from metricx.jobs.queue import DEFAULT_QUEUE, ArqQueue
from metricx.jobs.scheduler import tick
from metricx.jobs.tasks import JOBS
from metricx.sync.connectors import ConnectorFactory

JOB_TIMEOUT_SECONDS = 3 * 3600


def _arq_job(name: str) -> Any:
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await JOBS[name](ctx["jc"], **kwargs)

    run.__qualname__ = run.__name__ = name
    return run


async def _schedule(ctx: dict[str, Any]) -> dict[str, int]:
    return await tick(ctx["jc"])


def _libc_malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _libc_malloc_trim()


async def _release_memory(ctx: dict[str, Any]) -> None:
    """Hand the heap a job freed back to the system once no job is running.

    A sync or attribution run builds large lists of rows; after it, glibc keeps the freed
    arenas mapped, and over a day of jobs the worker's RSS only ever grew (the soak saw
    +64 MB in ten minutes). Trimming costs a few milliseconds per idle moment.
    """
    worker = ctx.get("worker")
    if worker is not None and getattr(worker, "job_tasks", None):
        return
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def build_worker(
    settings: Settings,
    *,
    queue_name: str = DEFAULT_QUEUE,
    burst: bool = False,
    with_cron: bool = True,
    handle_signals: bool = True,
    max_jobs: int = 10,
    database: Database | None = None,
    connector_factory: ConnectorFactory | None = None,
    now: Callable[[], datetime] | None = None,
) -> Worker:
    """An arq Worker bound to the configured Redis, running every metricx job."""
    if not settings.redis_url:
        raise ValueError("metricx worker needs METRICX_REDIS_URL")

    async def startup(ctx: dict[str, Any]) -> None:
        jc = JobContext(
            db=database or Database(settings),
            settings=settings,
            http=create_http_client(settings),
            queue=ArqQueue(ctx["redis"], queue_name),
        )
        if connector_factory is not None:
            jc.connector_factory = connector_factory
        if now is not None:
            jc.now = now
        ctx["jc"] = jc
        set_queue(jc.queue)  # metricx.jobs.enqueue from code running inside jobs

    async def shutdown(ctx: dict[str, Any]) -> None:
        jc: JobContext | None = ctx.get("jc")
        if jc is None:
            return
        await jc.http.aclose()
        if database is None:
            await jc.db.dispose()

    # Retries are ours (next_sync_at), not arq's: a failed job is recorded, never replayed.
    functions = [
        func(_arq_job(name), name=name, keep_result=0, max_tries=1, timeout=JOB_TIMEOUT_SECONDS)
        for name in JOBS
    ]
    interval = max(1, min(60, settings.scheduler_interval_seconds))
    cron_jobs = (
        [
            cron(
                _schedule,
                name="schedule_due_syncs",
                second=set(range(0, 60, interval)),
                run_at_startup=True,
                unique=True,
            )
        ]
        if with_cron and settings.scheduler_interval_seconds > 0
        else []
    )
    worker = Worker(
        functions=functions,
        cron_jobs=cron_jobs,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        after_job_end=_release_memory,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=max_jobs,
        job_timeout=JOB_TIMEOUT_SECONDS,
        keep_result=0,
        max_tries=1,
        # Give running syncs time to finish a chunk on SIGTERM; cancelled ones reschedule.
        job_completion_wait=25,
        # deploy/compose.yaml's healthcheck reads this key ({queue}:health-check).
        health_check_interval=30,
    )
    worker.ctx["worker"] = worker  # _release_memory asks it whether other jobs still run
    return worker
