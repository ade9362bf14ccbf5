"""Sign in through the HTML form, as a browser would."""

from __future__ import annotations

import re

import httpx

from tests.factories import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from(client: httpx.AsyncClient, path: str) -> str:
    """GET a page and return the CSRF token of its form (the cookie is kept by the client)."""
    response = await client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, response.text[:500]
    return match.group(1)


async def web_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    """Sign in through POST /login with the form's CSRF token."""
    token = await csrf_from(client, "/login")
    response = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"}
    )
    assert response.status_code == 303, response.text
