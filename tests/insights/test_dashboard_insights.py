"""GET /insights on the engine: the campaign whose ROAS drops and the one that outperforms
are named; the min-spend guard, the cache, the post-sync refresh and tenant isolation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from metricx.db import Database
from metricx.insights import service
from metricx.insights.llm import LlmProvider
from metricx.models import Connection
from metricx.sync.writer import EntityRow, FactRow, upsert_entities, upsert_facts
from tests.factories import Tenant, login_headers, make_tenant

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
LAST_7 = (date(2026, 11, 21), date(2026, 11, 27))
DROP, STAR, STEADY, TINY = "Holiday Bundles", "Brand Search", "Evergreen Prospecting", "Tiny Test"

# campaign -> provider, ads, daily spend per ad, ROAS before the last 7 days, ROAS in them
PLAN = {
    STEADY: ("meta", 2, 150.0, 2.0, 2.0),
    DROP: ("meta", 2, 120.0, 4.0, 1.5),
    STAR: ("google", 1, 180.0, 5.5, 6.0),
    TINY: ("google", 1, 0.5, 30.0, 1.0),  # wild swings, but below the minimum spend
}


def clock() -> datetime:
    return NOW


async def build_scenario(
    db: Database, email: str = "ins@example.com", *, scale: float = 1.0
) -> Tenant:
    """28 days of facts: one campaign's ROAS falls in the last 7 days, one outperforms."""
    tenant = await make_tenant(db, email)
    ws = tenant.workspace_id
    async with db.transaction() as s:
        for provider in ("meta", "google"):
            conn = Connection(workspace_id=ws, provider=provider,
                              external_account_id=f"{provider}-x", name=provider)  # fmt: skip
            s.add(conn)
            await s.flush()
            rows = [EntityRow("account", "act", f"{provider} account")]
            for c, (p, ads, *_rest) in PLAN.items():
                if p != provider:
                    continue
                rows.append(EntityRow("campaign", c, c, "active", "account", "act"))
                rows.append(EntityRow("adset", f"{c}-s", f"{c} set", "active", "campaign", c))
                rows += [
                    EntityRow("ad", f"{c}-a{i}", f"{c} ad {'ab'[i]}", "active", "adset", f"{c}-s")
                    for i in range(ads)
                ]
            ids = await upsert_entities(
                s, workspace_id=ws, connection_id=conn.id, provider=provider, rows=rows
            )
            facts = []
            for c, (p, ads, spend, before, after) in PLAN.items():
                if p != provider:
                    continue
                for i in range(ads):
                    ad_id = ids[("ad", f"{c}-a{i}")]
                    for d in range(28):
                        day = LAST_7[1] - timedelta(days=d)
                        roas = after if day >= LAST_7[0] else before
                        facts.append(
                            FactRow(
                                entity_id=ad_id,
                                event_date=day,
                                spend_micros=int(spend * scale * 1e6),
                                impressions=20_000,
                                clicks=400,
                                conversions=8.0,
                                revenue_micros=int(spend * scale * roas * 1e6),
                            )
                        )
            await upsert_facts(
                s, workspace_id=ws, connection_id=conn.id, provider=provider, rows=facts
            )
    return tenant


@pytest.fixture
async def api(app):
    app.state.clock = clock
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_insights_name_the_dropping_and_the_outperforming_campaign(
    api, db, monkeypatch
) -> None:
    async def no_llm(*args: object, **kwargs: object) -> None:
        raise AssertionError("the insights panel never calls an LLM")

    monkeypatch.setattr(LlmProvider, "translate", no_llm)
    monkeypatch.setattr(LlmProvider, "phrase", no_llm)
    tenant = await build_scenario(db)
    headers = await login_headers(api, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}/insights?timeframe=last_7_days"
    response = await api.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-cache"] == "miss"
    body = response.json()
    assert body["timeframe"]["start"] == LAST_7[0].isoformat()
    drop, best = body["insights"]
    for item in (drop, best):
        keys = {"kind", "title", "text", "metric", "entity", "value", "previous", "delta_pct"}
        assert keys | {"impact"} <= set(item)
    assert drop["kind"] == "warning" and drop["entity"]["label"] == DROP
    assert drop["entity"]["level"] == "campaign" and drop["metric"] == "roas"
    assert (drop["value"], drop["previous"]) == (1.5, 4.0)
    assert drop["delta_pct"] == -62.5
    # 2 ads x 7 days x 120 spend x (4.0 - 1.5) ROAS points of revenue lost
    assert drop["impact"] == pytest.approx(2 * 7 * 120 * 2.5)
    assert DROP in drop["title"] and "$4,200.00" in drop["text"]
    assert best["kind"] == "opportunity" and best["entity"]["label"] == STAR
    assert best["entity"]["level"] == "campaign" and best["value"] == 6.0
    assert TINY not in response.text  # far below the minimum spend, however wild its ROAS
    again = await api.get(url, headers=headers)
    assert again.headers["x-cache"] == "hit" and again.json() == body


