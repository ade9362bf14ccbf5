"""Auth at the edge: the current user, and the AuthContext for a workspace path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from metricx.auth import service
from metricx.deps import SessionDep, SettingsDep
from metricx.errors import NotAuthenticated, NotFound
from metricx.models import User
from metricx.tenancy import AuthContext
from metricx.workspaces import repository as ws_repo

SESSION_COOKIE = "mx_session"
MAX_ID = 2**63 - 1


def presented_token(request: Request) -> tuple[str | None, bool]:
    """(token, came_from_cookie): a Bearer header wins over the cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    """The signed-in user, or 401."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token, from_cookie = presented_token(request)
    if not token:
        raise NotAuthenticated("Sign in to continue.")
    user = await service.user_for_token(session, settings, token)
    if user is None:
        raise NotAuthenticated("Your session has expired or is invalid; sign in again.")
    request.state.user = user
    request.state.auth_via_cookie = from_cookie
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def workspace_context(
    session: SessionDep,
    user: CurrentUser,
    workspace_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Workspace id")],
) -> AuthContext:
    """Resolve the caller's role in the workspace of the path; not a member means 404."""
    found = await ws_repo.get_membership(session, workspace_id, user.id)
    if found is None:
        raise NotFound("Workspace not found.")
    workspace, membership = found
    return AuthContext(
        user_id=user.id,
        workspace_id=workspace.id,
        role=membership.role,  # type: ignore[arg-type]
        timezone=workspace.timezone,
        currency=workspace.currency,
        data_version=workspace.data_version,
    )


WorkspaceCtx = Annotated[AuthContext, Depends(workspace_context)]
