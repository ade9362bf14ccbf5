"""TikTokConnector against the loopback FakeTikTok."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from metricx.connectors._http import RetryPolicy
from metricx.connectors.base import AuthExpired, ProviderRateLimited, TransientProviderError
from metricx.connectors.tiktok import TikTokConnector
from tests.connectors.conftest import Recorder
from tests.connectors.test_meta import totals

END = date(2026, 3, 31)


def connector(fake, settings_for, http, sleep=None, **kw) -> TikTokConnector:
    return TikTokConnector(
        http,
        settings_for(tiktok=fake),
        "tiktok-token",
        "7000000000001",
        sleep=sleep or Recorder(),
        **kw,
    )


async def collect(conn, start, end):
    rows = []
    async for batch in conn.facts(start, end):
        rows.extend(batch)
    return rows


async def test_account(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=3, days=2, end=END)
    info = await connector(fake, fake_settings, provider_http).account()
    assert (info.currency, info.timezone, info.name) == (
        "GBP",
        "Europe/London",
        "Fake TikTok Advertiser",
    )


async def test_entities_paged(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=2300, days=1, end=END)
    rows = await connector(fake, fake_settings, provider_http).entities()
    assert [r.level for r in rows].count("ad") == 2300
    assert fake.calls["ad"] == 3 and fake.calls["adgroup"] == 1 and fake.calls["campaign"] == 1
    ad = next(r for r in rows if r.external_id == str(1_720_000_000_000 + 7))
    assert ad.tracking_params == "utm_source=tiktok&utm_content=ad7"
    assert ad.parent_external_id == str(1_710_000_000_001)
    statuses = {r.external_id: r.status for r in rows if r.level == "ad"}
    assert statuses[str(1_720_000_000_000 + 96)] == "deleted"
    assert statuses[str(1_720_000_000_000 + 6)] == "paused"


async def test_facts_exact_paged_in_30_day_windows(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=250, days=90, end=END)
    start = END - timedelta(days=89)
    rows = await collect(connector(fake, fake_settings, provider_http, page_size=1000), start, END)
    assert totals(rows) == fake.expected(start, END)
    assert len(fake.report_windows) == 3
    assert all(
        (date.fromisoformat(b) - date.fromisoformat(a)).days < 30 for a, b in fake.report_windows
    )
    assert fake.calls["report"] == 3 * 8  # 7,500 rows per window in pages of 1,000
    assert all(r.purchases == r.conversions for r in rows)
    assert sum(r.extra["conversion"] for r in rows) == len(rows) + totals(rows)["conversions"]


async def test_query_too_large_shrinks_window(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=10, days=20, end=END, max_report_days=7)
    start = END - timedelta(days=19)
    rows = await collect(connector(fake, fake_settings, provider_http), start, END)
    assert totals(rows) == fake.expected(start, END)
    assert len(fake.report_windows) == 3  # 20 days refused, then 7 + 7 + 6


async def test_restated_days(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=10, days=5, end=END)
    start = END - timedelta(days=4)
    conn = connector(fake, fake_settings, provider_http)
    before = {(r.external_id, r.event_date): r for r in await collect(conn, start, END)}
    fake.restate([END])
    after = {(r.external_id, r.event_date): r for r in await collect(conn, start, END)}
    assert {k[1] for k in before if before[k] != after[k]} == {END}


async def test_rate_limit_bounded_backoff(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=3, days=2, end=END)
    fake.rate_limit_next(3)
    sleep = Recorder()
    await connector(fake, fake_settings, provider_http, sleep).account()
    assert sleep.waits == [5.0, 10.0, 20.0]
    assert fake.calls["advertiser"] == 4


async def test_rate_limit_gives_up(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=3, days=2, end=END)
    fake.rate_limit_next(100)
    sleep = Recorder()
    conn = connector(
        fake, fake_settings, provider_http, sleep, policy=RetryPolicy(max_rate_limit_wait=100)
    )
    with pytest.raises(ProviderRateLimited):
        await conn.account()
    assert sum(sleep.waits) <= 100 and fake.calls["advertiser"] == len(sleep.waits) + 1


async def test_maintenance_retried_and_persistent(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=3, days=2, end=END)
    fake.fail_next(1)
    conn = connector(fake, fake_settings, provider_http)
    assert (await conn.account()).currency == "GBP"
    fake.fail_next(100)
    with pytest.raises(TransientProviderError):
        await conn.account()


async def test_revoked_token_is_auth_expired(fake_tiktok, fake_settings, provider_http):
    fake = fake_tiktok(ads=3, days=2, end=END)
    fake.expire_token()
    with pytest.raises(AuthExpired):
        await collect(connector(fake, fake_settings, provider_http), END, END)
    assert fake.total_calls() == 1
