"""Background jobs: one set of job functions, run by arq workers or an in-process runner.

- `context.py`  JobContext: what every job needs (database, settings, HTTP, queue).
- `tasks.py`    the job functions: sync_connection, attribute_orders, refresh_insights.
- `queue.py`    the one `enqueue(name, **kwargs)` interface: arq on Redis, or in-process.
- `scheduler.py` finds connections due for a sync and fans out one job per connection.
- `locks.py`    the per-connection sync lock (PostgreSQL advisory lock / in-process).
- `worker.py`   arq worker settings for `metricx worker`.
- `lifecycle.py` startup/shutdown hooks that wire the above into `metricx serve`.
"""
