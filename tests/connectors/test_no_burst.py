"""With real time, retries after a rate limit are spaced as the provider asked: no burst."""

from __future__ import annotations

import itertools
from datetime import date

from metricx.connectors._http import RetryPolicy
from metricx.connectors.google_ads import GoogleAdsConnector
from metricx.connectors.meta import MetaConnector
from metricx.connectors.shopify import ShopifyConnector
from metricx.connectors.tiktok import TikTokConnector

END = date(2026, 3, 31)


def gaps(fake, kind: str) -> list[float]:
    times = [t for t, k in fake.call_log if k == kind]
    return [b - a for a, b in itertools.pairwise(times)]


async def test_google_retry_delay_spaces_calls(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=3, days=2, end=END)
    fake.retry_delay = "0.3s"
    fake.rate_limit_next(2, only={"search:customer"})
    conn = GoogleAdsConnector(
        provider_http,
        fake_settings(google=fake),
        customer_id="1234567890",
        developer_token="dev-token",
        refresh_token="refresh-token",
        client_id="client-id",
        client_secret="client-secret",
    )
    await conn.account()
    spacing = gaps(fake, "search:customer")
    assert len(spacing) == 2 and min(spacing) >= 0.29


async def test_meta_rate_limit_spaces_calls(fake_meta, fake_settings, provider_http):
    fake = fake_meta(ads=3, days=2, end=END)
    fake.regain_minutes = 0  # no estimate in the header: the bounded default wait applies
    fake.rate_limit_next(2, only={"account"})
    conn = MetaConnector(
        provider_http,
        fake_settings(meta=fake),
        "meta-token",
        "1234567890",
        policy=RetryPolicy(default_rate_limit_wait=0.25),
    )
    await conn.account()
    spacing = gaps(fake, "account")
    assert len(spacing) == 2 and min(spacing) >= 0.24


async def test_tiktok_backoff_spaces_calls(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=3, days=2, end=END)
    fake.rate_limit_next(2)
    conn = TikTokConnector(
        provider_http,
        fake_settings(tiktok=fake),
        "tiktok-token",
        "7000000000001",
        rate_limit_base_wait=0.1,
    )
    await conn.account()
    spacing = gaps(fake, "advertiser")
    assert len(spacing) == 2 and spacing[0] >= 0.09 and spacing[1] >= 0.19


async def test_shopify_throttle_spaces_calls(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=3, days=2, end=END)
    # THROTTLED with an empty bucket refilling at 5 points/s: the 1-point shop query must
    # wait (1 - 0) / 5 = 0.2 s before each retry.
    fake.available = 0.0
    fake.restore_rate = 5.0
    fake.throttled = 2
    conn = ShopifyConnector(
        provider_http, fake_settings(shopify=fake), "fake-shop.myshopify.com", "shpat_fake"
    )
    info = await conn.account()
    assert info.currency == "USD"
    spacing = gaps(fake, "shop")
    assert len(spacing) == 2 and min(spacing) >= 0.19, spacing
