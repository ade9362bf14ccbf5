"""ShopifyConnector against the loopback FakeShopify."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metricx.connectors.base import AuthExpired, TransientProviderError
from metricx.connectors.shopify import ShopifyConnector
from tests.connectors.conftest import Recorder

END = date(2026, 3, 31)


def connector(fake, settings_for, http, sleep=None, **kw) -> ShopifyConnector:
    kw.setdefault("clock", lambda: 0.0)  # frozen: waits are exact
    return ShopifyConnector(
        http,
        settings_for(shopify=fake),
        "fake-shop.myshopify.com",
        "shpat_fake",
        sleep=sleep or Recorder(),
        **kw,
    )


async def collect(conn, start, end):
    rows = []
    async for batch in conn.orders(start, end):
        rows.extend(batch)
    return rows


def sums(rows) -> dict[str, int]:
    return {
        "orders": len(rows),
        "total_micros": sum(r.total_micros for r in rows),
        "refunded_micros": sum(r.refunded_micros for r in rows),
        "cogs_micros": sum(li.cogs_micros for r in rows for li in r.lines),
        "lines": sum(len(r.lines) for r in rows),
    }


async def test_account(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=5, days=2, end=END)
    info = await connector(fake, fake_settings, provider_http).account()
    assert (info.external_id, info.currency, info.timezone) == (
        "fake-shop.myshopify.com",
        "USD",
        "America/Los_Angeles",
    )


async def test_paged_orders_exact(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=120, days=10, end=END)
    start = END - timedelta(days=9)
    rows = await collect(connector(fake, fake_settings, provider_http), start, END)
    assert sums(rows) == fake.expected(start, END) and len(rows) == 120
    assert len({r.external_id for r in rows}) == 120
    assert fake.calls["orders"] == 12  # pages of 10 orders
    assert fake.calls["order_lines"] == len([k for k in range(120) if k % 17 == 0])
    assert fake.calls["bulk_run"] == 0
    by_day = [r for r in rows if start <= r.order_date <= END]
    expected = fake.expected_by_order_date(start, END)
    assert (len(by_day), sum(r.total_micros for r in by_day)) == (
        expected["orders"],
        expected["total_micros"],
    )


async def test_order_fields_utms_and_lines(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=40, days=4, end=END)
    start = END - timedelta(days=3)
    rows = {
        r.external_id: r
        for r in await collect(connector(fake, fake_settings, provider_http), start, END)
    }
    tz = ZoneInfo("America/Los_Angeles")
    meta = rows["5000004"]  # k % 4 == 0: journey with utmParameters and fbclid in the URL
    assert (meta.utm_source, meta.utm_medium, meta.utm_campaign, meta.utm_content) == (
        "facebook",
        "paid",
        "spring",
        "ad4",
    )
    assert meta.fbclid == "FB4" and meta.visitor_id == "vid-4"
    assert meta.referring_site == "https://facebook.com/"
    assert meta.customer_email_hash == hashlib.sha256(b"buyer4@example.com").hexdigest()
    assert meta.order_number == "#1005" and meta.financial_status == "paid"
    assert meta.order_date == meta.created_at.astimezone(tz).date()
    google = rows["5000005"]  # utms only in the landing page's query string
    assert (google.utm_source, google.utm_medium, google.utm_campaign, google.gclid) == (
        "google",
        "cpc",
        "brand",
        "G5",
    )
    assert google.visitor_id is None and google.landing_site.startswith("/products/x?")
    tiktok = rows["5000006"]
    assert tiktok.ttclid == "TT6" and tiktok.utm_source is None
    assert rows["5000002"].customer_email_hash is None
    big = rows["5000017"]  # 12 lines: the first 10 in the page, 2 fetched after
    assert len(big.lines) == 12
    a = fake.amounts(17)
    assert big.total_micros == a["total"] * 10_000
    assert big.subtotal_micros == a["subtotal"] * 10_000
    assert big.tax_micros == a["tax"] * 10_000 and big.shipping_micros == 4_990_000
    assert big.discounts_micros == a["discounts"] * 10_000
    assert sum(li.cogs_micros for li in big.lines) == a["cogs"] * 10_000
    line = big.lines[0]
    assert line.external_id == "1700" and line.sku and line.variant_id
    assert line.price_micros % line.quantity == 0
    # Orders whose local day differs from the UTC day land on the local day.
    for r in rows.values():
        assert r.order_date == r.created_at.astimezone(tz).date()
        assert r.created_at.tzinfo is not None


async def test_refund_restates_order(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=30, days=5, end=END)
    conn = connector(fake, fake_settings, provider_http)
    at = datetime.combine(END, datetime.min.time(), ZoneInfo("America/Los_Angeles")) + timedelta(
        hours=20
    )
    fake.refund(3, 1234, at=at.astimezone(UTC))
    rows = await collect(conn, END, END)
    refunded = next(r for r in rows if r.external_id == "5000003")
    assert refunded.refunded_micros == 12_340_000
    assert refunded.financial_status == "partially_refunded"
    assert sums(rows) == fake.expected(END, END)


async def test_cost_based_pacing(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=30, days=3, end=END)
    fake.available = 100.0
    fake.restore_rate = 50.0
    sleep = Recorder()
    conn = connector(fake, fake_settings, provider_http, sleep)
    await conn.account()  # cost 1: no wait
    rows = await collect(conn, END - timedelta(days=2), END)
    assert len(rows) == 30
    cost = 2 + 10 * (22 + 10 * 6)
    # Each page after the first waits until the bucket holds the last query's cost.
    assert sleep.waits.count((cost - 100.0) / 50.0) >= 2
    assert fake.calls["orders"] == 3


async def test_throttled_error_waits_for_restore(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=5, days=2, end=END)
    fake.throttled = 2
    fake.restore_rate = 100.0
    sleep = Recorder()
    await connector(fake, fake_settings, provider_http, sleep).account()
    # A cheap query the bucket could pay for still waits a second rather than bursting.
    assert sleep.waits == [1.0, 1.0]
    assert fake.calls["shop"] == 3


async def test_throttled_orders_wait_cost_minus_available(
    fake_shopify, fake_settings, provider_http
):
    fake = fake_shopify(orders=5, days=2, end=END)
    sleep = Recorder()
    conn = connector(fake, fake_settings, provider_http, sleep)
    await conn.account()
    fake.rate_limit_next(1, only={"orders"})
    await collect(conn, END - timedelta(days=1), END)
    cost = 2 + 10 * (22 + 10 * 6)
    # THROTTLED: wait (requested - available) / restoreRate once, then one retry.
    assert sleep.waits[0] == (cost - 52.0) / 100.0
    assert fake.calls["orders"] == 2


async def test_bulk_backfill_reassembles_children(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=300, days=90, end=END)
    fake.bulk_polls_before_done = 1
    start = END - timedelta(days=89)
    sleep = Recorder()
    conn = connector(fake, fake_settings, provider_http, sleep, poll_interval=2.0)
    rows = await collect(conn, start, END)
    assert sums(rows) == fake.expected(start, END)
    assert fake.calls["bulk_run"] == 3 and fake.calls["bulk_download"] == 3
    assert fake.calls["orders"] == 0
    assert sleep.waits == [2.0, 2.0, 2.0]
    assert len(next(r for r in rows if r.external_id == "5000017").lines) == 12


async def test_bulk_slot_busy_is_transient(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=10, days=60, end=END)
    fake.bulk_busy = True
    with pytest.raises(TransientProviderError, match="already in progress"):
        await collect(connector(fake, fake_settings, provider_http), END - timedelta(days=59), END)


async def test_5xx_retried_and_persistent(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=5, days=2, end=END)
    fake.fail_next(2)
    conn = connector(fake, fake_settings, provider_http)
    assert (await conn.account()).name == "Fake Shop"
    fake.fail_next(100)
    with pytest.raises(TransientProviderError):
        await conn.account()


async def test_invalid_token_is_auth_expired(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=5, days=2, end=END)
    fake.expire_token()
    with pytest.raises(AuthExpired):
        await collect(connector(fake, fake_settings, provider_http), END, END)
    assert fake.total_calls() == 1


async def test_bucket_refill_while_caller_works(fake_shopify, fake_settings, provider_http):
    fake = fake_shopify(orders=30, days=3, end=END)
    fake.available = 100.0
    fake.restore_rate = 50.0
    now = [0.0]
    sleep = Recorder()
    conn = connector(fake, fake_settings, provider_http, sleep, clock=lambda: now[0])
    await conn.account()
    async for _batch in conn.orders(END - timedelta(days=2), END):
        now[0] += 100.0  # the sync spends long enough writing for the bucket to refill
    # Page queries no longer wait; only the line-item follow-ups inside a page still do.
    assert fake.calls["orders"] == 3
    assert len(sleep.waits) == fake.calls["order_lines"] == 2
