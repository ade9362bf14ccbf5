"""OAuth connect: start → provider → callback → picker → connection, against the fakes."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
from sqlalchemy import select

from metricx.connections.oauth import issue_grant
from metricx.connections.oauth_providers import Account, verify_shopify_hmac
from metricx.connections.oauth_router import get_clock
from metricx.crypto import SecretBox
from metricx.db import Database
from metricx.models import Connection, Membership, SyncRun
from metricx.workspaces.service import create_workspace
from tests.factories import login_headers, make_tenant

JSON = {"Accept": "application/json"}
# Every secret the fakes hand out; none may ever appear in an API answer.
SECRETS = (
    "meta-token",
    "EAAshort",
    "meta-app-secret",
    "ya29.",
    "refresh-token",
    "client-secret",
    "dev-token",
    "shpat_fake",
    "shopify-app-secret",
)


class Flow:
    """A signed-in admin's browser on the app, remembering every answer it saw."""

    def __init__(self, app: Any, headers: dict[str, str], workspace_id: int) -> None:
        self.app = app
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        self.headers = headers
        self.ws = workspace_id
        self.seen: list[str] = []

    @property
    def base(self) -> str:
        return f"/api/workspaces/{self.ws}/connections/oauth"

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kwargs)
        self.seen.append(response.text + str(response.headers))
        return response

    async def start(self, provider: str, **body: Any) -> httpx.Response:
        return await self.request("POST", f"{self.base}/{provider}/start", json=body)

    async def consent(self, provider: str, **body: Any) -> str:
        """Start, let the fake provider approve; the callback path and query it sends back."""
        r = await self.start(provider, **body)
        assert r.status_code == 200, r.text
        async with httpx.AsyncClient() as browser:  # the provider is a real loopback server
            dialog = await browser.get(r.json()["authorize_url"])
        assert dialog.status_code == 302, dialog.text
        back = urlsplit(dialog.headers["location"])
        assert back.netloc == "testserver" and back.path == f"/api/oauth/{provider}/callback"
        return f"{back.path}?{back.query}"

    async def grant(self, provider: str, **body: Any) -> str:
        r = await self.request("GET", await self.consent(provider, **body), headers=JSON)
        assert r.status_code == 200, r.text
        assert r.json()["workspace_id"] == self.ws and r.json()["provider"] == provider
        return str(r.json()["grant"])

    async def accounts(self, grant: str) -> httpx.Response:
        return await self.request("GET", f"{self.base}/accounts", params={"grant": grant})

    async def connect(self, grant: str, *ids: str) -> httpx.Response:
        body = {"grant": grant, "account_ids": list(ids)}
        return await self.request("POST", f"{self.base}/accounts", json=body)

    def assert_no_secrets(self) -> None:
        for text in self.seen:
            for secret in SECRETS:
                assert secret not in text, secret


async def flow_for(db: Database, app_factory: Any, *fakes: Any, email: str = "owner@example.com"):
    tenant = await make_tenant(db, email)
    overrides: dict[str, Any] = {}
    for fake in fakes:
        overrides.update(fake.app_settings())
    app = await app_factory(**overrides)
    probe = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with probe:
        headers = await login_headers(probe, tenant.email)
    return Flow(app, headers, tenant.workspace_id), tenant


async def stored(db: Database, connection_id: int) -> tuple[Connection, dict[str, Any]]:
    async with db.transaction() as s:
        conn = await s.get(Connection, connection_id)
    creds = SecretBox.from_settings(db.settings).decrypt_json(conn.credentials_encrypted)
    return conn, creds  # type: ignore[return-value]


async def last_run(db: Database, connection_id: int) -> SyncRun:
    async with db.transaction() as s:
        query = select(SyncRun).where(SyncRun.connection_id == connection_id)
        return (await s.scalars(query.order_by(SyncRun.id.desc()))).first()


# --- full flows ---------------------------------------------------------------------


