"""`metricx worker`: run an arq worker (any number, on any host)."""

from __future__ import annotations

from typing import Annotated

import typer


def worker(
    max_jobs: Annotated[int, typer.Option(min=1, max=200, help="Concurrent jobs.")] = 10,
    burst: Annotated[bool, typer.Option(help="Exit when the queue is empty.")] = False,
) -> None:
    """Run background jobs from Redis: syncs, attribution, insights, and the scheduler."""
    from metricx.cli import fail
    from metricx.config import get_settings
    from metricx.jobs.worker import build_worker
    from metricx.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not settings.redis_url:
        fail(
            "metricx worker needs METRICX_REDIS_URL; without Redis, `metricx serve` runs "
            "jobs in-process."
        )
    build_worker(settings, max_jobs=max_jobs, burst=burst).run()


def register(app: typer.Typer) -> None:
    """Add `worker` to the main CLI."""
    app.command("worker")(worker)
