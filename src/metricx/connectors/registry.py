"""Build the connector for a connection from its provider, external id and credentials.

Credential keys (the decrypted credentials dict of a connection):
- meta:    access_token
- google:  refresh_token, client_id, client_secret, developer_token; optional
           login_customer_id, access_token, access_token_expires_at (epoch seconds)
- tiktok:  access_token
- shopify: access_token; the external id is the shop domain (xxx.myshopify.com)
The external id is the ad account id (with or without "act_"), the Google customer id
(dashes allowed), the TikTok advertiser id or the shop domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from metricx.config import Settings
from metricx.connectors._http import RetryPolicy, Sleep
from metricx.connectors.base import AdConnector, AuthExpired, ConnectorError, ShopConnector
from metricx.connectors.google_ads import GoogleAdsConnector
from metricx.connectors.meta import MetaConnector
from metricx.connectors.shopify import ShopifyConnector
from metricx.connectors.tiktok import TikTokConnector

AD_PROVIDERS = ("meta", "google", "tiktok")
SHOP_PROVIDERS = ("shopify",)


def _need(credentials: Mapping[str, Any], key: str, provider: str) -> str:
    value = credentials.get(key)
    if not value:
        raise AuthExpired(f"{provider}: credentials lack {key}")
    return str(value)


def build_connector(
    provider: str,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    external_id: str,
    credentials: Mapping[str, Any],
    sleep: Sleep | None = None,
    policy: RetryPolicy | None = None,
) -> AdConnector | ShopConnector:
    """The connector for one connection; missing credentials mean re-authorisation."""
    common: dict[str, Any] = {"sleep": sleep, "policy": policy}
    if provider == "meta":
        token = _need(credentials, "access_token", provider)
        return MetaConnector(http, settings, token, external_id, **common)
    if provider == "google":
        return GoogleAdsConnector(
            http,
            settings,
            customer_id=external_id,
            developer_token=_need(credentials, "developer_token", provider),
            refresh_token=credentials.get("refresh_token"),
            client_id=credentials.get("client_id"),
            client_secret=credentials.get("client_secret"),
            access_token=credentials.get("access_token"),
            access_token_expires_at=credentials.get("access_token_expires_at"),
            login_customer_id=credentials.get("login_customer_id"),
            **common,
        )
    if provider == "tiktok":
        token = _need(credentials, "access_token", provider)
        return TikTokConnector(http, settings, token, external_id, **common)
    if provider == "shopify":
        token = _need(credentials, "access_token", provider)
        return ShopifyConnector(http, settings, external_id, token, **common)
    raise ConnectorError(f"no connector for provider {provider!r}")
