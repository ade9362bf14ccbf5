"""Connections API: connect, list, patch, delete, sync now, CSV upload; tenancy and secrets."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from metricx.auth.service import create_user
from metricx.crypto import SecretBox
from metricx.db import Database
from metricx.jobs.locks import connection_lock
from metricx.models import (
    Connection,
    DailyRollup,
    Entity,
    Membership,
    MetricFact,
    SyncRun,
    Workspace,
)
from tests.factories import login_headers, make_tenant
from tests.sync.fakes import NOW, FakeAds

TOKEN = "EAAB-super-secret-token-123"


async def started_client(app_factory: Any) -> tuple[Any, httpx.AsyncClient]:
    app = await app_factory()
    app.state.job_context.connector_factory = lambda **_: FakeAds(3)
    app.state.job_context.now = lambda: NOW
    transport = httpx.ASGITransport(app=app)
    return app, httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_connect_list_sync_and_secrets_never_leave(db: Database, app_factory) -> None:
    tenant = await make_tenant(db)
    app, client = await started_client(app_factory)
    async with client:
        h = await login_headers(client, tenant.email)
        base = f"/api/workspaces/{tenant.workspace_id}/connections"
        r = await client.post(
            base,
            headers=h,
            json={
                "provider": "meta",
                "external_account_id": "act_42",
                "credentials": {"access_token": TOKEN},
            },
        )
        assert r.status_code == 201, r.text
        assert TOKEN not in r.text and "access_token" not in r.text
        body = r.json()
        assert body["has_credentials"] and body["status"] == "active"
        cid = body["id"]
        await app.state.jobs.join()  # the first sync was queued after commit
        listed = await client.get(base, headers=h)
        assert TOKEN not in listed.text
        (row,) = listed.json()
        assert row["last_run"]["status"] == "succeeded"
        assert row["last_run"]["rows_written"] == 3 * 90
        assert row["next_sync_at"] and row["last_success_at"]
        r = await client.post(f"{base}/{cid}/sync", headers=h)
        assert r.status_code == 202
        run_id = r.json()["run_id"]
        await app.state.jobs.join()
        async with db.transaction() as s:
            run = await s.get(SyncRun, run_id)
            assert run.status == "succeeded"
            conn = await s.get(Connection, cid)
        assert TOKEN.encode() not in conn.credentials_encrypted
        box = SecretBox.from_settings(db.settings)
        assert box.decrypt_json(conn.credentials_encrypted) == {"access_token": TOKEN}
        # Reconnecting the same account is the same row.
        again = await client.post(
            base,
            headers=h,
            json={
                "provider": "meta",
                "external_account_id": "act_42",
                "credentials": {"access_token": "t2"},
            },
        )
        assert again.json()["id"] == cid
        await app.state.jobs.join()


async def test_validation_patch_delete(db: Database, app_factory) -> None:
    tenant = await make_tenant(db)
    app, client = await started_client(app_factory)
    async with client:
        h = await login_headers(client, tenant.email)
        base = f"/api/workspaces/{tenant.workspace_id}/connections"
        r = await client.post(
            base, headers=h, json={"provider": "meta", "external_account_id": "1"}
        )
        assert r.status_code == 422 and r.json()["fields"] == ["credentials.access_token"]
        r = await client.post(
            base,
            headers=h,
            json={
                "provider": "google",
                "external_account_id": "1",
                "credentials": {"refresh_token": "x"},
            },
        )
        assert r.status_code == 422
        assert "credentials.developer_token" in r.json()["fields"]
        r = await client.post(
            base,
            headers=h,
            json={
                "provider": "shopify",
                "external_account_id": "s",
                "credentials": {"shop_domain": "bad domain", "access_token": "x"},
            },
        )
        assert r.status_code == 422
        r = await client.post(
            base,
            headers=h,
            json={
                "provider": "tiktok",
                "external_account_id": "77",
                "credentials": {"access_token": "x"},
                "sync_frequency_minutes": 60,
            },
        )
        cid = r.json()["id"]
        await app.state.jobs.join()
        r = await client.post(
            base,
            headers=h,
            json={
                "provider": "shopify",
                "external_account_id": "Brand.myshopify.com",
                "credentials": {"access_token": "shpat"},
            },
        )
        assert r.status_code == 201 and r.json()["shop_domain"] == "brand.myshopify.com"
        await app.state.jobs.join()
        r = await client.patch(f"{base}/{cid}", headers=h, json={"status": "paused", "name": "TT"})
        assert r.json()["status"] == "paused" and r.json()["next_sync_at"] is None
        assert (await client.post(f"{base}/{cid}/sync", headers=h)).status_code == 409
        assert (await client.delete(f"{base}/{cid}", headers=h)).status_code == 204
        assert (await client.get(f"{base}/{cid}", headers=h)).status_code == 404


async def test_foreign_workspace_and_viewer(db: Database, app_factory) -> None:
    owner = await make_tenant(db)
    other = await make_tenant(db, "other@example.com")
    async with db.transaction() as s:
        viewer = await create_user(s, "viewer@example.com", "correct horse battery")
        s.add(Membership(workspace_id=owner.workspace_id, user_id=viewer.id, role="viewer"))
    _app, client = await started_client(app_factory)
    async with client:
        h = await login_headers(client, owner.email)
        base = f"/api/workspaces/{owner.workspace_id}/connections"
        r = await client.post(
            base, headers=h, json={"provider": "csv", "external_account_id": "sheet"}
        )
        cid = r.json()["id"]
        oh = await login_headers(client, other.email)
        foreign = f"/api/workspaces/{owner.workspace_id}/connections"
        mine_wrong = f"/api/workspaces/{other.workspace_id}/connections/{cid}"
        for method, url in [
            ("GET", foreign),
            ("GET", f"{foreign}/{cid}"),
            ("PATCH", f"{foreign}/{cid}"),
            ("DELETE", f"{foreign}/{cid}"),
            ("POST", f"{foreign}/{cid}/sync"),
            ("GET", mine_wrong),
            ("PATCH", mine_wrong),
            ("DELETE", mine_wrong),
            ("POST", f"{mine_wrong}/sync"),
        ]:
            kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
            r = await client.request(method, url, headers=oh, **kwargs)
            assert r.status_code == 404, (method, url, r.status_code)
        r = await client.post(
            f"{mine_wrong}/import", headers=oh, files={"file": ("a.csv", b"date\n")}
        )
        assert r.status_code == 404
        vh = await login_headers(client, "viewer@example.com")
        assert (await client.get(base, headers=vh)).status_code == 200
        r = await client.post(
            base, headers=vh, json={"provider": "csv", "external_account_id": "x"}
        )
        assert r.status_code == 403
        assert (await client.delete(f"{base}/{cid}", headers=vh)).status_code == 403


HEADER = b"date,platform,campaign_id,campaign_name,ad_id,ad_name,spend,impressions,clicks,"
GOOD_CSV = (
    HEADER
    + b"""conversions,revenue,currency
