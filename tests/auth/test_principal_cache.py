"""The edge's AuthContext cache and the cached-dashboard fast path, on PostgreSQL.

Two apps on one database stand for two API processes: each has its own change feed. What
one process changes, the other must stop serving from its caches once PostgreSQL has
delivered the notification (`change_barrier()` waits for exactly that), and a process
always sees its own writes at once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from metricx.auth.principals import PrincipalCache
from metricx.changes import WATCHED_TABLES, ChangeFeed
from metricx.db import Database
from metricx.main import create_app
from metricx.sync.writer import FactRow, upsert_facts
from metricx.tenancy import AuthContext
from tests.conftest import test_settings as settings_for
from tests.factories import login_headers, make_tenant
from tests.metrics.dataset import build

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 15)


def _queries(response: httpx.Response) -> int:
    match = re.search(r'desc="(\d+) queries"', response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    return int(match.group(1))


@pytest.fixture
async def processes(pg_db: Database) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two started apps ("processes") on the test database, each with its own client."""
    url = pg_db.engine.url.render_as_string(hide_password=False)
    contexts, clients = [], []
    for _ in range(2):
        app = create_app(settings_for(url))
        ctx = app.router.lifespan_context(app)
        await ctx.__aenter__()
        app.state.clock = lambda: NOW
        contexts.append(ctx)
        clients.append(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        )
    for client in clients:
        await _until(lambda c=client: _app(c).state.principals.feed.live)
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()
        for ctx in reversed(contexts):
            await ctx.__aexit__(None, None, None)


