"""The unified dashboard against a plain-Python recomputation, over HTTP, on both engines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx

from metricx.dashboard.schemas import DashboardPayload
from metricx.db import Database
from metricx.metrics.registry import METRICS
from metricx.sync.writer import FactRow, upsert_facts
from tests.factories import login_headers, make_tenant
from tests.metrics import expected
from tests.metrics.dataset import build

NOW = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)  # near midnight UTC on purpose
TODAY = date(2026, 3, 15)
D = date.fromisoformat

# Worked out by hand for a UTC workspace at NOW: (start, end, previous_start, previous_end).
PERIODS = {
    "today": ("2026-03-15", "2026-03-15", "2026-03-14", "2026-03-14"),
    "yesterday": ("2026-03-14", "2026-03-14", "2026-03-13", "2026-03-13"),
    "last_7_days": ("2026-03-08", "2026-03-14", "2026-03-01", "2026-03-07"),
    "last_30_days": ("2026-02-13", "2026-03-14", "2026-01-14", "2026-02-12"),
    "last_90_days": ("2025-12-15", "2026-03-14", "2025-09-16", "2025-12-14"),
    "this_month": ("2026-03-01", "2026-03-15", "2026-02-14", "2026-02-28"),
    "last_month": ("2026-02-01", "2026-02-28", "2026-01-04", "2026-01-31"),
}
CUSTOM = ("2026-01-10", "2026-02-20", "2025-11-29", "2026-01-09")


async def _client(app_factory, now: datetime = NOW):  # type: ignore[no-untyped-def]
    app = await app_factory()
    app.state.clock = lambda: now
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _check_kpis(ds, body: dict) -> None:  # type: ignore[no-untyped-def]
    tf = body["timeframe"]
    cur = expected.metrics(expected.base_sums(ds, D(tf["start"]), D(tf["end"])))
    prev = expected.metrics(expected.base_sums(ds, D(tf["previous_start"]), D(tf["previous_end"])))
    keys = {k["key"] for k in body["kpis"]}
    assert {"revenue", "spend", "roas", "conversions", "cpa", "aov"} <= keys
    for kpi in body["kpis"]:
        unit = METRICS[kpi["key"]].unit
        assert expected.close(unit, kpi["value"], cur[kpi["key"]]), (tf["key"], kpi)
        assert expected.close(unit, kpi["previous"], prev[kpi["key"]]), (tf["key"], kpi)
        assert len(kpi["sparkline"]) == len(body["chart"])


async def test_dashboard_kpis_match_plain_python_for_every_timeframe(db: Database, app_factory):
    ds = await build(db, today=TODAY)
    async with await _client(app_factory) as client:
        headers = await login_headers(client, ds.tenant.email)
        url = f"/api/workspaces/{ds.tenant.workspace_id}/dashboard"
        cases = [({"timeframe": k}, v) for k, v in PERIODS.items()]
        cases.append(({"start": CUSTOM[0], "end": CUSTOM[1]}, CUSTOM))
        for params, period in cases:
            response = await client.get(url, params=params, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            DashboardPayload.model_validate(body)
            tf = body["timeframe"]
            assert (tf["start"], tf["end"], tf["previous_start"], tf["previous_end"]) == period
            days = (D(tf["end"]) - D(tf["start"])).days
            assert days == (D(tf["previous_end"]) - D(tf["previous_start"])).days
            assert D(tf["previous_end"]) == D(tf["start"]) - timedelta(days=1)
            _check_kpis(ds, body)
            # The chart is zero-filled: one point per day, and it adds up to the KPI.
            assert len(body["chart"]) == days + 1
            spend = next(k for k in body["kpis"] if k["key"] == "spend")["value"]
            assert abs(sum(p["spend"] for p in body["chart"]) - spend) < 0.01 * (days + 1)
            mix = body["spend_mix"]
            assert abs(sum(m["spend"] for m in mix) - spend) < 0.02
            if spend:
                assert abs(sum(m["share"] for m in mix) - 1) < 0.001
        assert body["workspace"]["id"] == ds.tenant.workspace_id
        # Orders exist, so the attribution block (same service as its API) is present.
        assert body["attribution"]["model"] == "last_click"
        assert {c["provider"] for c in body["status"]["connections"]} == {
            "meta",
            "google",
            "shopify",
        }
        assert body["top_creatives"][0]["spend"] >= body["top_creatives"][-1]["spend"]
        assert body["unit_economics"]


async def test_timezones_bucket_days_locally(db: Database, app_factory) -> None:
    # 23:30 UTC on the 15th is already the 16th in Tonga (UTC+13).
    tonga = await build(db, today=date(2026, 3, 16), email="tonga@example.com",
                        timezone="Pacific/Tongatapu", days=20)  # fmt: skip
    # 05:00 UTC on the 16th is still the 15th in Honolulu (UTC-10).
    honolulu_now = datetime(2026, 3, 16, 5, 0, tzinfo=UTC)
    hawaii = await build(db, today=date(2026, 3, 15), email="hi@example.com",
                         timezone="Pacific/Honolulu", days=20, seed=11)  # fmt: skip
    cases = (
        (tonga, NOW, "2026-03-16", "Pacific/Tongatapu"),
        (hawaii, honolulu_now, "2026-03-15", "Pacific/Honolulu"),
    )
    for ds, now, today, tz in cases:
        async with await _client(app_factory, now) as client:
            headers = await login_headers(client, ds.tenant.email)
            for key in ("today", "yesterday", "last_7_days", "this_month"):
                response = await client.get(
                    f"/api/workspaces/{ds.tenant.workspace_id}/dashboard",
                    params={"timeframe": key},
                    headers=headers,
                )
                body = response.json()
                if key == "today":
                    assert body["timeframe"]["start"] == body["timeframe"]["end"] == today
                _check_kpis(ds, body)
                assert body["workspace"]["timezone"] == tz


def _queries(response: httpx.Response) -> int:
    match = re.search(r'desc="(\d+) queries"', response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    return int(match.group(1))


async def test_etag_304_statement_count_and_invalidation(db: Database, app_factory) -> None:
    ds = await build(db, today=TODAY, days=40)
    async with await _client(app_factory) as client:
        headers = await login_headers(client, ds.tenant.email)
        url = f"/api/workspaces/{ds.tenant.workspace_id}/dashboard?timeframe=last_7_days"
        first = await client.get(url, headers=headers)
        assert first.status_code == 200 and first.headers["x-cache"] == "miss"
        # One statement authenticates (token, user, membership, workspace); five compute the
        # metrics and the attribution block (the attribution API's own service) adds its reads.
        assert _queries(first) <= 15
        etag = first.headers["etag"]
        again = await client.get(url, headers=headers)
        assert again.headers["x-cache"] == "hit" and again.content == first.content
        # On PostgreSQL the AuthContext is cached too (the change feed keeps it honest).
        assert _queries(again) == (0 if db.dialect == "postgresql" else 1)
        not_modified = await client.get(url, headers={**headers, "If-None-Match": etag})
        assert not_modified.status_code == 304 and not not_modified.content
        assert not_modified.headers["etag"] == etag

        # A write bumps data_version: the next read is recomputed and differs.
        ad = ds.ids("ad")[0]
        async with db.transaction() as s:
            await upsert_facts(
                s, workspace_id=ds.tenant.workspace_id, connection_id=ds.connection_ids["meta"],
                provider="meta", rows=[FactRow(ad, date(2026, 3, 10), spend_micros=999_990_000)],
            )  # fmt: skip
        fresh = await client.get(url, headers={**headers, "If-None-Match": etag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != etag
        assert fresh.json()["data_version"] == first.json()["data_version"] + 1
        assert fresh.json()["kpis"] != first.json()["kpis"]


async def test_empty_workspace_gives_null_ratios(db: Database, app_factory) -> None:
    tenant = await make_tenant(db, "empty@example.com")
    async with await _client(app_factory) as client:
        headers = await login_headers(client, tenant.email)
        body = (
            await client.get(f"/api/workspaces/{tenant.workspace_id}/dashboard", headers=headers)
        ).json()
        kpis = {k["key"]: k for k in body["kpis"]}
        for key in ("roas", "cpa", "aov", "mer", "ctr", "cpc"):
            assert kpis[key]["value"] is None and kpis[key]["delta_pct"] is None
        assert kpis["spend"]["value"] == 0
        assert len(body["chart"]) == 7 and body["spend_mix"] == [] and body["top_creatives"] == []


async def test_dashboard_cache_in_redis(db: Database, app_factory, redis_url: str) -> None:
    ds = await build(db, today=TODAY, days=10)
    app = await app_factory(redis_url=redis_url)
    app.state.clock = lambda: NOW
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = await login_headers(client, ds.tenant.email)
        url = f"/api/workspaces/{ds.tenant.workspace_id}/dashboard"
        first = await client.get(url, headers=headers)
        second = await client.get(url, headers=headers)
        assert first.headers["x-cache"] == "miss" and second.headers["x-cache"] == "hit"
        assert first.content == second.content
