"""Background jobs: one set of job functions, run by arq workers or an in-process runner.

- `context.py`  JobContext: what every job needs (database, settings, HTTP, queue).
- `tasks.py`    the job functions: sync_connection, attribute_orders, refresh_insights.
- `queue.py`    the one `enqueue(name, **kwargs)` interface: arq on Redis, or in-process.
- `scheduler.py` finds connections due for a sync and fans out one job per connection.
- `locks.py`    the per-connection sync lock (PostgreSQL advisory lock / in-process).
- `worker.py`   arq worker settings for `metricx worker`.
- `lifecycle.py` startup/shutdown hooks that wire the above into `metricx serve`.
"""

from __future__ import annotations

from typing import Any

_current_queue: Any = None


def set_queue(queue: Any) -> None:
    """Make `queue` the process's queue for `enqueue` (set by serve's startup and the worker)."""
    global _current_queue
    _current_queue = queue


async def enqueue(name: str, **kwargs: Any) -> bool:
    """Queue a job on this process's queue: `await enqueue("attribute_orders", workspace_id=1)`.

    Call it after commit (deps.after_commit). Returns False when the same job is already
    queued or running, or when this process has no queue (a CLI command): the scheduler and
    the database are the backstop, so a dropped enqueue never loses work.
    """
    from metricx.jobs.queue import enqueue_quietly

    return await enqueue_quietly(_current_queue, name, **kwargs)