async def test_meta_flow_start_callback_picker_connect(db: Database, app_factory, fake_meta):
    meta = fake_meta(ads=5, days=3, other_accounts=2, currency="USD")
    flow, _ = await flow_for(db, app_factory, meta)
    async with flow.client:
        r = await flow.start("meta")
        url = urlsplit(r.json()["authorize_url"])
        q = parse_qs(url.query)
        assert url.path == "/v25.0/dialog/oauth" and q["client_id"] == ["meta-app-id"]
        assert q["redirect_uri"] == ["http://testserver/api/oauth/meta/callback"]
        assert q["scope"] == ["ads_read"] and q["state"][0].count(".") == 1

        # A browser (no JSON Accept) is sent to the settings page's picker.
        callback = await flow.consent("meta")
        r = await flow.request("GET", callback)
        assert r.status_code == 303, r.text
        target = urlsplit(r.headers["location"])
        assert target.path == f"/w/{flow.ws}/settings" and target.fragment == "connections"
        grant = parse_qs(target.query)["oauth"][0]
        assert meta.calls["oauth_token"] == 2  # the code, then the long-lived exchange

        # The provider honours a code once, so a replayed callback mints nothing.
        replay = await flow.request("GET", callback, headers=JSON)
        assert replay.status_code == 400 and "used" in replay.json()["detail"]

        r = await flow.accounts(grant)
        assert r.status_code == 200, r.text
        accounts = r.json()["accounts"]
        assert [a["id"] for a in accounts] == ["act_1234567890", "act_9000000001", "act_9000000002"]
        assert accounts[0] == {
            "id": "act_1234567890",
            "name": "Fake Meta Account",
            "currency": "USD",
            "timezone": "Europe/Berlin",
            "connected": False,
        }

        r = await flow.connect(grant, "1234567890")
        assert r.status_code == 201, r.text
        (out,) = r.json()
        assert out["provider"] == "meta" and out["external_account_id"] == "act_1234567890"
        assert out["name"] == "Fake Meta Account" and out["has_credentials"]
        await flow.app.state.jobs.join()  # the first sync was queued after commit

        conn, creds = await stored(db, out["id"])
        assert creds == {"access_token": "meta-token"}
        assert b"meta-token" not in conn.credentials_encrypted
        run = await last_run(db, out["id"])
        assert run.status == "succeeded" and run.rows_written > 0, run.error

        r = await flow.accounts(grant)
        assert [a["connected"] for a in r.json()["accounts"]] == [True, False, False]
        # Not visible to this Meta user: refused, nothing created.
        r = await flow.connect(grant, "act_5555")
        assert r.status_code == 422 and r.json()["fields"] == ["account_ids"]
        flow.assert_no_secrets()


async def test_google_flow_keeps_refresh_token(db: Database, app_factory, fake_google_ads):
    google = fake_google_ads(ads=5, days=3, pmax_campaigns=1, other_customers=("2223334445",))
    flow, _ = await flow_for(db, app_factory, google)
    async with flow.client:
        r = await flow.start("google")
        q = parse_qs(urlsplit(r.json()["authorize_url"]).query)
        assert q["access_type"] == ["offline"] and q["prompt"] == ["consent"]
        assert q["scope"] == ["https://www.googleapis.com/auth/adwords"]

        grant = await flow.grant("google")
        r = await flow.accounts(grant)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "provider": "google",
            "accounts": [
                {
                    "id": "1234567890",
                    "name": "Fake Google Customer",
                    "currency": "USD",
                    "timezone": "America/New_York",
                    "connected": False,
                },
                # Listed but not directly readable (as through a manager): the bare id.
                {
                    "id": "2223334445",
                    "name": None,
                    "currency": None,
                    "timezone": None,
                    "connected": False,
                },
            ],
        }
        r = await flow.connect(grant, "123-456-7890")
        assert r.status_code == 201, r.text
        (out,) = r.json()
        assert out["external_account_id"] == "1234567890"
        await flow.app.state.jobs.join()
        _, creds = await stored(db, out["id"])
        assert creds == {
            "refresh_token": "refresh-token",
            "client_id": "client-id",
            "client_secret": "client-secret",
            "developer_token": "dev-token",
        }
        run = await last_run(db, out["id"])
        assert run.status == "succeeded" and run.rows_written > 0, run.error

        # Without a refresh token syncs could not continue: refused with the remedy.
        google.omit_refresh_token = True
        r = await flow.request("GET", await flow.consent("google"), headers=JSON)
        assert r.status_code == 409 and "refresh token" in r.json()["detail"]
        flow.assert_no_secrets()