def _app(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    return client._transport.app  # type: ignore[attr-defined]


async def _until(condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _signed_in(db: Database, client: httpx.AsyncClient, days: int):  # type: ignore[no-untyped-def]
    """A dataset of `days`, its owner's auth header, and its last-7-days dashboard URL."""
    ds = await build(db, today=TODAY, days=days)
    headers = await login_headers(client, ds.tenant.email)
    return ds, headers, f"/api/workspaces/{ds.tenant.workspace_id}/dashboard?timeframe=last_7_days"


async def _heard(client: httpx.AsyncClient) -> None:
    """Wait until this process has heard every change committed so far."""
    assert await _app(client).state.change_barrier()


async def test_cached_context_serves_without_sql_and_dies_with_the_session(
    pg_db: Database, processes: list[httpx.AsyncClient]
) -> None:
    a, b = processes
    ds, headers, url = await _signed_in(pg_db, a, days=20)
    first = await a.get(url, headers=headers)
    assert first.status_code == 200 and first.headers["x-cache"] == "miss"
    hit = await a.get(url, headers=headers)
    assert hit.status_code == 200 and hit.headers["x-cache"] == "hit"
    assert _queries(hit) == 0 and hit.content == first.content
    # Entity pages authenticate from the cache too; only their own statements run.
    entities = await a.get(f"/api/workspaces/{ds.tenant.workspace_id}/entities", headers=headers)
    assert entities.status_code == 200

    # Process B signs the session out; once A has heard of it, A refuses the token.
    assert (await b.post("/api/auth/logout", headers=headers)).status_code in (200, 204)
    await _heard(a)
    refused = await a.get(url, headers=headers)
    assert refused.status_code == 401, refused.text
    assert (await a.get(f"/api/workspaces/{ds.tenant.workspace_id}/entities",
                        headers=headers)).status_code == 401  # fmt: skip


async def test_a_write_in_another_process_invalidates_the_cached_dashboard(
    pg_db: Database, processes: list[httpx.AsyncClient]
) -> None:
    a, _b = processes
    ds, headers, url = await _signed_in(pg_db, a, days=20)
    first = await a.get(url, headers=headers)
    assert (await a.get(url, headers=headers)).headers["x-cache"] == "hit"
    etag = first.headers["etag"]
    assert (await a.get(url, headers={**headers, "If-None-Match": etag})).status_code == 304

    # A sync batch in a worker process: it bumps data_version in its transaction.
    async with pg_db.transaction() as s:
        await upsert_facts(
            s, workspace_id=ds.tenant.workspace_id, connection_id=ds.connection_ids["meta"],
            provider="meta", rows=[FactRow(ds.ids("ad")[0], TODAY, spend_micros=777_000_000)],
        )  # fmt: skip
    await _heard(a)
    fresh = await a.get(url, headers={**headers, "If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag
    assert fresh.headers["x-cache"] == "miss"
    assert fresh.json()["data_version"] == first.json()["data_version"] + 1


async def test_own_writes_are_seen_at_once(
    pg_db: Database, processes: list[httpx.AsyncClient]
) -> None:
    """A change made through a process is in its caches before its response leaves."""
    a, _b = processes
    tenant = await make_tenant(pg_db, "own@example.com")
    headers = await login_headers(a, tenant.email)
    ws = tenant.workspace_id
    url = f"/api/workspaces/{ws}/dashboard?timeframe=last_7_days"
    before = await a.get(url, headers=headers)
    assert (await a.get(url, headers=headers)).headers["x-cache"] == "hit"
    changed = await a.patch(f"/api/workspaces/{ws}", json={"currency": "EUR"}, headers=headers)
    assert changed.status_code == 200, changed.text
    after = await a.get(url, headers=headers)  # no waiting
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.json()["workspace"]["currency"] == "EUR"


async def test_membership_removed_elsewhere_is_a_404(
    pg_db: Database, processes: list[httpx.AsyncClient]
) -> None:
    a, _b = processes
    owner = await make_tenant(pg_db, "owner2@example.com")
    other = await make_tenant(pg_db, "member@example.com")
    async with pg_db.transaction() as s:
        await s.execute(
            text("INSERT INTO memberships (workspace_id, user_id, role, created_at) "
                 "VALUES (:w, :u, 'viewer', now())"),
            {"w": owner.workspace_id, "u": other.user_id},
        )  # fmt: skip
    headers = await login_headers(a, other.email)
    url = f"/api/workspaces/{owner.workspace_id}/dashboard?timeframe=last_7_days"
    assert (await a.get(url, headers=headers)).status_code == 200
    assert (await a.get(url, headers=headers)).headers["x-cache"] == "hit"
    async with pg_db.transaction() as s:
        await s.execute(
            text("DELETE FROM memberships WHERE workspace_id = :w AND user_id = :u"),
            {"w": owner.workspace_id, "u": other.user_id},
        )
    await _heard(a)
    assert (await a.get(url, headers=headers)).status_code == 404


async def test_without_the_feed_every_request_reads_the_database(
    pg_db: Database, processes: list[httpx.AsyncClient]
) -> None:
    """A dropped LISTEN connection turns the cache off until the feed is back."""
    a, _b = processes
    _ds, headers, url = await _signed_in(pg_db, a, days=10)
    await a.get(url, headers=headers)
    assert _queries(await a.get(url, headers=headers)) == 0
    principals = _app(a).state.principals
    feed = principals.feed
    resets: list[bool] = []
    feed.subscribe(lambda kind, ident: None, lambda: resets.append(feed.live))
    async with pg_db.transaction() as s:
        killed = await s.scalar(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE application_name = 'metricx-changes' AND datname = current_database()")
        )  # fmt: skip
    assert killed >= 2  # both processes' feeds
    # Down (everything forgotten), then listening again (forgotten again).
    await _until(lambda: resets[-2:] == [False, True])
    assert len(principals) == 0
    assert _queries(await a.get(url, headers=headers)) == 1
    assert _queries(await a.get(url, headers=headers)) == 0

    # While the feed stays down, nothing is cached and every request reads the database.
    await feed.stop()
    for _ in range(3):
        down = await a.get(url, headers=headers)
        assert down.status_code == 200 and _queries(down) == 1
    await feed.start()
    await _until(lambda: feed.live)
    await a.get(url, headers=headers)
    assert _queries(await a.get(url, headers=headers)) == 0


async def test_fast_path_answers_like_the_route(
    pg_db: Database, processes: list[httpx.AsyncClient]
) -> None:
    a, _b = processes
    ds = await build(pg_db, today=TODAY, days=10)
    other = await make_tenant(pg_db, "stranger@example.com")
    headers = await login_headers(a, ds.tenant.email)
    base = f"/api/workspaces/{ds.tenant.workspace_id}/dashboard"
    miss = await a.get(base, params={"timeframe": "last_30_days", "provider": "meta"},
                       headers=headers)  # fmt: skip
    hit = await a.get(base, params={"timeframe": "last_30_days", "provider": "meta"},
                      headers=headers)  # fmt: skip
    assert miss.headers["x-cache"] == "miss" and hit.headers["x-cache"] == "hit"
    assert hit.content == miss.content
    ignored = {"x-cache", "server-timing", "x-request-id"}
    assert {k: v for k, v in hit.headers.items() if k not in ignored} == {
        k: v for k, v in miss.headers.items() if k not in ignored
    }
    # Parameters the fast path does not know go to the route, which validates them.
    bad = await a.get(base, params={"timeframe": "last_30_days", "provider": "bing"},
                      headers=headers)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["fields"] == ["provider"]
    # Another tenant's workspace is a 404 whatever is cached.
    foreign = await a.get(f"/api/workspaces/{other.workspace_id}/dashboard",
                          params={"timeframe": "last_30_days"}, headers=headers)  # fmt: skip
    assert foreign.status_code == 404
    # A tampered token is a 401 from the route, not a cached answer.
    token = headers["Authorization"]
    forged = await a.get(base, params={"timeframe": "last_30_days"},
                         headers={"Authorization": token[:-2] + "xx"})  # fmt: skip
    assert forged.status_code == 401


async def test_every_watched_table_has_its_trigger(pg_db: Database) -> None:
    """The tables the edge treats as announced are the ones PostgreSQL announces."""
    async with pg_db.transaction() as s:
        tables = await s.scalars(
            text("SELECT tgrelid::regclass::text FROM pg_trigger "
                 "WHERE tgname LIKE 'metricx_notify_%' AND NOT tgisinternal")
        )  # fmt: skip
        assert sorted(tables.all()) == sorted(WATCHED_TABLES)


class _StubFeed(ChangeFeed):
    def __init__(self) -> None:
        super().__init__("postgresql://unused")
        self.live = True


def _ctx(user: int, ws: int) -> AuthContext:
    return AuthContext(user_id=user, workspace_id=ws, role="owner")


def test_a_lookup_that_raced_a_change_is_not_kept() -> None:
    feed = _StubFeed()
    cache = PrincipalCache(feed, ttl=30)
    began = cache.begin()
    feed._notified(None, 0, "metricx_changes", "w:7")  # committed while the lookup ran
    cache.store(("h", False, 7), _ctx(1, 7), began, None)
    assert cache.get(("h", False, 7)) is None

    began = cache.begin()
    cache.store(("h", False, 7), _ctx(1, 7), began, None)
    assert cache.get(("h", False, 7)) == _ctx(1, 7)
    feed._notified(None, 0, "metricx_changes", "u:1")
    assert cache.get(("h", False, 7)) is None and len(cache) == 0

    # Never past the session's own expiry, and nothing while the feed is down.
    cache.store(("h", False, 7), _ctx(1, 7), cache.begin(), datetime.now(UTC) - timedelta(1))
    assert cache.get(("h", False, 7)) is None
    cache.store(("h", False, 7), _ctx(1, 7), cache.begin(), None)
    feed._set_live(False)
    assert cache.get(("h", False, 7)) is None and len(cache) == 0
