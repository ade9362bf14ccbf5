"""The metricx command line: serve, worker, db, demo, user, connections, sync, import."""

from __future__ import annotations

import asyncio
import getpass
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from metricx.config import get_settings
from metricx.demo.command import demo

app = typer.Typer(help="metricx: ad analytics and attribution.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.command()(demo)
console = Console(stderr=True)
T = TypeVar("T")


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command body to completion."""
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


def fail(message: str, code: int = 1) -> None:
    """Print an error and exit non-zero."""
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the web app and API with uvicorn (uvloop + httptools)."""
    import uvicorn

    settings = get_settings()
    if settings.is_sqlite and workers > 1:
        console.print(
            "[yellow]note:[/yellow] SQLite serializes writes; prefer PostgreSQL "
            "for several workers."
        )
    # uvicorn drains on SIGTERM, then re-raises the signal with the handler that was there
    # before it started, so the default one killed the process and a clean, drained stop
    # exited as "killed by SIGTERM" (-15). This handler turns it into exit 0 (and a
    # SIGTERM before uvicorn is up into an immediate clean exit: nothing to drain yet).
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        "metricx.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=20,
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the configured database to the newest schema."""
    from metricx.migrate import current_revision, upgrade_database

    url = get_settings().database_url

    async def _go() -> str | None:
        await upgrade_database(url, revision)
        return await current_revision(url)

    rev = run(_go)
    console.print(f"database at revision [bold]{rev}[/bold]")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    from metricx.migrate import current_revision

    url = get_settings().database_url
    console.print(run(lambda: current_revision(url)) or "empty")


@db_app.command("refresh-summaries")
def db_refresh_summaries(
    all_workspaces: Annotated[
        bool, typer.Option("--all", help="Rebuild every workspace, not only stale ones.")
    ] = False,
) -> None:
    """Rebuild the per-entity summaries of the preset windows (the scheduler does this daily)."""
    from rich.progress import Progress

    from metricx.db import Database
    from metricx.metrics import summaries

    async def _go() -> int:
        database = Database(get_settings())
        try:
            async with database.transaction() as session:
                ids = await summaries.stale_workspace_ids(session, every=all_workspaces)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("summaries", total=len(ids))
                for workspace_id in ids:
                    async with database.transaction() as session:
                        await summaries.refresh(session, workspace_id, whole=True)
                    progress.advance(task)
            return len(ids)
        finally:
            await database.dispose()

    console.print(f"refreshed the summaries of [bold]{run(_go)}[/bold] workspaces")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Email address (the login).")],
    password: Annotated[str | None, typer.Option(help="Password; asked for when omitted.")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    workspace: Annotated[
        str | None, typer.Option(help="Also create a workspace with this name, owned by the user.")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Timezone of the new workspace.")] = "UTC",
    currency: Annotated[str, typer.Option(help="Currency of the new workspace.")] = "USD",
) -> None:
    """Create a user (and optionally a workspace they own)."""
    from metricx.auth.service import create_user
    from metricx.db import Database
    from metricx.errors import MetricxError
    from metricx.workspaces.service import create_workspace

    if password is None:
        if not sys.stdin.isatty():
            fail("--password is required when not on a terminal")
        password = getpass.getpass("Password: ")
    settings = get_settings()

    async def _go() -> dict[str, Any]:
        database = Database(settings)
        try:
            async with database.transaction() as session:
                user = await create_user(session, email, password or "", name)
                out: dict[str, Any] = {"user_id": user.id, "email": user.email}
                if workspace:
                    ws = await create_workspace(
                        session, user, name=workspace, timezone=timezone, currency=currency
                    )
                    out["workspace_id"] = ws.id
                return out
        finally:
            await database.dispose()

    try:
        out = run(_go)
    except MetricxError as exc:
        fail(exc.detail)
        return
    console.print(f"created user [bold]{out['email']}[/bold] (id {out['user_id']})")
    if "workspace_id" in out:
        console.print(f"created workspace id {out['workspace_id']}")


from metricx.connections.cli import register as register_connections  # noqa: E402
from metricx.jobs.cli import register as register_jobs  # noqa: E402
from metricx.sync.cli import register as register_sync  # noqa: E402

register_connections(app)
register_jobs(app)
register_sync(app)


def main() -> None:  # pragma: no cover
    """Entry point."""
    app()
