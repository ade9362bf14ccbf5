"""The one pooled HTTP client every provider call goes through."""

from __future__ import annotations

import httpx

from metricx.config import Settings


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    """A shared AsyncClient with bounded timeouts and a connection pool."""
    timeout = httpx.Timeout(settings.http_timeout_seconds, connect=5.0)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": "metricx/0.1"},
        follow_redirects=False,
    )
