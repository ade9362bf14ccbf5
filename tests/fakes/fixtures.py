"""Pytest fixtures that start the fake providers on loopback ports.

Use from any conftest with `from tests.fakes.fixtures import *  # noqa: F403`, or list
"tests.fakes.fixtures" in the root conftest's `pytest_plugins`.

    async def test_sync(fake_meta, fake_settings):
        meta = fake_meta(ads=1000, days=90, seed=1)      # started, meta.url is live
        settings = fake_settings(meta=meta)               # Settings pointing at it
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from metricx.config import Settings
from metricx.http import create_http_client
from tests.fakes._server import FakeBase

F = TypeVar("F", bound=FakeBase)


class RecordingSleep:
    """An injectable `sleep` for the connectors: records waits, passes no time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def settings_for(
    *,
    meta: FakeBase | None = None,
    google: FakeBase | None = None,
    tiktok: FakeBase | None = None,
    shopify: FakeBase | None = None,
    **overrides: Any,
) -> Settings:
    """Test Settings whose provider base URLs point at the given running fakes."""
    values: dict[str, Any] = {"env": "test", "http_timeout_seconds": 5.0}
    if meta is not None:
        values["meta_graph_url"] = meta.url + "/v25.0"
        values["meta_oauth_dialog_url"] = meta.url + "/v25.0/dialog/oauth"
    if google is not None:
        values["google_ads_url"] = google.url + "/v22"
        values["google_oauth_url"] = google.url + "/token"
        values["google_oauth_authorize_url"] = google.url + "/o/oauth2/v2/auth"
    if tiktok is not None:
        values["tiktok_url"] = tiktok.url + "/open_api/v1.3"
    if shopify is not None:
        values["shopify_base_url_override"] = shopify.url
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def fake_servers() -> Iterator[Callable[[F], F]]:
    """Start any fake; every fake started through this is stopped after the test."""
    started: list[FakeBase] = []

    def start(fake: F) -> F:
        fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in reversed(started):
        fake.stop()


@pytest.fixture
def fake_meta(fake_servers: Callable[[Any], Any]) -> Callable[..., Any]:
    """`fake_meta(ads=1000, days=90, seed=1, ...)` → a running FakeMeta."""
    from tests.fakes.meta import FakeMeta

    return lambda **kw: fake_servers(FakeMeta(**kw))


@pytest.fixture
def fake_google_ads(fake_servers: Callable[[Any], Any]) -> Callable[..., Any]:
    """`fake_google_ads(ads=..., days=..., pmax_campaigns=...)` → a running FakeGoogleAds."""
    from tests.fakes.google_ads import FakeGoogleAds

    return lambda **kw: fake_servers(FakeGoogleAds(**kw))


@pytest.fixture
def fake_tiktok(fake_servers: Callable[[Any], Any]) -> Callable[..., Any]:
    """`fake_tiktok(ads=..., days=...)` → a running FakeTikTok."""
    from tests.fakes.tiktok import FakeTikTok

    return lambda **kw: fake_servers(FakeTikTok(**kw))


@pytest.fixture
def fake_shopify(fake_servers: Callable[[Any], Any]) -> Callable[..., Any]:
    """`fake_shopify(orders=..., days=...)` → a running FakeShopify."""
    from tests.fakes.shopify import FakeShopify

    return lambda **kw: fake_servers(FakeShopify(**kw))


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    """Pass as `sleep=` to a connector (or build_connector) to assert its waits."""
    return RecordingSleep()


@pytest.fixture
def fake_settings() -> Callable[..., Settings]:
    """`fake_settings(meta=..., google=..., tiktok=..., shopify=...)` → Settings."""
    return settings_for


@pytest.fixture
async def provider_http() -> AsyncIterator[httpx.AsyncClient]:
    """The pooled client the app would use, with a short timeout for hang tests."""
    client = create_http_client(Settings(env="test", http_timeout_seconds=2.0))
    try:
        yield client
    finally:
        await client.aclose()
