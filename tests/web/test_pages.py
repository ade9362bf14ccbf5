"""Server-rendered pages: auth redirects, rendering, escaping, headers, tenancy."""

from __future__ import annotations

import re

import pytest

from metricx.models import Membership
from metricx.web.security import CONTENT_SECURITY_POLICY
from tests.factories import make_tenant
from tests.web.helpers import csrf_from, web_login

HOSTILE = '<script>alert("x")</script>'


def assert_no_inline_script(html: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), "inline event handler"
    assert "javascript:" not in html.lower()


async def test_pages_redirect_to_login_when_signed_out(client, db) -> None:
    tenant = await make_tenant(db)
    for path in (
        "/",
        f"/w/{tenant.workspace_id}",
        f"/w/{tenant.workspace_id}/campaigns",
        f"/w/{tenant.workspace_id}/ask",
        f"/w/{tenant.workspace_id}/settings",
    ):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F")


async def test_login_page_has_csrf_and_security_headers(client) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.cookies.get("mx_csrf")
    assert f'value="{response.cookies["mx_csrf"]}"' in response.text
    assert_no_inline_script(response.text)


async def test_login_flow_and_bad_password(client, db) -> None:
    tenant = await make_tenant(db)
    token = await csrf_from(client, "/login")
    bad = await client.post(
        "/login", data={"email": tenant.email, "password": "nope", "csrf_token": token}
    )
    assert bad.status_code == 401
    assert "Invalid email or password" in bad.text
    ok = await client.post(
        "/login",
        data={
            "email": tenant.email,
            "password": tenant.password,
            "csrf_token": token,
            "next": "/w/1/ask",
        },
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/w/1/ask"
    home = await client.get("/")
    assert home.status_code == 303
    assert home.headers["location"] == f"/w/{tenant.workspace_id}"


async def test_forms_refuse_a_missing_or_wrong_csrf_token(client, db) -> None:
    tenant = await make_tenant(db)
    await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "email": tenant.email,
            "password": tenant.password,
            "csrf_token": "forged-token-value-xxxxxxxx",
        },
    )
    assert response.status_code == 403
    assert "mx_session" not in response.cookies
    await web_login(client, tenant.email)
    assert (await client.post("/logout", data={})).status_code == 403


