"""Pages: headers on every page, CSRF on every form, Secure cookies over https, and
`<script>` in every user-controlled name escaped everywhere it is shown."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from metricx.models import Connection, Entity, Invite, User, Workspace, utcnow
from metricx.web.security import CONTENT_SECURITY_POLICY
from metricx.workspaces.repository import bump_data_version
from tests.factories import PASSWORD, make_tenant
from tests.web.helpers import web_login
from tests.web.test_pages import HOSTILE, assert_no_inline_script

STATIC_JS = Path(__file__).parents[2] / "src" / "metricx" / "web" / "static" / "js"


def _pages(workspace_id: int) -> list[str]:
    base = f"/w/{workspace_id}"
    return [base, f"{base}/campaigns", f"{base}/ask", f"{base}/settings", f"/w/{2**40}"]


def _assert_headers(response: httpx.Response, label: str) -> None:
    csp = response.headers.get("content-security-policy", "")
    assert csp == CONTENT_SECURITY_POLICY, label
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'", label
    assert directives["frame-ancestors"] == "'none'", label
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, label
    assert response.headers["x-content-type-options"] == "nosniff", label
    assert response.headers["referrer-policy"] == "same-origin", label


async def test_every_page_sends_the_security_headers(client, db) -> None:
    tenant = await make_tenant(db)
    for path in ("/login", "/register"):
        _assert_headers(await client.get(path), path)
    await web_login(client, tenant.email)
    for path in _pages(tenant.workspace_id):
        response = await client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        _assert_headers(response, path)
        assert_no_inline_script(response.text)
    api = await client.get("/api/auth/me")
    assert api.headers["x-content-type-options"] == "nosniff"


async def test_every_post_form_carries_the_csrf_token(client, db) -> None:
    tenant = await make_tenant(db)
    forms: list[tuple[str, str]] = []
    for path in ("/login", "/register"):
        forms += [(path, f) for f in _forms((await client.get(path)).text)]
    await web_login(client, tenant.email)
    for path in _pages(tenant.workspace_id):
        forms += [(path, f) for f in _forms((await client.get(path)).text)]
    assert len(forms) >= 4
    token = client.cookies.get("mx_csrf")
    for path, form in forms:
        if "data-json-form" in form:
            continue  # sent by common.js with the X-CSRF-Token header, checked by the API
        if re.search(r'method="post"', form, re.I):
            assert 'name="csrf_token"' in form, (path, form[:200])
    # and the signed-in forms echo the session's token
    settings_page = (await client.get(f"/w/{tenant.workspace_id}/settings")).text
    assert token and (token in settings_page or "data-json-form" in settings_page)


def _forms(html: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", html, flags=re.S | re.I)


def _cookie(response: httpx.Response, name: str) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))


async def _login_cookies(app, base_url: str, headers: dict | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
        api = await c.post(
            "/api/auth/login",
            json={"email": "owner@example.com", "password": PASSWORD},
            headers=headers or {},
        )
        assert api.status_code == 200, api.text
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as fresh:
        page = await fresh.get("/login", headers=headers or {})  # the pre-sign-in CSRF cookie
    return [_cookie(api, "mx_session"), _cookie(api, "mx_csrf"), _cookie(page, "mx_csrf")]


async def test_cookies_are_secure_over_https_and_behind_a_trusted_proxy(app, db) -> None:
    await make_tenant(db)
    for cookie in await _login_cookies(app, "https://testserver"):
        assert "; Secure" in cookie and "SameSite=lax" in cookie, cookie
    for cookie in await _login_cookies(app, "http://testserver"):
        assert "Secure" not in cookie, cookie  # plain-http development still works
    # `metricx serve` runs uvicorn with proxy_headers: X-Forwarded-Proto from the proxy
    # makes the scheme https, so the cookies are Secure behind TLS termination.
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    forwarded = {"X-Forwarded-Proto": "https"}
    for cookie in await _login_cookies(proxied, "http://testserver", forwarded):
        assert "; Secure" in cookie, cookie
    # ...but only from a trusted proxy: a client cannot talk the app into anything.
    untrusted = ProxyHeadersMiddleware(app, trusted_hosts="10.9.9.9")
    for cookie in await _login_cookies(untrusted, "http://testserver", forwarded):
        assert "Secure" not in cookie, cookie


@pytest.mark.parametrize("hostile", [HOSTILE, '"><img src=x onerror=alert(1)>'])
async def test_every_user_controlled_name_is_escaped_on_every_page(
    client, db, demo, hostile: str
) -> None:
    await web_login(client, demo.email, demo.password)
    async with db.transaction() as s:
        ws = demo.workspace_id
        await s.execute(update(Workspace).where(Workspace.id == ws).values(name=hostile))
        await s.execute(update(User).where(User.id == demo.user_id).values(name=hostile))
        await s.execute(
            update(Connection).where(Connection.workspace_id == ws).values(name=hostile)
        )
        # Every level: campaigns, ad sets and ads all carry the name.
        await s.execute(update(Entity).where(Entity.workspace_id == ws).values(name=hostile))
        s.add(
            Invite(
                workspace_id=ws,
                email=f"{hostile}@example.com",
                role="viewer",
                token_hash="c" * 64,
                invited_by=demo.user_id,
                expires_at=utcnow(),
            )
        )
        campaign = await s.scalar(
            select(Entity.id).where(Entity.workspace_id == ws, Entity.level == "campaign").limit(1)
        )
        adset = await s.scalar(select(Entity.id).where(Entity.parent_id == campaign).limit(1))
        await bump_data_version(s, ws)
    base = f"/w/{ws}"
    pages = [
        *_pages(ws),
        f"{base}?timeframe=last_30_days",
        f"{base}/campaigns?level=adset&parent_id={campaign}",
        f"{base}/campaigns?level=ad&parent_id={adset}",
        f"{base}/ask?q={hostile}",
    ]
    for path in pages:
        response = await client.get(path)
        assert response.status_code in (200, 404), path
        assert hostile not in response.text, path
        assert "<img src=x" not in response.text, path
        # The escaped payload is text; anything else that looks like a handler is not.
        assert_no_inline_script(response.text.replace("onerror=alert(1)&gt;", ""))
    # Members, invites and connections are drawn by page scripts from JSON: the JSON is
    # never HTML, and the scripts only ever set text (checked below).
    for api in ("members", "invites", "connections"):
        r = await client.get(f"/api/workspaces/{ws}/{api}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")


def test_page_scripts_never_turn_data_into_html() -> None:
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    )
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(STATIC_JS.glob("*.js"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if sinks.search(line)
    ]
    assert not offenders, offenders
