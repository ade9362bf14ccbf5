"""Server-rendered pages: auth redirects, rendering, escaping, headers, tenancy."""

from __future__ import annotations

import re
from html import escape
from typing import get_args

import pytest
from sqlalchemy import select, update

from metricx.attribution import engine as attribution_engine
from metricx.attribution.schemas import ModelName, WindowDays
from metricx.models import Connection, Entity, Membership, Workspace
from metricx.web import format as fmt
from metricx.web import present
from metricx.web.security import CONTENT_SECURITY_POLICY
from metricx.workspaces.repository import bump_data_version
from tests.factories import login_headers, make_tenant
from tests.web.helpers import csrf_from, web_login
from tests.web.payload_fixture import real_dashboard_payload

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


async def test_dashboard_renders_the_real_payload(client, db, demo) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Connection)
            .where(Connection.workspace_id == demo.workspace_id, Connection.provider == "google")
            .values(status="needs_reauth")
        )
    await web_login(client, demo.email, demo.password)
    response = await client.get(f"/w/{demo.workspace_id}?timeframe=last_7_days")
    assert response.status_code == 200
    html = response.text
    payload = await real_dashboard_payload(db, demo, "last_7_days")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert_no_inline_script(html)
    for kpi in payload["kpis"]:
        assert f">{kpi['label']}</h2>" in html
    assert re.search(r'data-kpi="revenue".*?\$\d{1,3}(,\d{3})*\.\d\d', html, flags=re.S)
    assert 'class="chart"' in html and "line-prev-revenue" in html
    assert "Meta" in html and "Google Ads" in html
    for row in payload["top_creatives"][:2] + payload["unit_economics"][:2]:
        assert escape(row["name"]) in html
    # Freshness: the demo load is the connections' last successful sync.
    freshness = re.search(r"Updated <time[^>]*>([^<]+)</time>", html).group(1)
    assert freshness in ("just now", "1 min ago", "2 min ago"), freshness
    assert "needs reauth — fix in settings" in html
    assert 'aria-current="true">Last 7 days' in html
    assert f"/api/workspaces/{demo.workspace_id}/insights?timeframe=last_7_days" in html
    assert "None" not in html and "##" not in html


async def test_attribution_card_shows_the_real_block(client, db, demo) -> None:
    """Revenue, channels and latest orders from dashboard_attribution_block (money in micros)."""
    payload = await real_dashboard_payload(db, demo)
    block = payload["attribution"]
    assert block["attributed_revenue_micros"] > 0 and block["channels"] and block["feed"]
    view = present.dashboard_view(payload)["attribution"]
    assert view["revenue"] == present.money_micros(block["attributed_revenue_micros"], "USD")
    assert view["revenue"].startswith("$") and view["rate"].endswith("%")
    channels = {c["key"]: c for c in view["channels"]}
    assert set(channels) == {c["channel"] for c in block["channels"]}
    assert view["channels"][-1]["key"] == "unattributed"
    top = max(block["channels"], key=lambda c: c["revenue_micros"])
    assert channels[top["channel"]]["revenue"] == fmt.money(top["revenue_micros"] / 1e6)
    first = block["feed"][0]
    latest = view["latest"][0]
    assert latest["order"] == first["order_number"].lstrip("#")
    assert latest["revenue"] == fmt.money(first["revenue_micros"] / 1e6)
    assert latest["channel"] == fmt.provider(first["touches"][0]["channel"])
    assert latest["when"].endswith("ago")
    named = [o for o in block["feed"] if o["touches"][0]["entity"]]
    assert named, "the demo's orders carry utm_content, so some touches name an ad"
    index = block["feed"].index(named[0])
    assert view["latest"][index]["campaign"] == named[0]["touches"][0]["entity"]["name"]

    await web_login(client, demo.email, demo.password)
    html = (await client.get(f"/w/{demo.workspace_id}")).text
    card = html[html.index('id="attr-title"') : html.index('id="creatives-title"')]
    assert view["revenue"] in card and "Attribution starts once" not in card
    assert f"#{latest['order']}</span>" in card and "No attributed orders yet" not in card
    assert escape(view["latest"][index]["campaign"]) in card
    assert "Last click · 7-day window" in card


