"""The session and CSRF cookies set at sign-in and cleared at sign-out."""

from __future__ import annotations

from fastapi import Request, Response

from metricx.auth.csrf import CSRF_COOKIE, csrf_token_for
from metricx.config import Settings

SESSION_COOKIE = "mx_session"


def _secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def set_session_cookies(
    response: Response, request: Request, settings: Settings, session_token: str
) -> str:
    """Set the httpOnly session cookie and its readable CSRF companion; returns the CSRF token."""
    secure = _secure(request, settings)
    max_age = settings.session_ttl_hours * 3600
    csrf = csrf_token_for(settings.secret, session_token)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    # Not httpOnly on purpose: page scripts read it to send X-CSRF-Token.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/"
    )
    return csrf


def clear_session_cookies(response: Response, request: Request, settings: Settings) -> None:
    """Expire both cookies in the browser."""
    secure = _secure(request, settings)
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="lax")
