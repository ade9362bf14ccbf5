"""Auth at the edge: the current user, and the AuthContext for a workspace path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth import api_tokens, service
from metricx.auth import repository as auth_repo
from metricx.auth.cookies import SESSION_COOKIE
from metricx.auth.csrf import UNSAFE_METHODS, verify_csrf
from metricx.auth.principals import PrincipalCache, PrincipalKey
from metricx.auth.ratelimit import RateLimiter
from metricx.auth.tokens import API_TOKEN_PREFIX, SESSION_PREFIX, token_hash, well_formed
from metricx.config import Settings
from metricx.db import Database
from metricx.deps import DatabaseDep, SessionDep, SettingsDep
from metricx.errors import Forbidden, NotAuthenticated, NotFound
from metricx.models import User, utcnow
from metricx.tenancy import AuthContext, workspace_context_for

MAX_ID = 2**63 - 1
AUTH_SESSION = "session"
AUTH_API_TOKEN = "api_token"
_EXPIRED = "Your session has expired or is invalid; sign in again."


def presented_token(request: Request) -> tuple[str | None, bool]:
    """(token, came_from_cookie): a Bearer header wins over the cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    """The signed-in user (session cookie, session Bearer or API token), or 401.

    Cookie-authenticated unsafe requests must also pass the CSRF check here, so every
    route that needs a user is protected without doing anything itself.
    """
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token, from_cookie = presented_token(request)
    if not token:
        raise NotAuthenticated("Sign in to continue.")
    if token.startswith(API_TOKEN_PREFIX) and not from_cookie:
        user = await api_tokens.user_for_api_token(session, settings, token)
        kind = AUTH_API_TOKEN
    else:
        user = await service.user_for_token(session, settings, token)
        kind = AUTH_SESSION
    if user is None:
        raise NotAuthenticated(_EXPIRED)
    if from_cookie and request.method in UNSAFE_METHODS:
        await verify_csrf(request, settings.secret, token)
    request.state.user = user
    request.state.auth_via_cookie = from_cookie
    request.state.auth_kind = kind
    request.state.session_token = token if kind == AUTH_SESSION else None
    return user


async def session_user(request: Request, user: Annotated[User, Depends(current_user)]) -> User:
    """The user signed in with a session; API tokens cannot manage credentials.

    A leaked script token must not be able to mint more tokens or change the password.
    """
    if request.state.auth_kind != AUTH_SESSION:
        raise Forbidden("Sign in with your password to manage credentials.")
    return user


async def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's attempt limiter, created on first use and closed at shutdown."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter(state.settings.redis_url)
        state.rate_limiter = limiter

        async def _close(_app: object) -> None:
            await limiter.close()

        state.shutdown_hooks.append(_close)
    return limiter


CurrentUser = Annotated[User, Depends(current_user)]
SessionUser = Annotated[User, Depends(session_user)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def _credential(request: Request, settings: Settings) -> tuple[str, bool, bool]:
    """(token, is_api_token, came_from_cookie) of a well-formed, correctly signed token; or 401."""
    token, from_cookie = presented_token(request)
    if not token:
        raise NotAuthenticated("Sign in to continue.")
    api_token = token.startswith(API_TOKEN_PREFIX) and not from_cookie
    if not well_formed(settings.secret, token, API_TOKEN_PREFIX if api_token else SESSION_PREFIX):
        raise NotAuthenticated(_EXPIRED)
    return token, api_token, from_cookie


def credential_key(
    request: Request, settings: Settings, workspace_id: int
) -> tuple[PrincipalKey, str, bool]:
    """(PrincipalCache key, token, came_from_cookie) of the presented credential; or 401."""
    token, api_token, from_cookie = _credential(request, settings)
    return (token_hash(token), api_token, workspace_id), token, from_cookie


async def workspace_context(
    request: Request,
    db: DatabaseDep,
    session: SessionDep,
    settings: SettingsDep,
    workspace_id: Annotated[int, Path(ge=1, le=MAX_ID, description="Workspace id")],
) -> AuthContext:
    """Resolve the caller's role in the workspace of the path; not a member means 404.

    Credential, user, membership and workspace are read in one statement on an
    autocommit connection (one round trip, no transaction), and on PostgreSQL kept in the
    process's PrincipalCache until a change notification names them.
    """
    key, token, from_cookie = credential_key(request, settings, workspace_id)
    api_token = key[1]
    principals: PrincipalCache | None = request.app.state.principals
    ctx = principals.get(key) if principals is not None else None
    if ctx is None:
        ctx = await _lookup(request, db, session, principals, key, token, from_cookie)
    elif from_cookie and request.method in UNSAFE_METHODS:
        await verify_csrf(request, settings.secret, token)
    request.state.user_id = ctx.user_id
    request.state.auth_via_cookie = from_cookie
    request.state.auth_kind = AUTH_API_TOKEN if api_token else AUTH_SESSION
    request.state.session_token = None if api_token else token
    return ctx


async def _lookup(
    request: Request,
    db: Database,
    session: AsyncSession,
    principals: PrincipalCache | None,
    key: PrincipalKey,
    token: str,
    from_cookie: bool,
) -> AuthContext:
    """The database path of workspace_context: 401, CSRF, 404, in the order of old."""
    hashed, api_token, workspace_id = key
    began = principals.begin() if principals is not None else 0
    now = utcnow()
    async with db.autocommit.connect() as conn:
        row = await auth_repo.workspace_principal(
            conn, api_token=api_token, hashed=hashed, workspace_id=workspace_id, now=now
        )
    if row is None:
        raise NotAuthenticated(_EXPIRED)
    if from_cookie and request.method in UNSAFE_METHODS:
        await verify_csrf(request, request.app.state.settings.secret, token)
    last_used = row.last_used_at
    if api_token and (last_used is None or now - last_used > api_tokens.TOUCH_INTERVAL):
        # Written with the request; the notification it causes drops this user's entries.
        await auth_repo.touch_api_token(session, row.credential_id, now)
    if row.role is None:
        raise NotFound("Workspace not found.")
    ctx = workspace_context_for(row.user_id, row, row.role)
    if principals is not None:
        principals.store(key, ctx, began, row.expires_at)
    return ctx


WorkspaceCtx = Annotated[AuthContext, Depends(workspace_context)]
