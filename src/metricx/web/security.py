"""Security for the pages: response headers and the CSRF check of their forms.

Same scheme as the auth branch's API (signed double submit): for a signed-in browser the
`mx_csrf` cookie is an HMAC of its session under the app secret, echoed in the
`csrf_token` form field or `X-CSRF-Token`, so the page forms and the page scripts' API
calls share one token. Before sign-in (login and register forms) there is no session
to bind to, and the token is a random double-submit value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metricx.auth.tokens import token_hash

CSRF_COOKIE = "mx_csrf"
SESSION_COOKIE = "mx_session"
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


def session_csrf(secret: str, session_token: str) -> str:
    """The CSRF token bound to a session (the formula of metricx.auth.csrf.csrf_token_for)."""
    message = ("csrf:" + token_hash(session_token)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _session_token(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE, "")
    return token if 0 < len(token) <= 200 else ""


def csrf_token(request: Request) -> str:
    """The token forms must echo; when the cookie lacks it, the response sets it."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    session = _session_token(request)
    if session:
        expected = session_csrf(request.app.state.settings.secret, session)
        if not hmac.compare_digest(existing.encode(), expected.encode()):
            request.state.new_csrf_token = expected
        return expected
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
    """The submitted token equals the cookie and, when signed in, is bound to the session."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    presented = submitted or request.headers.get(CSRF_HEADER, "")
    if not cookie or not presented:
        return False
    same = hmac.compare_digest(cookie.encode(), presented.encode())
    session = _session_token(request)
    if not session:
        return same
    expected = session_csrf(request.app.state.settings.secret, session)
    bound = hmac.compare_digest(presented.encode(), expected.encode())
    return same and bound
