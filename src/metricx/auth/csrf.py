"""CSRF protection for cookie-authenticated unsafe requests (signed double-submit).

The `mx_csrf` cookie holds an HMAC of the session it belongs to; an unsafe request that
authenticates with the session cookie must echo it in `X-CSRF-Token` (or the `csrf_token`
form field). Binding the value to the session means a cookie planted by a sibling domain
is useless, and comparing in constant time leaks nothing. Bearer requests are exempt:
browsers never attach an Authorization header on their own.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from metricx.auth.tokens import token_hash
from metricx.errors import Forbidden

CSRF_COOKIE = "mx_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfFailed(Forbidden):
    """The CSRF token is missing or does not match this session."""

    code = "csrf_failed"


def csrf_token_for(secret: str, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of the session id under the app secret."""
    message = ("csrf:" + token_hash(session_token)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def _submitted_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        # Starlette caches the parsed form, so the route can still read it afterwards.
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def verify_csrf(request: Request, secret: str, session_token: str) -> None:
    """Raise 403 csrf_failed unless the request echoes this session's CSRF token."""
    submitted = await _submitted_token(request)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    expected = csrf_token_for(secret, session_token)
    if not submitted or not cookie:
        raise CsrfFailed("This request needs the X-CSRF-Token header from the mx_csrf cookie.")
    # Both comparisons always run so timing does not tell which one failed.
    same_as_cookie = hmac.compare_digest(submitted.encode(), cookie.encode())
    bound_to_session = hmac.compare_digest(submitted.encode(), expected.encode())
    if not (same_as_cookie and bound_to_session):
        raise CsrfFailed("The CSRF token does not match this session; reload and try again.")
