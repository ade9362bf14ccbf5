"""Auth endpoints: sign-up, sign-in and out, password change and reset, API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from metricx.auth import account, api_tokens, reset, service
from metricx.auth.cookies import clear_session_cookies, set_session_cookies
from metricx.auth.csrf import csrf_token_for
from metricx.auth.deps import MAX_ID, CurrentUser, RateLimiterDep, SessionUser
from metricx.auth.ratelimit import clear_email, guard_attempt
from metricx.auth.schemas import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    ChangePasswordIn,
    CsrfOut,
    DeleteAccountIn,
    LoginIn,
    MessageOut,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokenOut,
    UserOut,
)
from metricx.config import Settings
from metricx.deps import SessionDep, SettingsDep
from metricx.models import User

router = APIRouter(prefix="/api/auth", tags=["auth"])

RESET_ACK = "If an account exists for this email, a reset link is on its way."


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _sign_in(
    request: Request, response: Response, session: SessionDep, settings: Settings, user: User
) -> TokenOut:
    token = await service.start_session(
        session, settings, user, request.headers.get("user-agent", "")
    )
    csrf = set_session_cookies(response, request, settings, token)
    return TokenOut(access_token=token, user=UserOut.model_validate(user), csrf_token=csrf)


@router.post("/register", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
async def register(
    body: RegisterIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> TokenOut:
    """Create an account and sign in."""
    await guard_attempt(
        limiter,
        "register",
        body.email,
        _client_ip(request),
        limit=settings.login_rate_limit,
        window=settings.login_rate_window_seconds,
    )
    user = await service.create_user(session, body.email, body.password, body.name)
    return await _sign_in(request, response, session, settings, user)


@router.post("/login", response_model=TokenOut)
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> TokenOut:
    """Sign in; sets the session cookie and returns the same token for API use."""
    await guard_attempt(
        limiter,
        "login",
        body.email,
        _client_ip(request),
        limit=settings.login_rate_limit,
        window=settings.login_rate_window_seconds,
    )
    user = await service.authenticate(session, body.email, body.password)
    await clear_email(limiter, "login", body.email)
    return await _sign_in(request, response, session, settings, user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    user: CurrentUser, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Revoke this session server-side and clear the cookies."""
    token = request.state.session_token
    if token:
        await service.end_session(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response, request, settings)
    return response


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_me(
    body: DeleteAccountIn,
    user: SessionUser,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Delete your account (password required); 409 while you own shared workspaces."""
    await account.delete_account(session, user, body.password)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response, request, settings)
    return response


@router.get("/csrf", response_model=CsrfOut)
async def csrf(user: SessionUser, request: Request, settings: SettingsDep) -> CsrfOut:
    """The CSRF token of the current session (also in the mx_csrf cookie)."""
    return CsrfOut(csrf_token=csrf_token_for(settings.secret, request.state.session_token))


@router.post("/password", response_model=TokenOut)
async def change_password(
    body: ChangePasswordIn,
    user: SessionUser,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    """Change the password: every session ends, and this one is replaced by a fresh one."""
    await service.change_password(session, user, body.current_password, body.new_password)
    return await _sign_in(request, response, session, settings, user)


@router.post("/password-reset", response_model=MessageOut, status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    body: ResetRequestIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> MessageOut:
    """Send a reset link if the account exists; the answer is the same either way."""
    await guard_attempt(
        limiter,
        "reset",
        body.email,
        _client_ip(request),
        limit=settings.login_rate_limit,
        window=settings.login_rate_window_seconds,
    )
    secret = await reset.request_reset(session, settings, body.email)
    if secret is not None:
        reset.deliver_reset_link(settings, str(request.base_url), secret)
    return MessageOut(detail=RESET_ACK)


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def confirm_password_reset(
    body: ResetConfirmIn, session: SessionDep, settings: SettingsDep
) -> Response:
    """Set a new password with a reset token; all sessions end, sign in again."""
    await reset.confirm_reset(session, settings, body.token, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tokens", response_model=list[ApiTokenOut])
async def list_tokens(user: SessionUser, session: SessionDep) -> list[ApiTokenOut]:
    """Your personal API tokens (secrets are never shown again)."""
    tokens = await api_tokens.list_api_tokens(session, user)
    return [ApiTokenOut.model_validate(t) for t in tokens]


@router.post("/tokens", response_model=ApiTokenCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_token(
    body: ApiTokenIn, user: SessionUser, session: SessionDep, settings: SettingsDep
) -> ApiTokenCreatedOut:
    """Create a personal API token; copy it now, it is shown only once."""
    token, secret = await api_tokens.create_api_token(
        session, settings, user, body.name, body.expires_in_days
    )
    return ApiTokenCreatedOut.model_validate(
        {**ApiTokenOut.model_validate(token).model_dump(), "token": secret}
    )


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: SessionUser, session: SessionDep
) -> Response:
    """Revoke a personal API token."""
    await api_tokens.revoke_api_token(session, user, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
