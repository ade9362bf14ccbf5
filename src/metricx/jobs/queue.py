"""The one queue interface, `enqueue(name, **kwargs)`, with two implementations.

ArqQueue puts jobs on Redis for any number of `metricx worker` processes; the job id makes
enqueueing idempotent (a second enqueue while one is queued or running is dropped).
InProcessQueue runs the same job functions as asyncio tasks inside `metricx serve`, with
bounded concurrency. In both, the database (queued sync_runs, next_sync_at) is the record
of work to do: a dropped or lost job is picked up again by the scheduler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from metricx.jobs.context import JobContext
from metricx.jobs.tasks import DEBOUNCE_SECONDS, JOBS, job_id

log = structlog.get_logger("metricx.jobs.queue")

DEFAULT_QUEUE = "metricx:jobs"


class JobQueue(Protocol):
    """Where jobs go."""

    async def enqueue(self, name: str, **kwargs: Any) -> bool:
        """Queue a job; False when the same job is already queued or running."""
        ...

    async def close(self) -> None:
        """Release resources (the in-process runner drains first)."""
        ...


class ArqQueue:
    """Jobs on Redis via arq; the pool opens on first use so a Redis outage never stops
    the API from starting (enqueue fails, the scheduler catches up later)."""

    def __init__(
        self, redis: Any = None, queue_name: str = DEFAULT_QUEUE, *, redis_url: str | None = None
    ) -> None:
        self.redis = redis
        self.queue_name = queue_name
        self._url = redis_url
        self._owned = redis is None
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, redis_url: str, queue_name: str = DEFAULT_QUEUE) -> ArqQueue:
        """An arq queue on the given Redis (connected lazily)."""
        return cls(queue_name=queue_name, redis_url=redis_url)

    async def _pool(self) -> Any:
        if self.redis is None:
            async with self._lock:
                if self.redis is None:
                    from arq import create_pool
                    from arq.connections import RedisSettings

                    assert self._url is not None
                    settings = RedisSettings.from_dsn(self._url)
                    settings.conn_retries = 0
                    self.redis = await create_pool(settings, default_queue_name=self.queue_name)
        return self.redis

    async def enqueue(self, name: str, **kwargs: Any) -> bool:
        """Queue on Redis; the job id drops duplicates (debounced jobs wait to coalesce)."""
        redis = await self._pool()
        job = await redis.enqueue_job(
            name,
            _job_id=job_id(name, kwargs),
            _queue_name=self.queue_name,
            _defer_by=DEBOUNCE_SECONDS.get(name),
            **kwargs,
        )
        log.info("jobs.enqueued", job=name, queued=job is not None, **kwargs)
        return job is not None

    async def release(self, name: str, **kwargs: Any) -> None:
        """Forget a job whose worker died, so the same job id can be queued again.

        Only the scheduler calls this, after proving (by the database lock) that no
        process is running the job.
        """
        from arq.constants import (
            in_progress_key_prefix,
            job_key_prefix,
            result_key_prefix,
            retry_key_prefix,
        )

        key = job_id(name, kwargs)
        redis = await self._pool()
        prefixes = (job_key_prefix, in_progress_key_prefix, retry_key_prefix, result_key_prefix)
        await redis.delete(*(prefix + key for prefix in prefixes))
        await redis.zrem(self.queue_name, key)

    async def close(self) -> None:
        """Close the pool if we opened it."""
        if self._owned and self.redis is not None:
            await self.redis.aclose()
            self.redis = None


class InProcessQueue:
    """Runs jobs as tasks of this process, at most `concurrency` at a time."""

    def __init__(self, context: Callable[[], JobContext], concurrency: int = 4) -> None:
        self._context = context
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._closing = False

    async def enqueue(self, name: str, **kwargs: Any) -> bool:
        """Start the job as a task unless the same job is already pending or running."""
        key = job_id(name, kwargs)
        if self._closing or key in self._tasks:
            return False
        self._tasks[key] = asyncio.create_task(self._run(key, name, kwargs), name=key)
        return True

    async def _run(self, key: str, name: str, kwargs: dict[str, Any]) -> Any:
        try:
            async with self._slots:
                return await JOBS[name](self._context(), **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            # One job's failure is logged and never reaches the runner or other jobs.
            log.exception("jobs.failed", job=name, **kwargs)
            return None
        finally:
            self._tasks.pop(key, None)

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        return len(self._tasks)

    async def join(self) -> None:
        """Wait until no job is pending (tests, CLI)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self, drain_seconds: float = 20.0) -> None:
        """Drain for up to `drain_seconds`, then cancel; cancelled syncs reschedule."""
        self._closing = True
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, still = await asyncio.wait(tasks, timeout=drain_seconds)
        for task in still:
            task.cancel()
        if still:
            log.warning("jobs.cancelled_on_shutdown", count=len(still))
            await asyncio.gather(*still, return_exceptions=True)


async def enqueue_quietly(queue: JobQueue | None, name: str, **kwargs: Any) -> bool:
    """Enqueue after a commit without failing the request: the scheduler is the backstop."""
    if queue is None:
        return False
    try:
        return await queue.enqueue(name, **kwargs)
    except Exception:
        log.warning("jobs.enqueue_failed", job=name, exc_info=True, **kwargs)
        return False
