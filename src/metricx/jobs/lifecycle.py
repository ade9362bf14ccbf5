"""Wire the job queue into the app: in-process runner + scheduler, or an arq client."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request

from metricx import jobs
from metricx.jobs.context import JobContext
from metricx.jobs.queue import ArqQueue, InProcessQueue, JobQueue
from metricx.jobs.scheduler import SchedulerLoop

log = structlog.get_logger("metricx.jobs")

EMBEDDED_CONCURRENCY = 4
SHUTDOWN_DRAIN_SECONDS = 15.0


async def start_jobs(app: FastAPI) -> None:
    """Embedded: run jobs and the scheduler here. With Redis: only enqueue to arq."""
    settings = app.state.settings
    jc = JobContext(db=app.state.db, settings=settings, http=app.state.http)
    app.state.job_context = jc
    app.state.scheduler = None
    if settings.run_jobs_inline:
        queue: Any = InProcessQueue(lambda: jc, concurrency=EMBEDDED_CONCURRENCY)
        jc.queue = queue
        app.state.jobs = queue
        # An interval of 0 turns the embedded scheduler off (tests, read-only replicas).
        if settings.scheduler_interval_seconds > 0:
            scheduler = SchedulerLoop(jc, settings.scheduler_interval_seconds)
            scheduler.start()
            app.state.scheduler = scheduler
        log.info("jobs.embedded_runner_started", scheduler=app.state.scheduler is not None)
    else:
        queue = await ArqQueue.connect(settings.redis_url)
        jc.queue = queue
        app.state.jobs = queue
    jobs.set_queue(app.state.jobs)


async def stop_jobs(app: FastAPI) -> None:
    """Stop the scheduler, then drain (embedded) or close the Redis pool."""
    jobs.set_queue(None)
    scheduler = getattr(app.state, "scheduler", None)
    if scheduler is not None:
        await scheduler.stop()
    queue = getattr(app.state, "jobs", None)
    if isinstance(queue, InProcessQueue):
        await queue.close(drain_seconds=SHUTDOWN_DRAIN_SECONDS)
    elif queue is not None:
        await queue.close()


def install(app: FastAPI) -> None:
    """Register the hooks on the app (called from main.create_app)."""
    app.state.startup_hooks.append(start_jobs)
    app.state.shutdown_hooks.append(stop_jobs)


async def get_queue(request: Request) -> JobQueue:
    """The app's job queue (a FastAPI dependency)."""
    return request.app.state.jobs  # type: ignore[no-any-return]
