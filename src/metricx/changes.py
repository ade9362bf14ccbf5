"""The change feed: PostgreSQL tells this process which workspaces and users changed.

Triggers (migration 0003) send `w:<workspace id>` or `u:<user id>` on the channel
`metricx_changes` when a workspace, membership, user, session or API token row changes;
PostgreSQL delivers a notification only once its transaction has committed. A process that
caches anything derived from those rows subscribes here and forgets what a notification
names.

While the listening connection is down the feed is not `live` and subscribers must not
trust what they hold: every subscriber is reset when the feed goes down and again when it
comes back, since changes in between were not heard.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger("metricx.changes")

CHANNEL = "metricx_changes"
# The tables whose row changes migration 0003's triggers announce on CHANNEL.
WATCHED_TABLES = ("workspaces", "memberships", "users", "auth_sessions", "api_tokens")
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)
BARRIER_SECONDS = 2.0

Listener = Callable[[str, int], None]  # (kind "w" | "u", id)
Reset = Callable[[], None]


def asyncpg_dsn(database_url: str) -> str | None:
    """The libpq DSN of a PostgreSQL SQLAlchemy URL; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeFeed:
    """One LISTEN connection per process, reconnected in the background."""

    def __init__(self, dsn: str, *, connect_timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self.live = False
        self._listeners: list[Listener] = []
        self._resets: list[Reset] = []
        self._task: asyncio.Task[None] | None = None
        self._lost: asyncio.Event | None = None
        self._conn: Any = None
        self._lock = asyncio.Lock()  # one statement at a time on the listening connection
        self._barriers: dict[int, asyncio.Future[None]] = {}
        self._barrier_seq = 0

    def subscribe(self, on_change: Listener, on_reset: Reset) -> None:
        """Call `on_change(kind, id)` per notification and `on_reset()` when the feed drops."""
        self._listeners.append(on_change)
        self._resets.append(on_reset)

    async def start(self) -> None:
        """Start listening in the background (never blocks on the database)."""
        self._task = asyncio.create_task(self._run(), name="metricx-change-feed")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        self._set_live(False)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._close()

    async def barrier(self) -> bool:
        """Wait until every change committed before this call has been heard here.

        PostgreSQL delivers notifications in commit order, so once a notification sent
        now comes back, all earlier ones have been handled. False when the feed is down or
        too slow; the caches are then reset, so nothing stale is served either way.
        """
        conn = self._conn
        if not self.live or conn is None:
            return False
        self._barrier_seq += 1
        ident = self._barrier_seq
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barriers[ident] = done
        try:
            async with asyncio.timeout(BARRIER_SECONDS):
                async with self._lock:
                    await conn.execute(f"SELECT pg_notify('{CHANNEL}', 'b:{ident}')")
                await done
            return True
        except Exception as exc:
            log.warning("changes.barrier_failed", error=type(exc).__name__)
            self._reset_subscribers()
            return False
        finally:
            self._barriers.pop(ident, None)

    def _set_live(self, live: bool) -> None:
        self.live = live
        self._reset_subscribers()

    def _reset_subscribers(self) -> None:
        for reset in self._resets:
            reset()

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, raw = payload.partition(":")
        try:
            ident = int(raw)
        except ValueError:
            return
        if kind == "b":
            waiter = self._barriers.get(ident)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        for listener in self._listeners:
            listener(kind, ident)

    def _terminated(self, _conn: Any) -> None:
        if self._lost is not None:
            self._lost.set()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def _run(self) -> None:
        import asyncpg

        attempt = 0
        while True:
            try:
                self._lost = asyncio.Event()
                self._conn = await asyncpg.connect(
                    self.dsn,
                    timeout=self.connect_timeout,
                    server_settings={"application_name": "metricx-changes"},
                )
                self._conn.add_termination_listener(self._terminated)
                await self._conn.add_listener(CHANNEL, self._notified)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                await self._close()
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                attempt += 1
                if attempt == 1:
                    log.warning("changes.unavailable", error=type(exc).__name__, retry_s=delay)
                await asyncio.sleep(delay)
                continue
            attempt = 0
            # Live only now: anything cached before LISTEN took effect may be stale.
            self._set_live(True)
            log.info("changes.listening")
            await self._watch()
            self._set_live(False)
            await self._close()
            log.warning("changes.lost")

    async def _watch(self) -> None:
        """Return when the connection is gone (terminated, or a keepalive fails)."""
        assert self._lost is not None
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), timeout=10)
                return
            except TimeoutError:
                pass
            try:
                # A half-open TCP connection never terminates by itself.
                async with self._lock:
                    await asyncio.wait_for(self._conn.execute("SELECT 1"), 5)
            except Exception:
                return
