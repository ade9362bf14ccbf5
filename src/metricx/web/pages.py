"""Page-side auth: the signed-in user or a redirect to /login, a workspace or a 404 page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth import service as auth_service
from metricx.auth.deps import SESSION_COOKIE
from metricx.models import User
from metricx.tenancy import AuthContext, workspace_context_for
from metricx.web import queries
from metricx.web.templating import render
from metricx.workspaces import repository as ws_repo

MAX_ID = 2**63 - 1


class LoginRequired(Exception):
    """The page needs a signed-in user; the handler redirects to /login?next=."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageNotFound(Exception):
    """Rendered as the HTML 404 page (a foreign workspace looks exactly like a missing one)."""


@dataclass
class WorkspacePage:
    """What every workspace page needs: who, where, and the switcher's list."""

    user: User
    ctx: AuthContext
    name: str
    workspaces: list[dict[str, Any]]

    def common(self, active: str) -> dict[str, Any]:
        """Template values shared by every workspace page."""
        return {
            "user": self.user,
            "ctx": self.ctx,
            "workspace_name": self.name,
            "workspaces": self.workspaces,
            "active": active,
        }


def safe_next(value: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def page_user(request: Request, session: AsyncSession) -> User:
    """The signed-in user from the session cookie, or LoginRequired."""
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        user = await auth_service.user_for_token(session, request.app.state.settings, token)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return user


async def workspace_page(request: Request, session: AsyncSession, raw_id: str) -> WorkspacePage:
    """Resolve the workspace of the path for the signed-in user; not a member is a 404."""
    user = await page_user(request, session)
    if not raw_id.isdigit() or not 1 <= int(raw_id) <= MAX_ID:
        raise PageNotFound
    found = await ws_repo.get_membership(session, int(raw_id), user.id)
    if found is None:
        raise PageNotFound
    workspace, membership = found
    ctx = workspace_context_for(user.id, workspace, membership.role)
    workspaces = await queries.workspaces_for_user(session, user.id)
    return WorkspacePage(user=user, ctx=ctx, name=workspace.name, workspaces=workspaces)


async def login_required_handler(request: Request, exc: Exception) -> RedirectResponse:
    """Send the browser to the login page, remembering where it wanted to go."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)


async def not_found_handler(request: Request, exc: Exception) -> HTMLResponse:
    """The HTML 404 page."""
    return render(
        request,
        "error.html",
        {
            "title": "Not found",
            "message": "This page does not exist, or you do not have access to it.",
            "action_href": "/",
            "action_label": "Go to your workspaces",
        },
        status_code=404,
    )