async def test_shopify_flow_verifies_hmac_and_shop(db: Database, app_factory, fake_shopify):
    shop = fake_shopify(orders=20, days=3)
    flow, _ = await flow_for(db, app_factory, shop)
    async with flow.client:
        r = await flow.start("shopify")
        assert r.status_code == 422 and r.json()["fields"] == ["shop_domain"]
        r = await flow.start("shopify", shop_domain="brand.example.com")
        assert r.status_code == 422 and r.json()["fields"] == ["shop_domain"]
        r = await flow.start("shopify", shop_domain="Fake-Shop.myshopify.com")
        url = urlsplit(r.json()["authorize_url"])
        q = parse_qs(url.query)
        assert url.path == "/admin/oauth/authorize" and q["client_id"] == ["shopify-app-key"]
        assert q["scope"] == ["read_orders,read_products"]

        callback = await flow.consent("shopify", shop_domain="fake-shop.myshopify.com")
        path, query = callback.split("?", 1)
        params = dict(parse_qsl(query))

        # A forged or altered redirect: the hmac no longer matches.
        forged = {**params, "hmac": "0" * 64}
        r = await flow.request("GET", f"{path}?{urlencode(forged)}", headers=JSON)
        assert r.status_code == 400 and r.json()["fields"] == ["hmac"]
        altered = {**params, "timestamp": "1"}
        r = await flow.request("GET", f"{path}?{urlencode(altered)}", headers=JSON)
        assert r.status_code == 400 and r.json()["fields"] == ["hmac"]
        # Validly signed, but for a shop other than the one being connected.
        other = {k: v for k, v in params.items() if k != "hmac"}
        other["shop"] = "evil.myshopify.com"
        other["hmac"] = shop.sign(other)
        r = await flow.request("GET", f"{path}?{urlencode(other)}", headers=JSON)
        assert r.status_code == 400 and r.json()["fields"] == ["shop"]

        r = await flow.request("GET", callback, headers=JSON)
        assert r.status_code == 200, r.text
        grant = r.json()["grant"]
        r = await flow.accounts(grant)
        assert r.json()["accounts"] == [
            {
                "id": "fake-shop.myshopify.com",
                "name": "Fake Shop",
                "currency": "USD",
                "timezone": "America/Los_Angeles",
                "connected": False,
            }
        ]
        r = await flow.connect(grant, "Fake-Shop.myshopify.com")
        assert r.status_code == 201, r.text
        (out,) = r.json()
        assert out["shop_domain"] == "fake-shop.myshopify.com"
        await flow.app.state.jobs.join()
        _, creds = await stored(db, out["id"])
        assert creds == {"access_token": "shpat_fake", "shop_domain": "fake-shop.myshopify.com"}
        run = await last_run(db, out["id"])
        assert run.status == "succeeded", run.error

        # A shop that grants less than the sync needs is refused, not half-connected.
        shop.granted_scope = "read_products"
        callback = await flow.consent("shopify", shop_domain="fake-shop.myshopify.com")
        r = await flow.request("GET", callback, headers=JSON)
        assert r.status_code == 409 and "read_orders" in r.json()["detail"]
        flow.assert_no_secrets()


def test_shopify_hmac_matches_the_documented_example() -> None:
    # The example from Shopify's OAuth guide (secret "hush").
    query = (
        "code=0907a61c0c8d55e99db179b68161bc00"
        "&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
        "&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
    )
    params = parse_qsl(query)
    assert verify_shopify_hmac(["hush"], params)
    assert verify_shopify_hmac(["new-secret", "hush"], params)  # during a rotation
    assert not verify_shopify_hmac(["other"], params)
    assert not verify_shopify_hmac(["hush"], [p for p in params if p[0] != "hmac"])


# --- the state ------------------------------------------------------------------------


