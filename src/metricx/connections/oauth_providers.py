"""Provider OAuth wire calls: authorize URLs, code exchange, account lists, Shopify's hmac."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from metricx.config import Settings
from metricx.connectors._http import RetryPolicy
from metricx.connectors.base import ConnectorError
from metricx.connectors.google_ads import GoogleAdsConnector
from metricx.connectors.shopify import ShopifyConnector
from metricx.errors import BadRequest, Conflict, ServiceUnavailable

GOOGLE_SCOPE = "https://www.googleapis.com/auth/adwords"
LABELS = {"meta": "Meta", "google": "Google", "shopify": "Shopify"}
MAX_META_PAGES = 20
# Each Google name is one searchStream call; past this the picker shows bare ids.
MAX_GOOGLE_NAMES = 25
# Someone is waiting on the picker: retry briefly instead of like a background sync.
INTERACTIVE = RetryPolicy(
    max_transient_attempts=2,
    base_delay=0.2,
    max_delay=1.0,
    max_rate_limit_wait=5.0,
    max_single_wait=5.0,
    default_rate_limit_wait=5.0,
)


@dataclass(frozen=True)
class OAuthApp:
    """The operator's app registration at one provider."""

    client_id: str
    client_secret: str
    developer_token: str = ""


@dataclass(frozen=True)
class Account:
    """An account a provider token can see."""

    id: str
    name: str | None = None
    currency: str | None = None
    timezone: str | None = None


def _plain(value: SecretStr | str | None) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value().strip()
    return (value or "").strip()


def shopify_secrets(settings: Settings) -> list[str]:
    """The Shopify app secret, then older ones (the setting lists them after a rotation)."""
    return [s.strip() for s in _plain(settings.shopify_app_secret).split(",") if s.strip()]


def app_for(settings: Settings, provider: str) -> OAuthApp:
    """The configured app for a provider, or 409 naming the settings to set."""
    if provider == "meta":
        found = {
            "METRICX_META_APP_ID": _plain(settings.meta_app_id),
            "METRICX_META_APP_SECRET": _plain(settings.meta_app_secret),
        }
    elif provider == "google":
        found = {
            "METRICX_GOOGLE_CLIENT_ID": _plain(settings.google_client_id),
            "METRICX_GOOGLE_CLIENT_SECRET": _plain(settings.google_client_secret),
            "METRICX_GOOGLE_DEVELOPER_TOKEN": _plain(settings.google_developer_token),
        }
    else:
        found = {
            "METRICX_SHOPIFY_APP_KEY": _plain(settings.shopify_app_key),
            "METRICX_SHOPIFY_APP_SECRET": next(iter(shopify_secrets(settings)), ""),
        }
    missing = [name for name, value in found.items() if not value]
    if missing:
        raise Conflict(
            f"Connecting {LABELS[provider]} is not configured on this server: "
            f"the operator must set {', '.join(missing)}."
        )
    return OAuthApp(*found.values())


def shop_base(settings: Settings, shop: str) -> str:
    """The shop's admin origin (a fake's in tests)."""
    return (settings.shopify_base_url_override or f"https://{shop}").rstrip("/")


