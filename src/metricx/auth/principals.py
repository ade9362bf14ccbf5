"""The AuthContexts this process resolved, kept until the change feed says they changed.

A workspace-scoped request needs its credential checked, the caller's role, and the
workspace's settings and data_version (the dashboard cache key). Read from PostgreSQL on
every request, that was the one statement a cached dashboard still made. Here they are
kept per (credential, workspace) and dropped when a notification names the workspace
(any update, including every data_version bump) or the user (session revoked, password
changed, token revoked or touched, membership changed, user deactivated).

Correctness rests on three rules:
- nothing is kept or served while the feed is not live;
- a lookup that raced a notification is not stored (`begin()` / `store()` compare the
  sequence number of the last notification naming its workspace or user);
- entries also expire on their own: after `ttl` seconds, and never after the session.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

from metricx.changes import ChangeFeed, asyncpg_dsn
from metricx.tenancy import AuthContext

PrincipalKey = tuple[str, bool, int]  # (credential hash, is API token, workspace id)


class PrincipalCache:
    """AuthContexts by (credential, workspace), invalidated by the change feed."""

    def __init__(self, feed: ChangeFeed, *, ttl: float = 30.0, max_entries: int = 20_000):
        self.feed = feed
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[PrincipalKey, tuple[AuthContext, float]] = OrderedDict()
        self._by_workspace: dict[int, set[PrincipalKey]] = {}
        self._by_user: dict[int, set[PrincipalKey]] = {}
        # Sequence number of the last notification naming each workspace / user, and of
        # the last reset: a lookup begun before one of them may have read stale rows.
        self._seq = 0
        self._reset_seq = 0
        self._workspace_seq: dict[int, int] = {}
        self._user_seq: dict[int, int] = {}
        feed.subscribe(self._changed, self.clear)

    def get(self, key: PrincipalKey) -> AuthContext | None:
        """The cached context, or None (not cached, expired, or the feed is down)."""
        if not self.feed.live:
            return None
        item = self._entries.get(key)
        if item is None:
            return None
        ctx, expires = item
        if expires <= time.monotonic():
            self._drop(key)
            return None
        return ctx

    def begin(self) -> int:
        """Call before reading the database; pass the result to `store()`."""
        return self._seq

    def store(
        self, key: PrincipalKey, ctx: AuthContext, began: int, credential_expires: datetime | None
    ) -> None:
        """Keep `ctx` unless a change to its workspace or user arrived since `began`."""
        if not self.feed.live or self._reset_seq > began:
            return
        if self._workspace_seq.get(ctx.workspace_id, 0) > began:
            return
        if self._user_seq.get(ctx.user_id, 0) > began:
            return
        lifetime = self.ttl
        if credential_expires is not None:
            lifetime = min(lifetime, credential_expires.timestamp() - time.time())
        if lifetime <= 0:
            return
        self._drop(key)
        self._entries[key] = (ctx, time.monotonic() + lifetime)
        self._by_workspace.setdefault(ctx.workspace_id, set()).add(key)
        self._by_user.setdefault(ctx.user_id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def clear(self) -> None:
        """Forget everything (the feed dropped or came back)."""
        self._seq += 1
        self._reset_seq = self._seq
        self._entries.clear()
        self._by_workspace.clear()
        self._by_user.clear()
        self._workspace_seq.clear()
        self._user_seq.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _changed(self, kind: str, ident: int) -> None:
        if len(self._workspace_seq) + len(self._user_seq) > 4 * self.max_entries:
            self.clear()  # bounds the sequence maps; costs one refill of each entry
        self._seq += 1
        if kind == "w":
            self._workspace_seq[ident] = self._seq
            keys = self._by_workspace.pop(ident, set())
        elif kind == "u":
            self._user_seq[ident] = self._seq
            keys = self._by_user.pop(ident, set())
        else:
            return
        for key in keys:
            self._drop(key)

    def _drop(self, key: PrincipalKey) -> None:
        item = self._entries.pop(key, None)
        if item is None:
            return
        ctx = item[0]
        for index, ident in ((self._by_workspace, ctx.workspace_id), (self._by_user, ctx.user_id)):
            keys = index.get(ident)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[ident]


def install(app: Any) -> None:
    """Give the app a PrincipalCache fed by PostgreSQL notifications (PostgreSQL only)."""
    app.state.principals = None

    async def start(app: Any) -> None:
        settings = app.state.settings
        dsn = asyncpg_dsn(settings.database_url)
        if dsn is None or settings.auth_cache_seconds <= 0:
            return
        feed = ChangeFeed(dsn, connect_timeout=settings.db_connect_timeout)
        app.state.principals = PrincipalCache(feed, ttl=settings.auth_cache_seconds)
        app.state.change_barrier = feed.barrier
        await feed.start()

    async def stop(app: Any) -> None:
        principals, app.state.principals = app.state.principals, None
        app.state.change_barrier = None
        if principals is not None:
            await principals.feed.stop()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
