"""The per-connection sync lock: one sync of a connection at a time, across processes.

PostgreSQL: a session-level advisory lock held on a dedicated connection for the whole
sync; if the process dies the connection closes and the lock goes with it, so a killed
worker never leaves a connection locked. SQLite (embedded, one process): an in-process set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from sqlalchemy import text

from metricx.db import Database

log = structlog.get_logger("metricx.jobs.locks")

# Two-int advisory key: a namespace for sync locks plus the connection id (ids above 2**31
# wrap, which can only make two connections wait for each other, never sync twice at once).
LOCK_NAMESPACE = 0x6D78
_held_in_process: set[tuple[str, int]] = set()


def _key(connection_id: int) -> int:
    return connection_id % 2_147_483_647


@asynccontextmanager
async def connection_lock(db: Database, connection_id: int) -> AsyncIterator[bool]:
    """Try to take the lock; yields True when held (released on exit), False when busy."""
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:ns, :id)"),
                {"ns": LOCK_NAMESPACE, "id": _key(connection_id)},
            )
            await conn.commit()
            if not got:
                yield False
                return
            try:
                yield True
            finally:
                try:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:ns, :id)"),
                        {"ns": LOCK_NAMESPACE, "id": _key(connection_id)},
                    )
                    await conn.commit()
                except Exception:  # closing the connection releases it anyway
                    log.warning("jobs.lock_release_failed", connection_id=connection_id)
                    await conn.invalidate()
        return
    key = (str(db.engine.url), connection_id)
    if key in _held_in_process:
        yield False
        return
    _held_in_process.add(key)
    try:
        yield True
    finally:
        _held_in_process.discard(key)
