"""Auth endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from metricx.auth import service
from metricx.auth.deps import SESSION_COOKIE, CurrentUser
from metricx.auth.schemas import LoginIn, TokenOut, UserOut
from metricx.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut)
async def login(
    body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> TokenOut:
    """Sign in; sets the session cookie and returns the same token for API use."""
    user = await service.authenticate(session, body.email, body.password)
    token = await service.start_session(
        session, settings, user, request.headers.get("user-agent", "")
    )
    secure = settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    return TokenOut(access_token=token, user=UserOut.model_validate(user))


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)