def authorize_url(
    settings: Settings,
    provider: str,
    app: OAuthApp,
    state: str,
    redirect_uri: str,
    shop: str | None,
) -> str:
    """Where the browser goes to grant access."""
    if provider == "meta":
        base = settings.meta_oauth_dialog_url
        params = {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": settings.meta_oauth_scopes,
            "response_type": "code",
        }
    elif provider == "google":
        base = settings.google_oauth_authorize_url
        # offline + consent: Google only returns a refresh token on a consented offline grant.
        params = {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": GOOGLE_SCOPE,
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
        }
    else:
        assert shop is not None
        base = f"{shop_base(settings, shop)}/admin/oauth/authorize"
        # No grant_options[]=per-user: an offline token keeps syncing when the user leaves.
        params = {
            "client_id": app.client_id,
            "scope": settings.shopify_oauth_scopes,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    return f"{base}?{urlencode(params)}"


def verify_shopify_hmac(secrets: Sequence[str], params: Sequence[tuple[str, str]]) -> bool:
    """Shopify's redirect signature: hex HMAC-SHA256 of the sorted other query pairs."""
    given = [v for k, v in params if k == "hmac"]
    if len(given) != 1 or not secrets:
        return False
    message = "&".join(
        f"{k}={v}" for k, v in sorted((k, v) for k, v in params if k not in ("hmac", "signature"))
    )
    expected = given[0].strip().lower().encode()
    return any(
        hmac.compare_digest(
            hmac.new(s.encode(), message.encode(), hashlib.sha256).hexdigest().encode(), expected
        )
        for s in secrets
    )


async def _call(
    http: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"Could not reach {LABELS[provider]}; try again.") from exc
    if response.status_code >= 500:
        raise ServiceUnavailable(
            f"{LABELS[provider]} answered HTTP {response.status_code}; try again shortly."
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


def _refused(provider: str, body: Any) -> BadRequest:
    message = ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # Meta and Google Ads
            message = str(error.get("message") or "")
        else:  # OAuth 2 token endpoints
            message = str(body.get("error_description") or error or "")
    detail = f"{LABELS[provider]} refused the authorization"
    return BadRequest(f"{detail}: {message[:200]}. Connect again." if message else detail + ".")


async def exchange(
    http: httpx.AsyncClient,
    settings: Settings,
    provider: str,
    app: OAuthApp,
    code: str,
    redirect_uri: str,
    shop: str | None,
) -> dict[str, str]:
    """Trade the code for the provider's tokens (what the grant keeps)."""
    if provider == "meta":
        url = f"{settings.meta_graph_url.rstrip('/')}/oauth/access_token"
        base = {"client_id": app.client_id, "client_secret": app.client_secret}
        status, body = await _call(
            http, provider, "GET", url, params={**base, "redirect_uri": redirect_uri, "code": code}
        )
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise _refused(provider, body)
        # The code gives a short-lived token (hours); syncs need the ~60-day one.
        params = {
            **base,
            "grant_type": "fb_exchange_token",
            "fb_exchange_token": body["access_token"],
        }
        status, body = await _call(http, provider, "GET", url, params=params)
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise _refused(provider, body)
        return {"access_token": str(body["access_token"])}
    if provider == "google":
        form = {
            "code": code,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": redirect_uri,
            "grant_type": "authorization_code",
        }
        status, body = await _call(http, provider, "POST", settings.google_oauth_url, data=form)
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise _refused(provider, body)
        if not body.get("refresh_token"):
            raise Conflict(
                "Google did not return a refresh token, so syncs could not keep running: remove "
                "this app's access in your Google account's security settings and connect again."
            )
        expires_in = float(body.get("expires_in") or 3600)
        return {
            "access_token": str(body["access_token"]),
            "access_token_expires_at": str(int(time.time() + expires_in - 60)),
            "refresh_token": str(body["refresh_token"]),
        }
    assert shop is not None
    url = f"{shop_base(settings, shop)}/admin/oauth/access_token"
    payload = {"client_id": app.client_id, "client_secret": app.client_secret, "code": code}
    status, body = await _call(http, provider, "POST", url, json=payload)
    if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
        raise _refused(provider, body)
    _check_shopify_scopes(settings.shopify_oauth_scopes, str(body.get("scope") or ""))
    return {"access_token": str(body["access_token"])}


def _check_shopify_scopes(requested: str, granted: str) -> None:
    # A merchant or app setup can grant less than asked; a write scope implies its read.
    have = {s.strip() for s in granted.split(",") if s.strip()}
    have |= {"read_" + s.removeprefix("write_") for s in have if s.startswith("write_")}
    missing = [s for s in (x.strip() for x in requested.split(",")) if s and s not in have]
    if missing:
        raise Conflict(f"Shopify granted fewer permissions than needed: {', '.join(missing)}.")


def connection_credentials(
    settings: Settings, provider: str, secrets: dict[str, str]
) -> dict[str, str]:
    """The credentials a connection keeps (what token-based connect would be given)."""
    if provider == "google":
        # Google's refresh needs the app's client too; the others' tokens stand alone.
        app = app_for(settings, provider)
        return {
            "refresh_token": secrets["refresh_token"],
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "developer_token": app.developer_token,
        }
    return {"access_token": secrets["access_token"]}


async def accounts(
    http: httpx.AsyncClient,
    settings: Settings,
    provider: str,
    app: OAuthApp,
    secrets: dict[str, str],
) -> list[Account]:
    """The ad accounts a Meta or Google token can see."""
    if provider == "meta":
        return await _meta_accounts(http, settings, secrets["access_token"])
    return await _google_accounts(http, settings, app, secrets)


async def _meta_accounts(http: httpx.AsyncClient, settings: Settings, token: str) -> list[Account]:
    url = f"{settings.meta_graph_url.rstrip('/')}/me/adaccounts"
    params = {"fields": "account_id,name,currency,timezone_name", "limit": "100"}
    found: list[Account] = []
    for _ in range(MAX_META_PAGES):
        status, body = await _call(
            http, "meta", "GET", url, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        if status != 200 or not isinstance(body, dict):
            raise _refused("meta", body)
        for row in body.get("data") or []:
            account_id = str(row.get("account_id") or "").removeprefix("act_")
            if account_id:
                found.append(
                    Account(
                        id=f"act_{account_id}",
                        name=row.get("name"),
                        currency=row.get("currency"),
                        timezone=row.get("timezone_name"),
                    )
                )
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        # Follow the cursor on our own base URL rather than `next`, which names Meta's host.
        if not paging.get("next") or not after:
            break
        params = {**params, "after": str(after)}
    return found


async def _google_accounts(
    http: httpx.AsyncClient, settings: Settings, app: OAuthApp, secrets: dict[str, str]
) -> list[Account]:
    url = f"{settings.google_ads_url.rstrip('/')}/customers:listAccessibleCustomers"
    headers = {
        "Authorization": f"Bearer {secrets['access_token']}",
        "developer-token": app.developer_token,
    }
    status, body = await _call(http, "google", "GET", url, headers=headers)
    if status != 200 or not isinstance(body, dict):
        raise _refused("google", body)
    ids = [str(n).rsplit("/", 1)[-1] for n in body.get("resourceNames") or []]
    gate = asyncio.Semaphore(4)

    async def describe(customer_id: str) -> Account:
        connector = GoogleAdsConnector(
            http,
            settings,
            customer_id=customer_id,
            developer_token=app.developer_token,
            refresh_token=secrets["refresh_token"],
            client_id=app.client_id,
            client_secret=app.client_secret,
            access_token=secrets["access_token"],
            access_token_expires_at=float(secrets.get("access_token_expires_at") or 0),
            policy=INTERACTIVE,
        )
        async with gate:
            try:
                info = await connector.account()
            except (ConnectorError, httpx.HTTPError):
                # Manager-only or restricted customers cannot be read directly: list the id.
                return Account(id=customer_id)
        return Account(
            id=customer_id, name=info.name, currency=info.currency, timezone=info.timezone
        )

    named = await asyncio.gather(*(describe(c) for c in ids[:MAX_GOOGLE_NAMES]))
    return [*named, *(Account(id=c) for c in ids[MAX_GOOGLE_NAMES:])]


async def shop_account(
    http: httpx.AsyncClient, settings: Settings, shop: str, token: str
) -> Account:
    """The one shop a Shopify token is for, with its name and currency when readable."""
    connector = ShopifyConnector(http, settings, shop, token, policy=INTERACTIVE)
    try:
        info = await connector.account()
    except (ConnectorError, httpx.HTTPError):
        return Account(id=shop)
    return Account(id=shop, name=info.name, currency=info.currency, timezone=info.timezone)
