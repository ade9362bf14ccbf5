"""Connection rules: who may change what, credential checks and encryption, sync-now."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.config import Settings
from metricx.connections import repository as repo
from metricx.connections.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionSettingsIn,
    ConnectionUpdate,
    CredentialsIn,
    RunOut,
)
from metricx.crypto import SecretBox
from metricx.errors import Conflict, NotFound, ValidationFailed
from metricx.models import Connection, SyncRun, utcnow
from metricx.sync.writer import refresh_order_rollups, refresh_rollups
from metricx.tenancy import AuthContext
from metricx.workspaces.repository import bump_data_version
from metricx.workspaces.service import validate_currency

PROVIDER_NAMES = {
    "meta": "Meta Ads",
    "google": "Google Ads",
    "tiktok": "TikTok Ads",
    "shopify": "Shopify",
    "csv": "CSV import",
}


def check_credentials(provider: str, creds: dict[str, str]) -> None:
    """422 naming the missing credential fields for this provider."""
    if provider in ("meta", "tiktok"):
        needed = ["access_token"]
    elif provider == "shopify":
        needed = ["shop_domain", "access_token"]
    elif provider == "google":
        needed = ["developer_token"]
        if "access_token" not in creds:
            needed += ["refresh_token", "client_id", "client_secret"]
    else:
        needed = []
    missing = [f"credentials.{k}" for k in needed if not creds.get(k)]
    if missing:
        raise ValidationFailed(
            f"A {PROVIDER_NAMES[provider]} connection needs "
            + ", ".join(m.split(".", 1)[1] for m in missing)
            + ".",
            fields=missing,
        )


def _merge_settings(current: dict[str, Any], new: ConnectionSettingsIn | None) -> dict[str, Any]:
    merged = dict(current or {})
    if new is not None:
        for key, value in new.model_dump(exclude_unset=True).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
    return merged


def to_out(conn: Connection, run: SyncRun | None = None) -> ConnectionOut:
    """The public view of a connection."""
    out = ConnectionOut.model_validate(conn)
    out.has_credentials = bool(conn.credentials_encrypted)
    out.last_run = RunOut.model_validate(run) if run is not None else None
    return out


async def list_connections(session: AsyncSession, ctx: AuthContext) -> list[ConnectionOut]:
    """Every connection of the workspace with its latest run."""
    connections = await repo.list_connections(session, ctx)
    runs = await repo.latest_runs(session, ctx)
    return [to_out(c, runs.get(c.id)) for c in connections]


async def get_connection(session: AsyncSession, ctx: AuthContext, connection_id: int) -> Connection:
    """The workspace's connection or 404."""
    conn = await repo.get_connection(session, ctx, connection_id)
    if conn is None:
        raise NotFound("Connection not found.")
    return conn


async def create_connection(
    session: AsyncSession, ctx: AuthContext, settings: Settings, body: ConnectionCreate
) -> tuple[Connection, bool]:
    """Connect an account (again): returns (connection, created). Admins only."""
    ctx.require("admin")
    creds = body.credentials.plain()
    if body.provider == "shopify" and "shop_domain" not in creds:
        # A shop is usually connected by its myshopify domain: let the account id say it.
        try:
            domain = CredentialsIn(shop_domain=body.external_account_id).shop_domain
        except ValueError:
            domain = None
        if domain and "." in domain:
            creds["shop_domain"] = domain
    check_credentials(body.provider, creds)
    box = SecretBox.from_settings(settings)
    conn = await repo.find_connection(session, ctx, body.provider, body.external_account_id)
    created = conn is None
    if conn is None:
        conn = Connection(
            workspace_id=ctx.workspace_id,
            provider=body.provider,
            external_account_id=body.external_account_id,
            currency=ctx.currency,
            timezone=ctx.timezone,
            settings={},
        )
        session.add(conn)
    conn.name = (body.name or "").strip() or (
        f"{PROVIDER_NAMES[body.provider]} {body.external_account_id}"
    )
    if body.currency:
        conn.currency = validate_currency(body.currency)
    conn.shop_domain = creds.get("shop_domain") if body.provider == "shopify" else None
    conn.credentials_encrypted = box.encrypt_json(creds) if creds else None
    conn.sync_frequency_minutes = (
        body.sync_frequency_minutes or settings.default_sync_frequency_minutes
    )
    conn.settings = _merge_settings(conn.settings, body.settings)
    conn.status = "active"
    conn.last_error = None
    # CSV connections are filled by imports; the rest sync as soon as they are connected.
    conn.next_sync_at = None if body.provider == "csv" else utcnow()
    await session.flush()
    return conn, created