async def test_login_never_redirects_off_site(client, db) -> None:
    tenant = await make_tenant(db)
    token = await csrf_from(client, "/login")
    response = await client.post(
        "/login",
        data={
            "email": tenant.email,
            "password": tenant.password,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


async def test_logout_ends_the_session(client, db) -> None:
    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    token = await csrf_from(client, f"/w/{tenant.workspace_id}/ask")
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await client.get(f"/w/{tenant.workspace_id}")).status_code == 303


async def test_register_then_create_a_workspace(client) -> None:
    token = await csrf_from(client, "/register")
    response = await client.post(
        "/register",
        data={
            "email": "new@example.com",
            "name": "N",
            "password": "secret-pass",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    welcome = await client.get("/")
    assert welcome.status_code == 200 and "Create your first workspace" in welcome.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', welcome.text).group(1)
    created = await client.post(
        "/workspaces",
        data={"name": "Acme", "currency": "EUR", "timezone": "Europe/Berlin", "csrf_token": token},
    )
    assert created.status_code == 303
    assert re.fullmatch(r"/w/\d+/settings", created.headers["location"])
    settings = await client.get(created.headers["location"])
    assert settings.status_code == 200
    assert "<option selected>EUR</option>" in settings.text


async def test_dashboard_renders_the_payload(client, db, sample_data) -> None:
    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    response = await client.get(f"/w/{tenant.workspace_id}?timeframe=last_7_days")
    assert response.status_code == 200
    html = response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert_no_inline_script(html)
    for label in ("Revenue", "Spend", "ROAS", "Conversions", "CPA", "AOV"):
        assert f">{label}</h2>" in html
    assert re.search(r'data-kpi="revenue".*?\$\d{1,3}(,\d{3})*\.\d\d', html, flags=re.S)
    assert 'class="chart"' in html and "line-prev-revenue" in html
    assert "Meta" in html and "Google Ads" in html and "TikTok" in html
    assert "UGC unboxing creative" in html and "Retargeting 7d" in html
    assert "4 min ago" in html
    assert "needs reauth" in html
    assert 'aria-current="true">Last 7 days' in html
    assert f"/api/workspaces/{tenant.workspace_id}/insights?timeframe=last_7_days" in html
    # The AOV KPI has no value: a dash, never "None" or "$0.00".
    aov = html[html.index('data-kpi="aov"') :]
    assert "—" in aov[:400] and "None" not in html


async def test_cpa_drop_is_coloured_good(client, db, sample_data) -> None:
    from metricx.web import format as fmt

    assert fmt.delta(-12.0, "lower")["tone"] == "good"
    assert fmt.delta(-12.0, "higher")["tone"] == "bad"
    assert fmt.delta(None, "higher")["text"] == "—"
    assert fmt.money(12345.675, "USD") == "$12,345.68"
    assert fmt.money(None, "EUR") == "—"
    assert fmt.money(1200, "JPY") == "¥1,200"
    assert fmt.ratio(3.214) == "3.21\u00d7"


async def test_custom_and_invalid_timeframes(client, db, sample_data) -> None:
    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    base = f"/w/{tenant.workspace_id}"
    custom = await client.get(f"{base}?timeframe=custom&start=2026-10-01&end=2026-10-10")
    assert custom.status_code == 200 and "Oct 1, 2026 \u2013 Oct 10, 2026" in custom.text
    for query in (
        "timeframe=forever",
        "timeframe=custom&start=2026-10-10&end=2026-10-01",
        "timeframe=custom&start=nope&end=x",
        "start=2020-01-01&end=2026-01-01",
    ):
        response = await client.get(f"{base}?{query}")
        assert response.status_code == 200, query
        assert "couldn&#39;t load this view" in response.text or "couldn't load" in response.text


async def test_new_workspace_shows_the_connect_empty_state(client, db) -> None:
    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    response = await client.get(f"/w/{tenant.workspace_id}")
    assert response.status_code == 200
    assert "Connect an ad account" in response.text
    assert f"/w/{tenant.workspace_id}/settings#connections" in response.text


async def test_hostile_names_are_escaped_everywhere(client, db, sample_data) -> None:
    tenant = await make_tenant(db, name=HOSTILE)
    sample_data["campaign"] = HOSTILE
    await web_login(client, tenant.email)
    base = f"/w/{tenant.workspace_id}"
    for path in (base, f"{base}/campaigns", f"{base}/settings", f"{base}/ask?q={HOSTILE}"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert HOSTILE not in response.text, path
        assert "&lt;script&gt;" in response.text, path
        assert_no_inline_script(response.text)


async def test_foreign_workspace_is_a_404_page(client, db, sample_data) -> None:
    mine = await make_tenant(db, "me@example.com")
    other = await make_tenant(db, "other@example.com", name="Other brand")
    await web_login(client, mine.email)
    for suffix in ("", "/campaigns", "/ask", "/settings"):
        response = await client.get(f"/w/{other.workspace_id}{suffix}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Other brand" not in response.text
    for bad in ("/w/abc", "/w/0", "/w/99999999999999999999999"):
        assert (await client.get(bad)).status_code == 404


async def test_campaigns_table_drills_down_and_exports(client, db, sample_data) -> None:
    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    base = f"/w/{tenant.workspace_id}/campaigns"
    top = await client.get(f"{base}?timeframe=last_7_days")
    assert top.status_code == 200
    assert 'aria-sort="descending"' in top.text
    assert "?timeframe=last_7_days&amp;level=adset&amp;parent_id=1" in top.text
    assert (
        f"/api/workspaces/{tenant.workspace_id}/export.csv?timeframe=last_7_days&amp;level=campaign"
    ) in top.text
    adsets = await client.get(f"{base}?timeframe=last_7_days&level=adset&parent_id=1")
    assert "Adset 11" in adsets.text and "level=ad&amp;parent_id=11" in adsets.text
    ads = await client.get(f"{base}?timeframe=last_7_days&level=ad&parent_id=11")
    assert "Ad 111" in ads.text and "Ad sets" not in ads.text
    assert "parent_id=1" in ads.text  # breadcrumb back to the campaign's ad sets


async def test_settings_page_for_owner_and_viewer(client, db) -> None:
    owner = await make_tenant(db)
    viewer = await make_tenant(db, "viewer@example.com")
    async with db.transaction() as session:
        session.add(
            Membership(workspace_id=owner.workspace_id, user_id=viewer.user_id, role="viewer")
        )
    await web_login(client, owner.email)
    page = await client.get(f"/w/{owner.workspace_id}/settings")
    assert page.status_code == 200
    assert '/pixel.js" data-key="px_' in page.text
    assert f'data-url="/api/workspaces/{owner.workspace_id}/connections"' in page.text
    assert 'data-oauth-start="meta"' in page.text and 'data-oauth-start="shopify"' in page.text
    client.cookies.clear()
    await web_login(client, viewer.email)
    page = await client.get(f"/w/{owner.workspace_id}/settings")
    assert "You are a viewer" in page.text and " disabled" in page.text
    assert "data-oauth-start" not in page.text  # connecting is for admins


async def test_static_assets_are_fingerprinted_and_cached(client) -> None:
    html = (await client.get("/login")).text
    href = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', html).group(1)
    response = await client.get(href)
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


@pytest.mark.parametrize("path", ["/login", "/register"])
async def test_auth_pages_are_labelled(client, path) -> None:
    html = (await client.get(path)).text
    for field in re.findall(r'<input id="([^"]+)"', html):
        assert f'<label for="{field}"' in html


async def test_signed_in_csrf_token_is_bound_to_the_session(client, db) -> None:
    """Same token scheme as the auth API, so page scripts' API calls pass its CSRF check."""
    from metricx.web.security import session_csrf

    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    session_token = client.cookies["mx_session"]
    expected = session_csrf("test-secret-key-not-for-production-use", session_token)
    assert client.cookies["mx_csrf"] == expected
    html = (await client.get(f"/w/{tenant.workspace_id}/ask")).text
    assert f'name="csrf-token" content="{expected}"' in html
    # A token that matches the cookie but not the session is refused.
    client.cookies.set("mx_csrf", "a-planted-token-from-a-sibling-domain")
    refused = await client.post(
        "/logout", data={"csrf_token": "a-planted-token-from-a-sibling-domain"}
    )
    assert refused.status_code == 403
