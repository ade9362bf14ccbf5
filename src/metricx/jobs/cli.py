"""`metricx worker`: run an arq worker (any number, on any host)."""

from __future__ import annotations

import time
from typing import Annotated

import structlog
import typer

from metricx.config import Settings

log = structlog.get_logger("metricx.jobs.worker")

MAX_RECONNECT_DELAY = 30.0


def worker(
    max_jobs: Annotated[int, typer.Option(min=1, max=200, help="Concurrent jobs.")] = 10,
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty.")] = False,
) -> None:
    """Run background jobs from Redis: syncs, attribution, insights, and the scheduler."""
    from metricx.cli import fail
    from metricx.config import get_settings
    from metricx.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not settings.redis_url:
        fail(
            "metricx worker needs METRICX_REDIS_URL; without Redis, `metricx serve` runs "
            "jobs in-process."
        )
    run_until_stopped(settings, max_jobs=max_jobs, burst=burst)


def run_until_stopped(settings: Settings, *, max_jobs: int, burst: bool) -> None:
    """Run the arq worker; when Redis goes away, wait for it and start again.

    arq's worker exits with the connection error when Redis restarts, so one Redis blip
    used to stop all background work until someone restarted the worker. Jobs lost with
    Redis are queued again by the scheduler from the database.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from metricx.jobs.worker import build_worker

    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            build_worker(settings, max_jobs=max_jobs, burst=burst).run()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            if burst:
                raise
            if time.monotonic() - started > 60:
                delay = 1.0  # it ran for a while: this is a new outage
            log.warning("worker.redis_unavailable", error=str(exc)[:200], retry_in=delay)
            time.sleep(delay)
            delay = min(MAX_RECONNECT_DELAY, delay * 2)


def register(app: typer.Typer) -> None:
    """Add `worker` to the main CLI."""
    app.command("worker")(worker)