async def update_connection(
    session: AsyncSession,
    ctx: AuthContext,
    settings: Settings,
    connection_id: int,
    body: ConnectionUpdate,
) -> Connection:
    """Rename, pause/resume, change frequency, settings or credentials. Admins only."""
    ctx.require("admin")
    conn = await get_connection(session, ctx, connection_id)
    if body.name is not None:
        conn.name = body.name.strip() or conn.name
    if body.sync_frequency_minutes is not None:
        conn.sync_frequency_minutes = body.sync_frequency_minutes
    if body.credentials is not None:
        creds = body.credentials.plain()
        check_credentials(conn.provider, creds)
        conn.credentials_encrypted = SecretBox.from_settings(settings).encrypt_json(creds)
        if conn.provider == "shopify":
            conn.shop_domain = creds.get("shop_domain")
        if conn.status in ("needs_reauth", "error"):
            conn.status, conn.last_error = "active", None
            conn.next_sync_at = utcnow()
    if body.settings is not None:
        conn.settings = _merge_settings(conn.settings, body.settings)
    if body.status == "paused":
        conn.status, conn.next_sync_at = "paused", None
    elif body.status == "active" and conn.status == "paused":
        conn.status = "active"
        conn.next_sync_at = None if conn.provider == "csv" else utcnow()
    await session.flush()
    return conn


async def delete_connection(session: AsyncSession, ctx: AuthContext, connection_id: int) -> None:
    """Remove a connection and (by cascade) its entities, facts, orders and runs."""
    ctx.require("admin")
    conn = await get_connection(session, ctx, connection_id)
    spans = await repo.fact_spans(session, ctx, conn.id)
    await repo.delete_connection(session, ctx, conn.id)
    # The facts and orders went by cascade; the rollups are not linked to a connection, so
    # rebuild the days and providers it covered, and tell caches the data changed.
    for provider, start, end in spans:
        await refresh_rollups(
            session, workspace_id=ctx.workspace_id, provider=provider, start=start, end=end
        )
    if conn.provider == "shopify":
        await refresh_order_rollups(session, ctx.workspace_id)
    await bump_data_version(session, ctx.workspace_id)


async def request_sync(session: AsyncSession, ctx: AuthContext, connection_id: int) -> SyncRun:
    """Queue a sync now (reusing an already queued run). Admins only."""
    ctx.require("admin")
    conn = await get_connection(session, ctx, connection_id)
    if conn.provider == "csv":
        raise Conflict("CSV connections are filled by uploading a file, not by syncing.")
    if conn.status == "paused":
        raise Conflict("The connection is paused; resume it first.")
    run = await repo.queued_run(session, ctx, conn.id)
    if run is None:
        run = SyncRun(
            workspace_id=ctx.workspace_id, connection_id=conn.id, kind="sync", status="queued"
        )
        session.add(run)
    # Durable even if the enqueue is dropped: the scheduler sees the connection as due.
    conn.next_sync_at = utcnow()
    await session.flush()
    return run


async def system_context(session: AsyncSession, workspace_id: int) -> AuthContext:
    """An owner-level context for the CLI (the shell user administers the server)."""
    from metricx.models import Workspace

    ws = await session.get(Workspace, workspace_id)
    if ws is None:
        raise NotFound(f"Workspace {workspace_id} not found.")
    return AuthContext(
        user_id=0,
        workspace_id=ws.id,
        role="owner",
        timezone=ws.timezone,
        currency=ws.currency,
        data_version=ws.data_version,
    )


async def workspace_of_connection(session: AsyncSession, connection_id: int) -> int:
    """The workspace a connection belongs to (CLI commands take bare connection ids)."""
    conn = await session.get(Connection, connection_id)
    if conn is None:
        raise NotFound(f"Connection {connection_id} not found.")
    return conn.workspace_id


async def reencrypt_credentials(session: AsyncSession, settings: Settings) -> int:
    """Re-encrypt every stored credential written with an older key; returns how many.

    Run after moving the old METRICX_SECRET_KEY into METRICX_OLD_SECRET_KEYS; once it has
    run, the old key can be dropped from the settings without losing any connection.
    """
    box = SecretBox.from_settings(settings)
    changed = 0
    for conn in await repo.all_with_credentials(session):
        blob = conn.credentials_encrypted
        if blob and box.needs_rotation(blob):
            conn.credentials_encrypted = box.encrypt(box.decrypt(blob))
            changed += 1
    await session.flush()
    return changed
