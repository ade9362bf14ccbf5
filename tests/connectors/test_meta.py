"""MetaConnector against the loopback FakeMeta."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from metricx.connectors._http import RetryPolicy
from metricx.connectors.base import AuthExpired, ProviderRateLimited, TransientProviderError
from metricx.connectors.meta import MetaConnector
from metricx.connectors.meta_parse import parse_insight
from tests.connectors.conftest import Recorder

END = date(2026, 3, 31)


def connector(meta, settings_for, http, sleep=None, **kw) -> MetaConnector:
    return MetaConnector(
        http,
        settings_for(meta=meta),
        "meta-token",
        "act_1234567890",
        sleep=sleep or Recorder(),
        **kw,
    )


async def collect(conn: MetaConnector, start: date, end: date):
    rows = []
    async for batch in conn.facts(start, end):
        rows.extend(batch)
    return rows


def totals(rows) -> dict[str, float]:
    return {
        "rows": len(rows),
        "spend_micros": sum(r.spend_micros for r in rows),
        "impressions": sum(r.impressions for r in rows),
        "clicks": sum(r.clicks for r in rows),
        "conversions": sum(r.conversions for r in rows),
        "revenue_micros": sum(r.revenue_micros for r in rows),
    }


async def test_account(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=5, days=3, end=END)
    info = await connector(meta, fake_settings, provider_http).account()
    assert (info.external_id, info.currency, info.timezone) == (
        "1234567890",
        "EUR",
        "Europe/Berlin",
    )


async def test_entities_in_bulk_not_per_ad(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=1200, days=1, end=END)
    rows = await connector(meta, fake_settings, provider_http).entities()
    by_level = {lvl: [r for r in rows if r.level == lvl] for lvl in ("campaign", "adset", "ad")}
    assert len(by_level["ad"]) == 1200
    assert len(by_level["adset"]) == 240 and len(by_level["campaign"]) == 60
    # 1,200 ads are three pages of 500, not 1,200 calls.
    assert meta.calls["ads"] == 3 and meta.total_calls() == 3 + 1 + 1
    ad = next(r for r in by_level["ad"] if r.external_id == "340000001")
    assert ad.parent_level == "adset" and ad.parent_external_id == "230000000"
    assert ad.thumbnail_url == "https://cdn.example/thumb/1.jpg"
    assert ad.tracking_params and "utm_content=ad1" in ad.tracking_params
    statuses = {r.external_id: r.status for r in by_level["ad"]}
    assert statuses["340000049"] == "archived"
    assert statuses["340000006"] == "paused"
    assert statuses["340000000"] == "paused"  # CAMPAIGN_PAUSED
    assert statuses["340000001"] == "active"
    assert {r.status for r in rows} <= {"active", "paused", "archived", "deleted"}


@pytest.mark.slow
async def test_thousand_ads_ninety_days_exact(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=1000, days=90, end=END)
    start = END - timedelta(days=89)
    began = time.monotonic()
    rows = await collect(connector(meta, fake_settings, provider_http), start, END)
    elapsed = time.monotonic() - began
    assert totals(rows) == meta.expected(start, END)
    assert len({(r.external_id, r.event_date) for r in rows}) == 90_000
    # Pages of 500 rows: 14-day windows of 14,000 rows → 28 pages each.
    assert meta.calls["insights"] == 6 * 28 + 12
    # Generous: CI machines are shared; locally this takes a few seconds.
    assert elapsed < 120


async def test_long_range_uses_async_report_runs(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=40, days=120, end=END)
    meta.report_polls_before_done = 1
    start = END - timedelta(days=119)
    sleep = Recorder()
    conn = connector(meta, fake_settings, provider_http, sleep, poll_interval=3.0)
    rows = await collect(conn, start, END)
    assert totals(rows) == meta.expected(start, END)
    assert meta.calls["insights"] == 0
    assert meta.calls["report_create"] == 4  # 120 days in 31-day windows
    assert meta.calls["report_status"] == 8  # one "Job Running", one "Job Completed" each
    assert sleep.waits == [3.0] * 4


async def test_reduce_data_falls_back_to_report_run(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=20, days=20, end=END)
    meta.reduce_data = 1
    start = END - timedelta(days=19)
    rows = await collect(connector(meta, fake_settings, provider_http), start, END)
    assert totals(rows) == meta.expected(start, END)
    # The first 14-day window went async; the second was read synchronously.
    assert meta.calls["report_create"] == 1 and meta.calls["insights"] == 2


async def test_failed_report_run_is_transient(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=5, days=100, end=END)
    meta.fail_reports = True
    conn = connector(meta, fake_settings, provider_http)
    with pytest.raises(TransientProviderError, match="Try a shorter range"):
        await collect(conn, END - timedelta(days=99), END)


async def test_one_purchase_family_never_summed():
    base = {
        "ad_id": "1",
        "date_start": "2026-01-01",
        "spend": "10.01",
        "impressions": "5",
        "inline_link_clicks": "2",
        "clicks": "3",
    }
    omni = parse_insight(
        {
            **base,
            "actions": [
                {"action_type": "omni_purchase", "value": "2"},
                {"action_type": "purchase", "value": "2"},
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"},
            ],
            "action_values": [
                {"action_type": "omni_purchase", "value": "99.99"},
                {"action_type": "purchase", "value": "99.99"},
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "99.99"},
            ],
        }
    )
    assert (omni.conversions, omni.revenue_micros, omni.spend_micros) == (
        2.0,
        99_990_000,
        10_010_000,
    )
    assert omni.clicks == 2 and omni.extra["clicks_all"] == 3
    pixel = parse_insight(
        {
            **base,
            "actions": [
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "1"},
                {"action_type": "purchase", "value": "1"},
            ],
            "action_values": [
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "0.10"},
                {"action_type": "purchase", "value": "0.10"},
            ],
        }
    )
    assert (pixel.conversions, pixel.revenue_micros) == (1.0, 100_000)
    none = parse_insight(base)
    assert (none.conversions, none.revenue_micros, none.purchases) == (0.0, 0, None)


async def test_restated_days_come_through(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=30, days=10, end=END)
    start = END - timedelta(days=9)
    conn = connector(meta, fake_settings, provider_http)
    before = {(r.external_id, r.event_date): r for r in await collect(conn, start, END)}
    restated = [END - timedelta(days=d) for d in (0, 1, 2)]
    meta.restate(restated)
    after = {(r.external_id, r.event_date): r for r in await collect(conn, start, END)}
    changed = {key[1] for key in before if before[key] != after[key]}
    assert changed == set(restated)
    assert totals(list(after.values())) == meta.expected(start, END)


async def test_rate_limit_waits_for_regain_time(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.regain_minutes = 2
    meta.rate_limit_next(2, only={"insights"})
    sleep = Recorder()
    rows = await collect(connector(meta, fake_settings, provider_http, sleep), END, END)
    assert len(rows) == 10
    # Waited as the BUC header said (2 minutes) before each retry; no burst of calls.
    assert sleep.waits == [120.0, 120.0]
    assert meta.calls["insights"] == 3


async def test_rate_limit_beyond_budget_raises(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.regain_minutes = 4
    meta.rate_limit_next(10)
    sleep = Recorder()
    conn = connector(
        meta,
        fake_settings,
        provider_http,
        sleep,
        policy=RetryPolicy(max_rate_limit_wait=500.0, max_single_wait=300.0),
    )
    with pytest.raises(ProviderRateLimited) as info:
        await conn.account()
    assert info.value.retry_after == 240.0
    assert sleep.waits == [240.0, 240.0]
    assert meta.calls["account"] == 3


async def test_long_regain_is_handed_to_the_job(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.regain_minutes = 45
    meta.rate_limit_next(1)
    sleep = Recorder()
    with pytest.raises(ProviderRateLimited) as info:
        await connector(meta, fake_settings, provider_http, sleep).account()
    assert info.value.retry_after == 2700.0 and sleep.waits == []


async def test_high_usage_slows_down(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.usage_pct = 95
    sleep = Recorder()
    conn = connector(meta, fake_settings, provider_http, sleep, slowdown_seconds=20.0)
    await conn.account()
    await conn.account()
    assert sleep.waits == [20.0]


async def test_5xx_retried_then_succeeds(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.fail_next(2)
    sleep = Recorder()
    info = await connector(meta, fake_settings, provider_http, sleep).account()
    assert info.currency == "EUR"
    assert meta.calls["account"] == 3
    assert len(sleep.waits) == 2 and sleep.waits[0] <= 1.0 and sleep.waits[1] <= 2.0


async def test_persistent_5xx_is_transient_error(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.fail_next(100)
    with pytest.raises(TransientProviderError):
        await connector(meta, fake_settings, provider_http).account()
    assert meta.calls["account"] == RetryPolicy().max_transient_attempts


async def test_hang_times_out_and_retries(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.hang_next(1, seconds=4.0)
    sleep = Recorder()
    info = await connector(meta, fake_settings, provider_http, sleep).account()
    assert info.name == "Fake Meta Account"
    assert len(sleep.waits) == 1


async def test_expired_token_is_auth_expired(fake_meta, fake_settings, provider_http):
    meta = fake_meta(ads=10, days=2, end=END)
    meta.expire_token()
    with pytest.raises(AuthExpired):
        await connector(meta, fake_settings, provider_http).entities()
    assert meta.total_calls() == 1