async def test_refresh_insights_warms_the_cache_the_endpoint_reads(app, api, db) -> None:
    tenant = await build_scenario(db)
    async with db.transaction() as session:
        outcome = await service.refresh_insights(
            session, tenant.workspace_id, cache=app.state.cache, clock=clock
        )
    assert outcome["status"] == "succeeded"
    assert [t["timeframe"] for t in outcome["timeframes"]] == list(service.DEFAULT_TIMEFRAMES)
    headers = await login_headers(api, tenant.email)
    base = f"/api/workspaces/{tenant.workspace_id}/insights"
    for query in ("", "?timeframe=last_7_days", "?timeframe=last_30_days"):
        response = await api.get(base + query, headers=headers)
        assert response.status_code == 200
        assert response.headers["x-cache"] == "hit", query
    custom = await api.get(base + "?start=2026-11-01&end=2026-11-10", headers=headers)
    assert custom.status_code == 200 and custom.headers["x-cache"] == "miss"


async def test_refresh_insights_takes_what_the_job_passes(app, db) -> None:
    """The jobs runner calls refresh_insights(session=..., workspace_id=..., settings=...)."""
    tenant = await build_scenario(db)
    async with db.transaction() as session:
        outcome = await service.refresh_insights(
            session=session, workspace_id=tenant.workspace_id, settings=app.state.settings
        )
        assert outcome["status"] == "succeeded"
        missing = await service.refresh_insights(session=session, workspace_id=999_999)
        assert missing["status"] == "skipped"


async def test_insights_of_another_workspace_are_not_found(api, db) -> None:
    owner = await build_scenario(db, "owner@example.com")
    other = await make_tenant(db, "other@example.com")
    headers = await login_headers(api, other.email)
    url = f"/api/workspaces/{owner.workspace_id}/insights"
    response = await api.get(url, headers=headers)
    assert response.status_code == 404
    assert DROP not in response.text
    empty = await api.get(f"/api/workspaces/{other.workspace_id}/insights", headers=headers)
    assert empty.status_code == 200 and empty.json()["insights"] == []
    api.cookies.clear()  # login also set a session cookie
    assert (await api.get(url)).status_code == 401


async def test_bad_insights_parameters_are_422(api, db) -> None:
    tenant = await make_tenant(db)
    headers = await login_headers(api, tenant.email)
    base = f"/api/workspaces/{tenant.workspace_id}/insights"
    bad = (
        "?timeframe=forever",
        "?start=2026-11-10",
        "?start=2026-11-10&end=2026-11-01",
        "?timeframe=last_7_days&start=2026-11-01&end=2026-11-02",
        "?start=nope&end=x",
    )
    for query in bad:
        response = await api.get(base + query, headers=headers)
        assert response.status_code == 422, (query, response.text)


def _spend_last_7(scale: float) -> float:
    return round(sum(ads * spend * scale * 7 for _, ads, spend, *_ in PLAN.values()), 2)


async def test_questions_only_see_their_own_workspace(api, db) -> None:
    a = await build_scenario(db, "a@example.com")
    b = await build_scenario(db, "b@example.com", scale=3.0)
    a_headers = await login_headers(api, a.email)
    b_headers = await login_headers(api, b.email)
    question = {"question": "how much did we spend in the last 7 days"}
    for tenant, headers, scale in ((a, a_headers, 1.0), (b, b_headers, 3.0)):
        url = f"/api/workspaces/{tenant.workspace_id}/questions"
        response = await api.post(url, json=question, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["results"]["totals"]["spend"] == _spend_last_7(scale)
        ranking = await api.post(url, json={"question": "spend by campaign"}, headers=headers)
        labels = {r["label"] for r in ranking.json()["results"]["rows"]}
        assert labels == set(PLAN)
        ids = {int(r["key"]) for r in ranking.json()["results"]["rows"]}
        other = b if tenant is a else a
        other_rows = await api.post(
            f"/api/workspaces/{other.workspace_id}/questions",
            json={"question": "spend by campaign"},
            headers=a_headers if other is a else b_headers,
        )
        assert ids.isdisjoint(int(r["key"]) for r in other_rows.json()["results"]["rows"])
    foreign = await api.post(
        f"/api/workspaces/{b.workspace_id}/questions", json=question, headers=a_headers
    )
    assert foreign.status_code == 404 and "results" not in foreign.json()
    history = await api.get(f"/api/workspaces/{b.workspace_id}/questions/history",
                            headers=a_headers)  # fmt: skip
    assert history.status_code == 404
