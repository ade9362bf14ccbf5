"""Entity performance rows, drill-down, the CSV export, KPI widgets and bad input."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import httpx
import pytest

from metricx.dashboard.schemas import EntityPage, KpiPayload
from metricx.db import Database
from tests.factories import login_headers, make_tenant
from tests.metrics import expected
from tests.metrics.dataset import build

NOW = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)
TODAY = date(2026, 3, 15)


async def _client(app_factory):  # type: ignore[no-untyped-def]
    app = await app_factory()
    app.state.clock = lambda: NOW
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_drill_down_sums_equal_campaign_totals(db: Database, app_factory) -> None:
    ds = await build(db, today=TODAY, days=45)
    ws = ds.tenant.workspace_id
    async with await _client(app_factory) as client:
        headers = await login_headers(client, ds.tenant.email)
        url = f"/api/workspaces/{ws}/entities"
        params = {"timeframe": "last_30_days", "page_size": 500}
        campaigns = (await client.get(url, params=params, headers=headers)).json()
        EntityPage.model_validate(campaigns)
        assert campaigns["total"] == len(ds.ids("campaign")) == 4
        tf = campaigns["timeframe"]
        start, end = date.fromisoformat(tf["start"]), date.fromisoformat(tf["end"])
        for row in campaigns["rows"]:
            want = sum(
                f.spend_micros
                for _, f in ds.facts
                if start <= f.event_date <= end
                and ds.ancestor(f.entity_id, "campaign") == row["id"]
            )
            assert row["spend"] == round(want / 1e6, 2)
            assert len(row["sparkline"]) == 30
            for level in ("adset", "ad"):
                children = (
                    await client.get(
                        url,
                        params={**params, "level": level, "parent_id": row["id"]},
                        headers=headers,
                    )
                ).json()
                if row["name"] == "google pmax":
                    # Performance Max carries its facts itself; it has no children.
                    assert children["rows"] == []
                    continue
                total = sum(c["spend"] for c in children["rows"])
                assert abs(total - row["spend"]) < 0.005 * len(children["rows"])
                ratio = expected.metrics(
                    {
                        **dict.fromkeys(("orders", "order_revenue", "cogs", "manual_costs"), 0),
                        **{
                            k: sum(c[k] for c in children["rows"])
                            for k in ("spend", "revenue", "impressions", "clicks", "conversions")
                        },
                    }
                )
                assert expected.close("ratio", row["roas"], ratio["roas"])


async def test_entities_sort_page_filter_and_count(db: Database, app_factory) -> None:
    ds = await build(db, today=TODAY, days=20)
    ws = ds.tenant.workspace_id
    async with await _client(app_factory) as client:
        headers = await login_headers(client, ds.tenant.email)
        url = f"/api/workspaces/{ws}/entities"
        seen = []
        for page in (1, 2, 3):
            body = (
                await client.get(
                    url,
                    params={"level": "ad", "sort": "cpc", "order": "asc", "page": page,
                            "page_size": 10},
                    headers=headers,
                )
            ).json()  # fmt: skip
            assert body["total"] == len(ds.ids("ad"))
            seen += body["rows"]
        assert len({r["id"] for r in seen}) == len(ds.ids("ad"))
        cpcs = [r["cpc"] for r in seen if r["cpc"] is not None]
        assert cpcs == sorted(cpcs)
        past = (await client.get(url, params={"page": 99}, headers=headers)).json()
        assert past["rows"] == [] and past["total"] == 4
        paused = (
            await client.get(url, params={"status": "paused", "q": "M2"}, headers=headers)
        ).json()
        assert [r["name"] for r in paused["rows"]] == ["meta m2"]
        params = {"provider": "google", "sort": "name", "order": "asc"}
        google = (await client.get(url, params=params, headers=headers)).json()
        assert [r["name"] for r in google["rows"]] == ["google g1", "google pmax"]


async def test_export_csv_has_every_row_with_cents(
    db: Database, app_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metricx.dashboard import entities

    monkeypatch.setattr(entities, "EXPORT_PAGE", 7)  # 28 ads: four full pages and an empty one
    ds = await build(db, today=TODAY, days=10)
    async with await _client(app_factory) as client:
        headers = await login_headers(client, ds.tenant.email)
        response = await client.get(
            f"/api/workspaces/{ds.tenant.workspace_id}/export.csv",
            params={"level": "ad", "timeframe": "last_7_days"},
            headers=headers,
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == len({r["id"] for r in rows}) == len(ds.ids("ad"))
        spends = [float(r["spend"]) for r in rows]
        assert spends == sorted(spends, reverse=True)
        assert all(len(r["spend"].split(".")[1]) == 2 for r in rows)


async def test_kpi_endpoints(db: Database, app_factory) -> None:
    ds = await build(db, today=TODAY, days=20)
    ws = ds.tenant.workspace_id
    async with await _client(app_factory) as client:
        headers = await login_headers(client, ds.tenant.email)
        got = await client.get(
            f"/api/workspaces/{ws}/dashboard/kpis",
            params={"metrics": "spend,roas,profit,poas", "timeframe": "last_7_days"},
            headers=headers,
        )
        assert got.status_code == 200, got.text
        posted = await client.post(
            f"/api/workspaces/{ws}/kpis",
            json={"metrics": ["spend", "roas", "profit", "poas"], "timeframe": "last_7_days"},
            headers=headers,
        )
        assert posted.json() == got.json()
        body = KpiPayload.model_validate(got.json())
        cur = expected.metrics(expected.base_sums(ds, body.timeframe.start, body.timeframe.end))
        for kpi in body.kpis:
            unit = "ratio" if kpi.key in ("roas", "poas") else "currency"
            assert expected.close(unit, kpi.value, cur[kpi.key]), kpi
        meta_only = await client.post(
            f"/api/workspaces/{ws}/kpis",
            json={"metrics": ["spend"], "timeframe": {"key": "last_7_days"},
                  "filters": {"provider": ["meta"]}, "sparkline": False},
            headers=headers,
        )  # fmt: skip
        tf = body.timeframe
        want = expected.base_sums(ds, tf.start, tf.end, providers={"meta"})["spend"]
        assert abs(meta_only.json()["kpis"][0]["value"] - want) < 0.0051


BAD = [
    ("dashboard", {"timeframe": "fortnight"}, "timeframe"),
    ("dashboard", {"start": "2026-03-10", "end": "2026-03-01"}, "start"),
    ("dashboard", {"start": "2020-01-01", "end": "2026-03-01"}, "end"),
    ("dashboard", {"start": "2026-02-30", "end": "2026-03-01"}, "start"),
    ("dashboard", {"start": "2026-03-01"}, "end"),
    ("dashboard", {"provider": "myspace"}, "provider"),
    ("dashboard/kpis", {"metrics": "spend,happiness"}, "metrics"),
    ("entities", {"level": "galaxy"}, "level"),
    ("entities", {"sort": "vibes"}, "sort"),
    ("entities", {"sort": "aov"}, "sort"),
    ("entities", {"page_size": 501}, "page_size"),
    ("entities", {"page": 0}, "page"),
    ("entities", {"parent_id": "abc"}, "parent_id"),
    ("entities", {"status": "sleeping"}, "status"),
    ("entities", {"provider": "meta,bing"}, "provider"),
    ("export.csv", {"level": "account"}, "level"),
]


@pytest.mark.parametrize("path,params,field", BAD)
async def test_bad_input_is_422_naming_the_field(
    db: Database, app_factory, path: str, params: dict, field: str
) -> None:
    tenant = await make_tenant(db, "bad@example.com")
    async with await _client(app_factory) as client:
        headers = await login_headers(client, tenant.email)
        response = await client.get(
            f"/api/workspaces/{tenant.workspace_id}/{path}", params=params, headers=headers
        )
        assert response.status_code == 422, response.text
        assert field in response.json()["fields"], response.json()


async def test_foreign_workspace_and_parent_are_404(db: Database, app_factory) -> None:
    mine = await build(db, today=TODAY, days=3)
    other = await build(db, today=TODAY, days=3, email="other@example.com")
    async with await _client(app_factory) as client:
        headers = await login_headers(client, mine.tenant.email)
        ws = mine.tenant.workspace_id
        foreign_campaign = other.ids("campaign")[0]
        response = await client.get(
            f"/api/workspaces/{ws}/entities", params={"parent_id": foreign_campaign},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 404
        for path in ("dashboard", "dashboard/kpis", "entities", "export.csv"):
            response = await client.get(
                f"/api/workspaces/{other.tenant.workspace_id}/{path}", headers=headers
            )
            assert response.status_code == 404, path
        response = await client.post(
            f"/api/workspaces/{other.tenant.workspace_id}/kpis",
            json={"metrics": ["spend"]},
            headers=headers,
        )
        assert response.status_code == 404
        bad_body = await client.post(
            f"/api/workspaces/{ws}/kpis", json={"metrics": ["nope"]}, headers=headers
        )
        assert bad_body.status_code == 422
        assert all(f.startswith("metrics") for f in bad_body.json()["fields"])
