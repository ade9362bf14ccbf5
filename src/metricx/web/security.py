"""Security for the pages: response headers and the double-submit CSRF check.

The auth package owns CSRF for the JSON API (the `mx_csrf` cookie echoed in `X-CSRF-Token`
or a `csrf_token` form field). The pages use the same cookie and field names, so one token
serves both; until the auth mechanism is merged, the pages issue and check it themselves.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "mx_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_HTML_ONLY = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    """nosniff and Referrer-Policy on every response; the CSP on every HTML document."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = b""
                for name, value in headers:
                    if name.lower() == b"content-type":
                        content_type = value
                extra = list(_ALWAYS)
                if content_type.startswith(b"text/html"):
                    extra += _HTML_ONLY
                headers += [(n, v) for n, v in extra if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a fresh one the response must set."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(existing) <= 100:
        return existing
    token = getattr(request.state, "new_csrf_token", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_token = token
    return token


def set_csrf_cookie(request: Request, response: Response, secure: bool) -> None:
    """Send the CSRF cookie when this request minted a new token (readable by our JS)."""
    token = getattr(request.state, "new_csrf_token", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            max_age=14 * 86400,
            httponly=False,
            samesite="lax",
            secure=secure,
            path="/",
        )


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Double submit: the form field (or header) equals the cookie, compared in constant time."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    presented = submitted or request.headers.get(CSRF_HEADER, "")
    if not cookie or not presented:
        return False
    return hmac.compare_digest(cookie.encode(), presented.encode())