async def test_cpa_drop_is_coloured_good() -> None:
    from metricx.web import format as fmt

    assert fmt.delta(-12.0, "lower")["tone"] == "good"
    assert fmt.delta(-12.0, "higher")["tone"] == "bad"
    assert fmt.delta(None, "higher")["text"] == "—"
    assert fmt.money(12345.675, "USD") == "$12,345.68"
    assert fmt.money(None, "EUR") == "—"
    assert fmt.money(1200, "JPY") == "¥1,200"
    assert fmt.ratio(3.214) == "3.21\u00d7"


async def test_custom_and_invalid_timeframes(client, db) -> None:
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


async def test_hostile_names_are_escaped_everywhere(client, db, demo) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Workspace).where(Workspace.id == demo.workspace_id).values(name=HOSTILE)
        )
        campaign = await session.scalar(
            select(Entity)
            .where(Entity.workspace_id == demo.workspace_id, Entity.level == "campaign")
            .order_by(Entity.id)
            .limit(1)
        )
        campaign.name = HOSTILE
        adset = await session.scalar(
            select(Entity.id).where(Entity.parent_id == campaign.id).order_by(Entity.id).limit(1)
        )
        await bump_data_version(session, demo.workspace_id)
    await web_login(client, demo.email, demo.password)
    base = f"/w/{demo.workspace_id}"
    for path in (
        base,
        f"{base}/campaigns",
        f"{base}/campaigns?level=ad&parent_id={adset}",
        f"{base}/settings",
        f"{base}/ask?q={HOSTILE}",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert HOSTILE not in response.text, path
        assert "&lt;script&gt;" in response.text, path
        assert_no_inline_script(response.text)


async def test_foreign_workspace_is_a_404_page(client, db) -> None:
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


async def test_campaigns_table_drills_down_and_exports(client, db, demo) -> None:
    await web_login(client, demo.email, demo.password)
    base = f"/w/{demo.workspace_id}/campaigns"
    top = await client.get(f"{base}?timeframe=last_30_days")
    assert top.status_code == 200
    assert 'aria-sort="descending"' in top.text
    campaign_id = int(re.search(r"level=adset&amp;parent_id=(\d+)", top.text).group(1))
    assert (
        f"/api/workspaces/{demo.workspace_id}/export.csv?timeframe=last_30_days&amp;level=campaign"
    ) in top.text
    adsets_html = (
        await client.get(f"{base}?timeframe=last_30_days&level=adset&parent_id={campaign_id}")
    ).text
    adset_id = int(re.search(r"level=ad&amp;parent_id=(\d+)", adsets_html).group(1))
    async with db.transaction() as session:
        campaign_name = (await session.get(Entity, campaign_id)).name
        adset_name = (await session.get(Entity, adset_id)).name
    crumbs = _crumbs(adsets_html)
    # The breadcrumb names the campaign (from the service), never "Campaign #id".
    assert escape(campaign_name) in crumbs and f"#{campaign_id}" not in crumbs
    assert escape(adset_name) in adsets_html
    ads = await client.get(f"{base}?timeframe=last_30_days&level=ad&parent_id={adset_id}")
    assert ads.status_code == 200 and "<h1>Ads</h1>" in ads.text
    crumbs = _crumbs(ads.text)
    # Back to the campaign's ad sets, by name, then the ad set itself.
    assert f'level=adset&amp;parent_id={campaign_id}">{escape(campaign_name)}</a>' in crumbs
    assert f'<span aria-current="page">{escape(adset_name)}</span>' in crumbs
    foreign = await client.get(f"{base}?level=ad&parent_id=999999")
    assert "Parent entity not found" in foreign.text


async def test_leaf_campaigns_are_not_drill_down_links(client, db, demo) -> None:
    """Performance Max campaigns have no ad sets: a link would lead to an empty table."""
    async with db.transaction() as session:
        pmax = (
            await session.scalars(
                select(Entity).where(
                    Entity.workspace_id == demo.workspace_id,
                    Entity.level == "campaign",
                    Entity.name.like("Performance Max%"),
                )
            )
        ).all()
    assert pmax
    await web_login(client, demo.email, demo.password)
    html = (await client.get(f"/w/{demo.workspace_id}/campaigns?timeframe=last_30_days")).text
    shown = [c for c in pmax if escape(c.name) in html]
    assert shown, "a Performance Max campaign has spend in the last 30 days"
    for campaign in shown:
        assert f'parent_id={campaign.id}"' not in html
    assert "level=adset&amp;parent_id=" in html  # classic campaigns still drill down


def _crumbs(html: str) -> str:
    start = html.index('aria-label="Breadcrumb"')
    return html[start : html.index("</nav>", start)]


async def test_entities_api_names_the_parent_for_breadcrumbs(client, db, demo) -> None:
    async with db.transaction() as session:
        adset = await session.scalar(
            select(Entity)
            .where(Entity.workspace_id == demo.workspace_id, Entity.level == "adset")
            .order_by(Entity.id)
            .limit(1)
        )
        campaign = await session.get(Entity, adset.parent_id)
    headers = await login_headers(client, demo.email, demo.password)
    response = await client.get(
        f"/api/workspaces/{demo.workspace_id}/entities",
        params={"level": "ad", "parent_id": adset.id},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["parent"] == {
        "id": adset.id,
        "name": adset.name,
        "level": "adset",
        "provider": adset.provider,
        "parent_id": campaign.id,
        "parent_name": campaign.name,
        "parent_level": "campaign",
    }


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


async def test_attribution_options_are_the_engines(client, db) -> None:
    """One source of allowed values: the engine's, which the API's schema also accepts."""
    tenant = await make_tenant(db)
    await web_login(client, tenant.email)
    html = (await client.get(f"/w/{tenant.workspace_id}/settings")).text

    def options(select_id: str) -> list[str]:
        start = html.index(f'id="{select_id}"')
        return re.findall(r'<option value="([^"]+)"', html[start : html.index("</select>", start)])

    windows = [int(v) for v in options("attr-window")]
    assert windows == list(attribution_engine.WINDOWS) == list(get_args(WindowDays))
    assert 90 in windows and '<option value="90">90 days</option>' in html
    assert options("attr-model") == list(attribution_engine.MODELS) == list(get_args(ModelName))


FIELD_RE = re.compile(r"<(input|select|textarea)\b([^>]*)>", flags=re.I)


def unlabelled_fields(html: str) -> list[str]:
    """Form fields with no accessible name: no (wrapping) label, aria-label(ledby)."""
    missing = []
    for match in FIELD_RE.finditer(html):
        attrs = match.group(2)
        if re.search(r'type="hidden"', attrs):
            continue
        if re.search(r"\saria-label(ledby)?=\"[^\"]+\"", attrs):
            continue
        before = html[: match.start()]
        if before.rfind("<label") > before.rfind("</label>"):
            continue  # wrapped in its label
        field_id = re.search(r'\sid="([^"]+)"', attrs)
        if field_id and re.search(rf'<label\b[^>]*\sfor="{re.escape(field_id[1])}"', html):
            continue
        missing.append(match.group(0))
    return missing


async def test_dashboard_and_settings_fields_are_labelled(client, db, demo) -> None:
    await web_login(client, demo.email, demo.password)
    base = f"/w/{demo.workspace_id}"
    for path in (base, f"{base}/settings", f"{base}/campaigns", f"{base}/ask"):
        html = (await client.get(path)).text
        assert FIELD_RE.search(html), path
        assert unlabelled_fields(html) == [], path
