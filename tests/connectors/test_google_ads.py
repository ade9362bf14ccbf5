"""GoogleAdsConnector against the loopback FakeGoogleAds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from metricx.connectors.base import AuthExpired, ProviderRateLimited, TransientProviderError
from metricx.connectors.google_ads import GoogleAdsConnector, retry_delay
from tests.connectors.conftest import Recorder
from tests.connectors.test_meta import totals

END = date(2026, 3, 31)


def connector(fake, settings_for, http, sleep=None, **kw) -> GoogleAdsConnector:
    values = {
        "customer_id": "123-456-7890",
        "developer_token": "dev-token",
        "refresh_token": "refresh-token",
        "client_id": "client-id",
        "client_secret": "client-secret",
        "sleep": sleep or Recorder(),
    }
    values.update(kw)
    return GoogleAdsConnector(http, settings_for(google=fake), **values)


async def collect(conn, start, end):
    rows = []
    async for batch in conn.facts(start, end):
        rows.extend(batch)
    return rows


async def test_account_and_oauth_refresh_cached(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    conn = connector(fake, fake_settings, provider_http)
    info = await conn.account()
    assert (info.external_id, info.currency, info.timezone) == (
        "1234567890",
        "USD",
        "America/New_York",
    )
    await conn.entities()
    # One refresh, then the cached token serves every query until it expires.
    assert fake.calls["token"] == 1 and conn.refreshes == 1
    assert conn.access_token in fake.tokens


async def test_token_refreshed_when_expired_by_clock(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END, token_ttl=120)
    now = [1_000_000.0]
    conn = connector(fake, fake_settings, provider_http, clock=lambda: now[0])
    await conn.account()
    now[0] += 61  # 120 s token, renewed one minute early
    await conn.account()
    assert fake.calls["token"] == 2


async def test_unauthenticated_refreshes_once(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    conn = connector(fake, fake_settings, provider_http, access_token=fake.issue_token())
    fake.expire_token()
    info = await conn.account()
    assert info.currency == "USD"
    assert fake.calls["token"] == 1 and fake.calls["search:customer"] == 2


async def test_revoked_refresh_token_is_auth_expired(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    fake.refresh_revoked = True
    with pytest.raises(AuthExpired):
        await connector(fake, fake_settings, provider_http).account()
    assert fake.calls["token"] == 1


async def test_no_refresh_token_is_auth_expired(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    conn = connector(
        fake, fake_settings, provider_http, refresh_token=None, access_token="ya29.stale"
    )
    with pytest.raises(AuthExpired):
        await conn.account()


async def test_entities_tree_with_pmax(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=40, days=1, pmax_campaigns=3, end=END)
    rows = await connector(fake, fake_settings, provider_http).entities()
    levels = [r.level for r in rows]
    assert levels.count("campaign") == 2 + 3
    assert levels.count("adset") == 8 + 3  # ad groups + asset groups
    assert levels.count("ad") == 40
    ad = next(r for r in rows if r.level == "ad" and r.external_id == "600001~7000005")
    assert ad.parent_external_id == "600001" and "utm_content=ad5" in ad.tracking_params
    pmax = [r for r in rows if r.goal == "PERFORMANCE_MAX"]
    assert len(pmax) == 3
    assert {r.parent_external_id for r in rows if r.extra.get("kind") == "asset_group"} == {
        r.external_id for r in pmax
    }
    assert (
        fake.total_calls(
            "search:campaign", "search:ad_group", "search:ad_group_ad", "search:asset_group"
        )
        == 4
    )


async def test_facts_exact_with_pmax_at_campaign_level(
    fake_google_ads, fake_settings, provider_http
):
    fake = fake_google_ads(ads=300, days=90, pmax_campaigns=4, batch_size=2_500, end=END)
    start = END - timedelta(days=89)
    rows = await collect(connector(fake, fake_settings, provider_http), start, END)
    assert totals(rows) == fake.expected(start, END)
    assert {r.level for r in rows} == {"ad", "campaign"}
    assert {r.external_id for r in rows if r.level == "campaign"} == {
        "800000",
        "800001",
        "800002",
        "800003",
    }
    assert len({(r.level, r.external_id, r.event_date) for r in rows}) == len(rows)
    assert fake.calls["search:ad_group_ad"] == 3  # 90 days in 31-day windows


async def test_restated_days(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=20, days=14, end=END)
    start = END - timedelta(days=13)
    conn = connector(fake, fake_settings, provider_http)
    before = {(r.external_id, r.event_date): r for r in await collect(conn, start, END)}
    restated = [END - timedelta(days=d) for d in (3, 5, 7)]
    fake.restate(restated)
    after = {(r.external_id, r.event_date): r for r in await collect(conn, start, END)}
    assert {k[1] for k in before if before[k] != after[k]} == set(restated)


async def test_resource_exhausted_waits_retry_delay(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    fake.rate_limit_next(2, only={"search:customer"})
    sleep = Recorder()
    await connector(fake, fake_settings, provider_http, sleep).account()
    assert sleep.waits == [37.0, 37.0]
    assert fake.calls["search:customer"] == 3


async def test_long_retry_delay_hands_back_to_job(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    fake.retry_delay = "40591s"
    fake.rate_limit_next(5)
    sleep = Recorder()
    with pytest.raises(ProviderRateLimited) as info:
        await connector(fake, fake_settings, provider_http, sleep).account()
    assert info.value.retry_after == 40591.0
    assert sleep.waits == [] and fake.calls["search:customer"] == 1


def test_retry_delay_from_rpc_retry_info():
    error = {
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]
    }
    assert retry_delay(error) == 1.5
    assert retry_delay({"details": []}) is None


async def test_5xx_then_success_and_persistent(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END)
    fake.fail_next(2)
    sleep = Recorder()
    conn = connector(fake, fake_settings, provider_http, sleep)
    assert (await conn.account()).currency == "USD"
    assert len(sleep.waits) == 2
    fake.fail_next(50)
    with pytest.raises(TransientProviderError):
        await conn.account()
    assert fake.calls["search:customer"] == 3 + 5


async def test_login_customer_id_header(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=5, days=3, end=END, login_customer_id="9998887777")
    conn = connector(fake, fake_settings, provider_http, login_customer_id="999-888-7777")
    assert (await conn.account()).name == "Fake Google Customer"


async def test_error_inside_stream_is_typed(fake_google_ads, fake_settings, provider_http):
    fake = fake_google_ads(ads=20, days=10, batch_size=50, end=END)
    fake.midstream_error = True
    got = []
    with pytest.raises(TransientProviderError, match="backend went away"):
        async for batch in connector(fake, fake_settings, provider_http).facts(END, END):
            got.extend(batch)
    assert len(got) == 20  # the first batch arrived before the failure
