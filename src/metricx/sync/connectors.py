"""The bridge from a connection row to its provider client.

The provider clients and their `build_connector(provider, *, http, settings, external_id,
credentials)` live in metricx.connectors.registry (the connectors package); it is imported
lazily so a build without them fails one connection's sync with a clear error instead of
breaking imports everywhere. Tests pass their own factory through JobContext instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx

from metricx.config import Settings
from metricx.connectors.base import ConnectorError
from metricx.models import Connection

REGISTRY_MODULE = "metricx.connectors.registry"

ConnectorFactory = Callable[..., Any]
"""factory(http=, settings=, connection=, credentials=) -> AdConnector | ShopConnector."""


class ConnectorUnavailable(ConnectorError):
    """No client is installed for this provider (or it failed to import)."""


def external_id_for(connection: Connection) -> str:
    """What the client calls the account: the shop domain for Shopify, else the account id."""
    if connection.provider == "shopify" and connection.shop_domain:
        return connection.shop_domain
    return connection.external_account_id


def build_for_connection(
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    connection: Connection,
    credentials: dict[str, Any],
) -> Any:
    """The provider client for one connection, from the connectors registry."""
    try:
        registry = importlib.import_module(REGISTRY_MODULE)
        build = registry.build_connector
    except (ImportError, AttributeError) as exc:
        raise ConnectorUnavailable(
            f"No provider clients in this build ({REGISTRY_MODULE}.build_connector: "
            f"{type(exc).__name__}: {exc})."
        ) from exc
    return build(
        connection.provider,
        http=http,
        settings=settings,
        external_id=external_id_for(connection),
        credentials=credentials,
    )
