"""`metricx connections add|list`: token-based connect from a shell without a browser."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

connections_app = typer.Typer(help="Connections to ad platforms and shops.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _secret(value: str | None) -> str | None:
    """`-` reads the value from stdin, keeping tokens out of shell history and `ps`."""
    if value == "-":
        return sys.stdin.readline().strip()
    return value


@connections_app.command("add")
def add(
    provider: Annotated[str, typer.Argument(help="meta | google | tiktok | shopify | csv")],
    workspace: Annotated[int, typer.Option(help="Workspace id.")],
    account: Annotated[str, typer.Option(help="External account id (ad account, customer id).")],
    token: Annotated[str | None, typer.Option(help="Access token ('-' reads stdin).")] = None,
    refresh_token: Annotated[str | None, typer.Option(help="Google OAuth refresh token.")] = None,
    client_id: Annotated[str | None, typer.Option(help="Google OAuth client id.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="Google OAuth client secret.")] = None,
    developer_token: Annotated[str | None, typer.Option(help="Google Ads developer token.")] = None,
    login_customer_id: Annotated[str | None, typer.Option(help="Google manager id.")] = None,
    shop_domain: Annotated[str | None, typer.Option(help="brand.myshopify.com")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    frequency: Annotated[int | None, typer.Option(help="Sync every N minutes.")] = None,
    currency: Annotated[str | None, typer.Option(help="Default currency (CSV).")] = None,
) -> None:
    """Connect an account with tokens; it syncs on the next scheduler tick."""
    from pydantic import ValidationError

    from metricx.cli import fail, run
    from metricx.config import get_settings
    from metricx.connections import service
    from metricx.connections.schemas import ConnectionCreate
    from metricx.db import Database
    from metricx.errors import MetricxError

    creds = {
        "access_token": _secret(token),
        "refresh_token": _secret(refresh_token),
        "client_id": client_id,
        "client_secret": _secret(client_secret),
        "developer_token": _secret(developer_token),
        "login_customer_id": login_customer_id,
        "shop_domain": shop_domain,
    }
    try:
        body = ConnectionCreate(
            provider=provider,  # type: ignore[arg-type]
            external_account_id=account,
            name=name,
            credentials={k: v for k, v in creds.items() if v},  # type: ignore[arg-type]
            sync_frequency_minutes=frequency,
            currency=currency,
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return
    settings = get_settings()

    async def _go() -> Any:
        database = Database(settings)
        try:
            async with database.transaction() as session:
                ctx = await service.system_context(session, workspace)
                conn, created = await service.create_connection(session, ctx, settings, body)
                return conn.id, created
        finally:
            await database.dispose()

    try:
        connection_id, created = run(_go)
    except MetricxError as exc:
        fail(exc.detail)
        return
    verb = "created" if created else "updated"
    console.print(f"{verb} connection [bold]{connection_id}[/bold] ({provider} {account})")
    if provider != "csv":
        console.print(f"run it now with: metricx sync --connection {connection_id}")


@connections_app.command("list")
def list_(workspace: Annotated[int, typer.Option(help="Workspace id.")]) -> None:
    """Connections of a workspace with status, last and next run."""
    from metricx.cli import fail, run
    from metricx.config import get_settings
    from metricx.connections import service
    from metricx.db import Database
    from metricx.errors import MetricxError

    settings = get_settings()

    async def _go() -> Any:
        database = Database(settings)
        try:
            async with database.transaction() as session:
                ctx = await service.system_context(session, workspace)
                return await service.list_connections(session, ctx)
        finally:
            await database.dispose()

    try:
        rows = run(_go)
    except MetricxError as exc:
        fail(exc.detail)
        return
    table = Table("id", "provider", "account", "name", "status", "last run", "next sync", "error")
    for c in rows:
        last = c.last_run
        table.add_row(
            str(c.id),
            c.provider,
            c.external_account_id,
            c.name,
            c.status,
            f"{last.status} ({last.rows_written} rows)" if last else "-",
            c.next_sync_at.isoformat(timespec="minutes") if c.next_sync_at else "-",
            (c.last_error or "")[:60],
        )
    out.print(table)


@connections_app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt stored credentials under METRICX_SECRET_KEY (old keys in OLD_SECRET_KEYS)."""
    from metricx.cli import run
    from metricx.config import get_settings
    from metricx.connections import service
    from metricx.db import Database

    settings = get_settings()

    async def _go() -> int:
        database = Database(settings)
        try:
            async with database.transaction() as session:
                return await service.reencrypt_credentials(session, settings)
        finally:
            await database.dispose()

    changed = run(_go)
    out.print(f"re-encrypted {changed} connection(s) under the current key")


def register(app: typer.Typer) -> None:
    """Add `connections` to the main CLI."""
    app.add_typer(connections_app, name="connections")