async def test_state_tampered_expired_wrong_user_or_provider(
    db: Database, app_factory, fake_meta
) -> None:
    meta = fake_meta(ads=1, days=1)
    flow, tenant = await flow_for(db, app_factory, meta)
    async with db.transaction() as s:
        from metricx.auth.service import create_user

        other = await create_user(s, "admin2@example.com", "correct horse battery")
        s.add(Membership(workspace_id=tenant.workspace_id, user_id=other.id, role="admin"))
    async with flow.client:
        callback = await flow.consent("meta")
        path, query = callback.split("?", 1)
        params = dict(parse_qsl(query))
        body, signature = params["state"].split(".")

        async def call(state: str, url: str = path, **headers: str) -> httpx.Response:
            q = urlencode({**params, "state": state})
            return await flow.request("GET", f"{url}?{q}", headers={**JSON, **headers})

        for bad in (
            f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}",
            f"{body}.{signature[:-3]}xyz",
            body,
            "",
            "not.base64!.at.all",
        ):
            r = await call(bad)
            assert r.status_code == 400 and r.json()["fields"] == ["state"], (bad, r.text)
        # Signed for Meta: not accepted by another provider's callback.
        r = await call(params["state"], "/api/oauth/google/callback")
        assert r.status_code == 400 and r.json()["fields"] == ["state"]
        # Another member of the same workspace cannot finish the owner's flow.
        other_headers = await login_headers(flow.client, "admin2@example.com")
        r = await call(params["state"], **other_headers)
        assert r.status_code == 403
        # Signed out: 401.
        transport = httpx.ASGITransport(app=flow.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
            assert (await anon.get(callback, headers=JSON)).status_code == 401
        # Ten minutes later the state has expired.
        flow.app.dependency_overrides[get_clock] = lambda: lambda: time.time() + 601
        r = await call(params["state"])
        assert r.status_code == 400 and "expired" in r.json()["detail"]
        flow.app.dependency_overrides.clear()
        assert meta.calls["oauth_token"] == 0  # nothing reached the token endpoint
        # The provider's refusal is reported, not turned into a 500.
        r = await flow.request(
            "GET",
            f"{path}?{urlencode({'state': params['state'], 'error': 'access_denied'})}",
            headers=JSON,
        )
        assert r.status_code == 400 and "access_denied" in r.json()["detail"]
        # A browser that cancelled goes back to the settings page, which says so.
        denied = urlencode({"state": params["state"], "error": "access_denied"})
        r = await flow.request("GET", f"{path}?{denied}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/w/{flow.ws}/settings?oauth_error=denied#connections"
        r = await call(params["state"])
        assert r.status_code == 200, r.text


# --- the grant ------------------------------------------------------------------------


async def test_grant_is_bound_to_user_workspace_and_time(db: Database, app_factory, fake_meta):
    meta = fake_meta(ads=1, days=1)
    flow, tenant = await flow_for(db, app_factory, meta)
    outsider = await make_tenant(db, "outsider@example.com")
    async with db.transaction() as s:
        from metricx.auth.service import create_user
        from metricx.models import User

        owner = await s.get(User, tenant.user_id)
        second = await create_workspace(s, owner, name="Second brand")
        admin = await create_user(s, "admin2@example.com", "correct horse battery")
        s.add(Membership(workspace_id=tenant.workspace_id, user_id=admin.id, role="admin"))
    async with flow.client:
        grant = await flow.grant("meta")
        assert (await flow.accounts(grant)).status_code == 200

        def url(ws: int) -> str:
            return f"/api/workspaces/{ws}/connections/oauth/accounts"

        # The same user in another of their workspaces: 404.
        r = await flow.request("GET", url(second.id), params={"grant": grant})
        assert r.status_code == 404
        r = await flow.request("POST", url(second.id), json={"grant": grant, "account_ids": ["1"]})
        assert r.status_code == 404
        # Another admin of the same workspace: 404.
        admin_headers = await login_headers(flow.client, "admin2@example.com")
        r = await flow.request("GET", url(flow.ws), params={"grant": grant}, headers=admin_headers)
        assert r.status_code == 404
        # An outsider, on the target workspace or their own: 404.
        outsider_headers = await login_headers(flow.client, outsider.email)
        for ws in (flow.ws, outsider.workspace_id):
            r = await flow.request(
                "GET", url(ws), params={"grant": grant}, headers=outsider_headers
            )
            assert r.status_code == 404
        # Garbage, or a grant shape minted for someone else, is the same 404.
        for bad in ("x", grant[:-4], grant[::-1]):
            assert (await flow.accounts(bad)).status_code == 404
        foreign = issue_grant(
            flow.app.state.settings,
            workspace_id=outsider.workspace_id,
            user_id=outsider.user_id,
            provider="shopify",
            tokens={"access_token": "t"},
            accounts=[Account(id="a.myshopify.com")],
        )
        assert (await flow.accounts(foreign)).status_code == 404
        # Fifteen minutes later the grant has expired.
        flow.app.dependency_overrides[get_clock] = lambda: lambda: time.time() + 901
        r = await flow.accounts(grant)
        assert r.status_code == 404 and "expired" in r.json()["detail"]
        flow.app.dependency_overrides.clear()
        async with db.transaction() as s:
            assert (await s.scalars(select(Connection))).all() == []


async def test_missing_app_credentials_and_roles(db: Database, app_factory) -> None:
    tenant = await make_tenant(db)
    app = await app_factory(google_client_id="id-only")
    flow = Flow(app, {}, tenant.workspace_id)
    async with flow.client:
        flow.headers = await login_headers(flow.client, tenant.email)
        expected = {
            "meta": "METRICX_META_APP_ID, METRICX_META_APP_SECRET",
            "google": "METRICX_GOOGLE_CLIENT_SECRET, METRICX_GOOGLE_DEVELOPER_TOKEN",
            "shopify": "METRICX_SHOPIFY_APP_KEY, METRICX_SHOPIFY_APP_SECRET",
        }
        for provider, names in expected.items():
            r = await flow.start(provider, shop_domain="brand.myshopify.com")
            assert r.status_code == 409, r.text
            assert r.json()["error"] == "conflict" and names in r.json()["detail"]
        r = await flow.start("tiktok")
        assert r.status_code == 422
        async with db.transaction() as s:
            from metricx.auth.service import create_user

            viewer = await create_user(s, "viewer@example.com", "correct horse battery")
            s.add(Membership(workspace_id=tenant.workspace_id, user_id=viewer.id, role="viewer"))
        flow.headers = await login_headers(flow.client, "viewer@example.com")
        r = await flow.start("meta")
        assert r.status_code == 403
