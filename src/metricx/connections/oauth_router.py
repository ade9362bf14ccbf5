"""OAuth connect endpoints: start, the provider callback, the account picker."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from metricx.auth.deps import CurrentUser, WorkspaceCtx
from metricx.config import Settings
from metricx.connections import oauth, service
from metricx.connections.router import QueueDep
from metricx.connections.schemas import (
    GRANT_MAX,
    ConnectionOut,
    OAuthAccountsOut,
    OAuthConnectIn,
    OAuthGrantOut,
    OAuthProvider,
    OAuthStartIn,
    OAuthStartOut,
)
from metricx.deps import HttpDep, SessionDep, SettingsDep, after_commit
from metricx.jobs.queue import enqueue_quietly
from metricx.responses import JSONResponse

router = APIRouter(prefix="/api/workspaces/{workspace_id}/connections/oauth", tags=["connections"])
callback_router = APIRouter(prefix="/api/oauth", tags=["connections"])
ProviderPath = Annotated[OAuthProvider, Path(description="meta, google or shopify")]


async def get_clock() -> oauth.Clock:
    """The clock states and grants are checked against (tests override it)."""
    return time.time


ClockDep = Annotated[oauth.Clock, Depends(get_clock)]


def _redirect_uri(request: Request, settings: Settings, provider: str) -> str:
    # Start and callback must name the same URI; behind a proxy set METRICX_PUBLIC_URL.
    base = settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/api/oauth/{provider}/callback"


@router.post("/{provider}/start", response_model=OAuthStartOut)
async def start_oauth(
    provider: ProviderPath,
    request: Request,
    ctx: WorkspaceCtx,
    settings: SettingsDep,
    clock: ClockDep,
    body: Annotated[OAuthStartIn | None, Body()] = None,
) -> OAuthStartOut:
    """The provider's authorize URL with a signed 10-minute state (admin)."""
    url = oauth.start(
        settings,
        ctx,
        provider,
        body or OAuthStartIn(),
        _redirect_uri(request, settings, provider),
        now=clock,
    )
    return OAuthStartOut(authorize_url=url)


@callback_router.get(
    "/{provider}/callback",
    response_model=OAuthGrantOut,
    responses={303: {"description": "To the settings page's account picker"}},
)
async def oauth_callback(
    provider: ProviderPath,
    request: Request,
    user: CurrentUser,
    settings: SettingsDep,
    http: HttpDep,
    clock: ClockDep,
) -> Response:
    """Where the provider sends the browser back: exchange the code, then pick accounts."""
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        workspace_id, grant = await oauth.complete(
            http,
            settings,
            user.id,
            provider,
            list(request.query_params.multi_items()),
            _redirect_uri(request, settings, provider),
            now=clock,
        )
    except oauth.OAuthDenied as exc:
        if wants_json:
            raise
        # Cancelling at the provider is ordinary: back to the page, which says so.
        return _to_settings(exc.workspace_id, oauth_error="denied")
    if wants_json:
        out = OAuthGrantOut(workspace_id=workspace_id, provider=provider, grant=grant)
        return JSONResponse(out.model_dump())
    return _to_settings(workspace_id, oauth=grant)


def _to_settings(workspace_id: int, **query: str) -> RedirectResponse:
    return RedirectResponse(
        f"/w/{workspace_id}/settings?{urlencode(query)}#connections",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@router.get("/accounts", response_model=OAuthAccountsOut)
async def list_oauth_accounts(
    grant: Annotated[str, Query(min_length=1, max_length=GRANT_MAX)],
    ctx: WorkspaceCtx,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    clock: ClockDep,
) -> OAuthAccountsOut:
    """The accounts the authorised provider user can see (admin)."""
    return await oauth.list_accounts(session, http, settings, ctx, grant, now=clock)


@router.post("/accounts", response_model=list[ConnectionOut], status_code=status.HTTP_201_CREATED)
async def connect_oauth_accounts(
    body: OAuthConnectIn,
    ctx: WorkspaceCtx,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    queue: QueueDep,
    clock: ClockDep,
) -> list[ConnectionOut]:
    """Connect the picked accounts (admin); their first syncs are queued after commit."""
    connections = await oauth.connect_accounts(session, http, settings, ctx, body, now=clock)
    due = [c.id for c in connections if c.next_sync_at is not None]
    ws_id = ctx.workspace_id

    async def enqueue() -> None:
        for conn_id in due:
            await enqueue_quietly(
                queue, "sync_connection", connection_id=conn_id, workspace_id=ws_id
            )

    after_commit(session, enqueue)
    return [service.to_out(c) for c in connections]