2026-01-01,meta,c1,Camp 1,a1,Ad 1,10.50,1000,10,1,30,USD
2026-01-01,meta,c1,Camp 1,a2,Ad 2,5,500,5,0,0,USD
2026-01-02,meta,c1,Camp 1,a1,Ad 1,11,1100,11,2,60.25,USD
2026-01-01,google,g1,Search,,,20,2000,40,3,90,USD
"""
)

BAD_CSV = b"""date,campaign_id,ad_id,spend,clicks
2026-01-01,c1,a1,10,3
2026-13-01,c1,a1,10,3
2026-01-02,c1,a1,-5,3
2026-01-03,c1,a1,5,2.5
2026-01-01,c1,a1,10,3
2026-01-04,c1,,10,3
"""


async def test_csv_upload_all_or_nothing_and_idempotent(db: Database, app_factory) -> None:
    tenant = await make_tenant(db)
    _app, client = await started_client(app_factory)
    async with client:
        h = await login_headers(client, tenant.email)
        base = f"/api/workspaces/{tenant.workspace_id}/connections"
        cid = (
            await client.post(base, headers=h, json={"provider": "csv", "external_account_id": "f"})
        ).json()["id"]
        r = await client.post(f"{base}/{cid}/import", headers=h, files={"file": ("x.csv", BAD_CSV)})
        assert r.status_code == 422
        errors = r.json()["errors"]
        assert [(e["line"], e["column"]) for e in errors] == [
            (3, "date"),
            (4, "spend"),
            (5, "clicks"),
            (6, "date"),
            (7, "campaign_id"),
        ]
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(MetricFact)) == 0
            assert await s.scalar(select(func.count()).select_from(Entity)) == 0
        for _ in range(2):
            r = await client.post(
                f"{base}/{cid}/import", headers=h, files={"file": ("x.csv", GOOD_CSV)}
            )
            assert r.status_code == 200, r.text
            assert r.json()["facts_written"] == 4 and r.json()["entities"] == 4
        async with db.transaction() as s:
            facts = (await s.scalars(select(MetricFact))).all()
        assert len(facts) == 4
        assert sum(f.spend_micros for f in facts) == 46_500_000
        assert {f.provider for f in facts} == {"meta", "google"}
        sync = await client.post(f"{base}/{cid}/sync", headers=h)
        assert sync.status_code == 409


async def test_sync_now_reuses_queued_run_and_delete_rebuilds_rollups(
    db: Database, app_factory
) -> None:
    tenant = await make_tenant(db)
    app, client = await started_client(app_factory)
    async with client:
        h = await login_headers(client, tenant.email)
        base = f"/api/workspaces/{tenant.workspace_id}/connections"
        body = {
            "provider": "meta",
            "external_account_id": "a",
            "credentials": {"access_token": "x"},
        }
        cid = (await client.post(base, headers=h, json=body)).json()["id"]
        await app.state.jobs.join()
        # Two clicks before a worker picks the run up are one run.
        async with db.transaction() as s:
            s.add(SyncRun(workspace_id=tenant.workspace_id, connection_id=cid, kind="sync"))
        async with connection_lock(db, cid):  # no job may claim the run in between
            first = (await client.post(f"{base}/{cid}/sync", headers=h)).json()["run_id"]
            second = (await client.post(f"{base}/{cid}/sync", headers=h)).json()["run_id"]
            await app.state.jobs.join()
        assert first == second
        await app.state.jobs.enqueue("sync_connection", connection_id=cid)
        await app.state.jobs.join()
        async with db.transaction() as s:
            assert (await s.get(SyncRun, first)).status == "succeeded"
        async with db.transaction() as s:
            assert await s.scalar(select(func.sum(DailyRollup.spend_micros))) > 0
            version = await s.scalar(
                select(Workspace.data_version).where(Workspace.id == tenant.workspace_id)
            )
        assert (await client.delete(f"{base}/{cid}", headers=h)).status_code == 204
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(MetricFact)) == 0
            assert await s.scalar(select(func.count()).select_from(DailyRollup)) == 0
            assert (
                await s.scalar(
                    select(Workspace.data_version).where(Workspace.id == tenant.workspace_id)
                )
                == version + 1
            )
