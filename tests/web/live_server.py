"""The real app on demo data, served by uvicorn on 127.0.0.1 in a background thread.

The database is a SQLite file loaded by `metricx.demo` at a small scale (one workspace,
60 ads, 60 days, orders with UTMs) plus one attribution run, so every card, the feed and
the drill-down show what they show on a real install. Every route is the real one.

Two test hooks sit in front of the app, both outside its routes:
- an ASGI middleware that records each request and can slow (`insights_delay`) or fail
  (`insights_fail`) the insights endpoint, for the lazy-loading and error-state tests;
- the job queue drops `sync_connection` jobs (recorded in `jobs`): demo connections have
  no provider behind them, and a test must never call one. Other jobs (the attribution
  recompute after a settings change) run as in production.

The OAuth connect flow is real too: a fake Meta Graph server (tests/fakes/meta.py) runs on
another loopback port and the app's settings point at it (`meta.app_settings()`), so the
settings page's Connect Meta button goes start → fake consent dialog → callback → picker →
a real connection. The fake only answers the app; it writes nothing to the demo data, and
the first sync of a connection made through it is dropped like any other.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from metricx import jobs
from metricx.db import Database
from metricx.demo.loader import DemoOptions
from metricx.main import create_app
from metricx.migrate import upgrade_database
from metricx.models import User
from metricx.workspaces.service import create_workspace
from tests.conftest import test_settings
from tests.factories import Tenant, make_tenant
from tests.fakes.meta import FakeMeta
from tests.web.payload_fixture import load_demo_tenant

T = TypeVar("T")

DEMO = DemoOptions(workspaces=1, ads=60, days=60, seed=42)
SECOND_WORKSPACE = "Second brand"


@dataclass
class LiveServer:
    """The running server, the demo tenant and the test hooks."""

    url: str
    tenant: Tenant
    other_workspace_id: int = 0
    database_url: str = ""
    insights_delay: float = 0.0
    insights_fail: bool = False
    calls: list[str] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    database: Database | None = None
    meta: FakeMeta | None = None

    def run(self, work: Callable[[Database], Awaitable[T]], timeout: float = 30) -> T:
        """Run `work(database)` on the server's event loop (its database lives there)."""
        assert self.loop is not None and self.database is not None
        future: Future[T] = asyncio.run_coroutine_threadsafe(work(self.database), self.loop)
        return future.result(timeout)

    def count(self, suffix: str) -> int:
        """Requests so far whose path ends with `suffix`."""
        return sum(1 for c in self.calls if c.split(" ", 1)[1].endswith(suffix))


class TestHooks:
    """Records requests; slows or fails GET /api/workspaces/{id}/insights on demand."""

    def __init__(self, app: Any, live: LiveServer) -> None:
        self.app = app
        self.live = live

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.live.calls.append(f"{scope['method']} {path}")
        if path.startswith("/api/workspaces/") and path.endswith("/insights"):
            if self.live.insights_delay:
                receive = await self._wait(receive, self.live.insights_delay)
                if receive is None:
                    await _respond(send, 503, b'{"error":"gone","detail":"client left"}')
                    return
            if self.live.insights_fail:
                body = b'{"error":"internal_error","detail":"Something went wrong on our side."}'
                await _respond(send, 500, body)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _wait(receive: Any, seconds: float) -> Any:
        """Sleep `seconds` unless the browser goes away; a receive that replays the request."""
        first = await receive()
        if first["type"] == "http.disconnect":
            return None
        waiter = asyncio.ensure_future(receive())
        done, _ = await asyncio.wait({waiter}, timeout=seconds)
        if done:
            return None  # the only message left to receive is the disconnect
        waiter.cancel()
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        return replay


async def _respond(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class NoProviderQueue:
    """The app's job queue, minus provider syncs (recorded, never run)."""

    def __init__(self, inner: Any, live: LiveServer) -> None:
        self.inner = inner
        self.live = live

    async def enqueue(self, name: str, **kwargs: Any) -> bool:
        self.live.jobs.append((name, kwargs))
        if name == "sync_connection":
            return True
        return bool(await self.inner.enqueue(name, **kwargs))

    async def close(self) -> None:  # the app's own shutdown closes the inner queue
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(database: Database) -> tuple[Tenant, int]:
    """Demo data, one attribution run, a second (empty) workspace and a stranger."""
    tenant = await load_demo_tenant(database, DEMO)
    async with database.transaction() as session:
        user = await session.get(User, tenant.user_id)
        assert user is not None
        second = await create_workspace(
            session, user, name=SECOND_WORKSPACE, timezone="Europe/Paris", currency="EUR"
        )
        other_id = second.id
    await make_tenant(database, "other@example.com", name="Other brand")
    return tenant, other_id


def start_live_server(tmp: Path) -> tuple[LiveServer, uvicorn.Server, threading.Thread]:
    """Migrate and load a SQLite file, then serve the app until `server.should_exit`."""
    url = f"sqlite+aiosqlite:///{tmp / 'browser.db'}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # The provider behind "Connect Meta": one synced account and one more the user can see.
    meta = FakeMeta(ads=1, days=1, other_accounts=1)
    meta.start()
    # No scheduler: nothing runs behind the tests' backs.
    settings = test_settings(
        url, scheduler_interval_seconds=0, public_url=base, **meta.app_settings()
    )
    app: FastAPI = create_app(settings)
    live = LiveServer(url=base, tenant=Tenant(0, 0, ""), database_url=url, meta=meta)
    app.add_middleware(TestHooks, live=live)

    async def hold_syncs(app: FastAPI) -> None:
        app.state.jobs = NoProviderQueue(app.state.jobs, live)
        jobs.set_queue(app.state.jobs)

    async def release_syncs(app: FastAPI) -> None:
        if isinstance(app.state.jobs, NoProviderQueue):
            app.state.jobs = app.state.jobs.inner

    # After the job runner starts; before it stops (shutdown hooks run in reverse).
    app.state.startup_hooks.append(hold_syncs)
    app.state.shutdown_hooks.append(release_syncs)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    ready = threading.Event()
    failed: list[BaseException] = []

    async def main() -> None:
        try:
            await upgrade_database(url)
            database = Database(settings, url=url)
            live.tenant, live.other_workspace_id = await seed(database)
            live.database = database
            live.loop = asyncio.get_running_loop()
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            ready.set()
        try:
            await server.serve()
        finally:
            await database.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    if not ready.wait(60) or failed:
        meta.stop()
        raise RuntimeError(f"live server did not seed: {failed}")
    for _ in range(300):
        if server.started:
            break
        threading.Event().wait(0.05)
    return live, server, thread


def stop_live_server(live: LiveServer, server: uvicorn.Server, thread: threading.Thread) -> None:
    """Stop serving and wait for the thread, then stop the fake provider."""
    server.should_exit = True
    thread.join(20)
    if live.meta is not None:
        live.meta.stop()
