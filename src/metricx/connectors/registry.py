"""Which connector class serves which provider, imported lazily by name.

The provider clients live in their own modules (written against connectors.base); the
sync only knows them through this table, so a missing or broken client fails one
connection's sync with a clear error instead of breaking imports everywhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx

from metricx.config import Settings
from metricx.connectors.base import ConnectorError
from metricx.models import Connection

# provider -> "module:Class"; constructor kwargs: http, settings, credentials, account_id
# (the connection's external account id) and, for Shopify, shop_domain.
CONNECTOR_CLASSES: dict[str, str] = {
    "meta": "metricx.connectors.meta:MetaConnector",
    "google": "metricx.connectors.google_ads:GoogleAdsConnector",
    "tiktok": "metricx.connectors.tiktok:TikTokConnector",
    "shopify": "metricx.connectors.shopify:ShopifyConnector",
}

ConnectorFactory = Callable[..., Any]
"""factory(http=, settings=, connection=, credentials=) -> AdConnector | ShopConnector."""


class ConnectorUnavailable(ConnectorError):
    """No client is installed for this provider (or it failed to import)."""


def _load(path: str) -> type:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ConnectorUnavailable(
            f"The {path} client is not available in this build ({type(exc).__name__}: {exc})."
        ) from exc


def build_connector(
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    connection: Connection,
    credentials: dict[str, Any],
) -> Any:
    """Instantiate the provider's connector for one connection."""
    path = CONNECTOR_CLASSES.get(connection.provider)
    if path is None:
        raise ConnectorUnavailable(f"Provider {connection.provider!r} has no API client.")
    cls = _load(path)
    kwargs: dict[str, Any] = {
        "http": http,
        "settings": settings,
        "credentials": credentials,
        "account_id": connection.external_account_id,
    }
    if connection.provider == "shopify":
        kwargs["shop_domain"] = connection.shop_domain or credentials.get("shop_domain")
    return cls(**kwargs)
