"""build_connector wires each provider's credentials; the result speaks the protocol."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from metricx.connectors.base import AuthExpired, ConnectorError
from metricx.connectors.registry import build_connector
from tests.connectors.conftest import Recorder

END = date(2026, 3, 31)


async def test_each_provider_end_to_end(
    fake_meta, fake_google_ads, fake_tiktok, fake_shopify, fake_settings, provider_http
):
    meta, google = fake_meta(ads=10, days=3, end=END), fake_google_ads(ads=10, days=3, end=END)
    tiktok, shop = fake_tiktok(ads=10, days=3, end=END), fake_shopify(orders=20, days=3, end=END)
    settings = fake_settings(meta=meta, google=google, tiktok=tiktok, shopify=shop)
    cases = {
        "meta": ("act_1234567890", {"access_token": "meta-token"}, meta),
        "google": (
            "123-456-7890",
            {
                "developer_token": "dev-token",
                "refresh_token": "refresh-token",
                "client_id": "client-id",
                "client_secret": "client-secret",
            },
            google,
        ),
        "tiktok": ("7000000000001", {"access_token": "tiktok-token"}, tiktok),
    }
    start = END - timedelta(days=2)
    for provider, (external_id, creds, fake) in cases.items():
        conn = build_connector(
            provider,
            http=provider_http,
            settings=settings,
            external_id=external_id,
            credentials=creds,
            sleep=Recorder(),
        )
        assert conn.provider == provider
        assert (await conn.account()).currency
        leaves = {r.external_id for r in await conn.entities()}
        rows = [r async for batch in conn.facts(start, END) for r in batch]
        assert {r.external_id for r in rows} <= leaves
        assert sum(r.spend_micros for r in rows) == fake.expected(start, END)["spend_micros"]
    shopify = build_connector(
        "shopify",
        http=provider_http,
        settings=settings,
        external_id="fake-shop.myshopify.com",
        credentials={"access_token": "shpat_fake"},
    )
    orders = [o async for batch in shopify.orders(start, END) for o in batch]
    assert len(orders) == shop.expected(start, END)["orders"] == 20


def test_missing_credentials(fake_settings):
    settings = fake_settings()
    with pytest.raises(AuthExpired):
        build_connector("meta", http=None, settings=settings, external_id="1", credentials={})
    with pytest.raises(ConnectorError):
        build_connector("snap", http=None, settings=settings, external_id="1", credentials={})
