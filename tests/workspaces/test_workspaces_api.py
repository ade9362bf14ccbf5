"""Workspaces, members, ownership, invites and status through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from metricx.models import Connection, DailyRollup, Membership, PixelEvent, SyncRun
from metricx.workspaces import repository
from tests.factories import Tenant, login_headers, make_tenant


async def add_member(db, tenant: Tenant, email: str, role: str) -> int:  # type: ignore[no-untyped-def]
    from metricx.auth.service import create_user

    async with db.transaction() as session:
        user = await create_user(session, email, "correct horse battery", email.split("@")[0])
        session.add(Membership(workspace_id=tenant.workspace_id, user_id=user.id, role=role))
        return user.id


async def test_create_list_get_update_delete(client: httpx.AsyncClient, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    created = await client.post(
        "/api/workspaces",
        json={"name": "  Second  ", "timezone": "Pacific/Auckland", "currency": "nzd"},
        headers=h,
    )
    assert created.status_code == 201, created.text
    ws = created.json()
    assert (ws["name"], ws["currency"], ws["role"]) == ("Second", "NZD", "owner")
    listed = (await client.get("/api/workspaces", headers=h)).json()
    assert [(w["name"], w["role"]) for w in listed] == [("Brand", "owner"), ("Second", "owner")]
    got = await client.get(f"/api/workspaces/{ws['id']}", headers=h)
    assert got.json()["timezone"] == "Pacific/Auckland"
    patched = await client.patch(f"/api/workspaces/{ws['id']}", json={"currency": "EUR"}, headers=h)
    assert patched.status_code == 200
    assert patched.json()["currency"] == "EUR"
    assert patched.json()["data_version"] == ws["data_version"] + 1
    assert (await client.delete(f"/api/workspaces/{ws['id']}", headers=h)).status_code == 204
    assert (await client.get(f"/api/workspaces/{ws['id']}", headers=h)).status_code == 404


async def test_bad_settings_name_the_field(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}"
    for body, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "XXX"}, "currency"),
        ({"name": "   "}, "name"),
        ({"colour": "red"}, "colour"),
    ):
        response = await client.patch(url, json=body, headers=h)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["fields"] == [field]
    for bad in ("abc", "0", "-1", "99999999999999999999999"):
        response = await client.get(f"/api/workspaces/{bad}", headers=h)
        assert response.status_code == 422
        assert response.json()["fields"] == ["workspace_id"]


async def test_roles_and_the_single_owner(client, db) -> None:
    tenant = await make_tenant(db)
    admin_id = await add_member(db, tenant, "admin@example.com", "admin")
    viewer_id = await add_member(db, tenant, "viewer@example.com", "viewer")
    owner = await login_headers(client, tenant.email)
    admin = await login_headers(client, "admin@example.com")
    viewer = await login_headers(client, "viewer@example.com")
    base = f"/api/workspaces/{tenant.workspace_id}"
    members = (await client.get(f"{base}/members", headers=viewer)).json()
    assert [m["role"] for m in members] == ["owner", "admin", "viewer"]
    # Viewers read but never write.
    denied = await client.patch(f"{base}", json={"name": "x"}, headers=viewer)
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    # Admins manage roles but not the owner, and cannot delete the workspace.
    promoted = await client.patch(
        f"{base}/members/{viewer_id}", json={"role": "admin"}, headers=admin
    )
    assert promoted.json()["role"] == "admin"
    as_owner = await client.patch(
        f"{base}/members/{tenant.user_id}", json={"role": "viewer"}, headers=admin
    )
    assert as_owner.status_code == 409
    to_owner = await client.patch(
        f"{base}/members/{viewer_id}", json={"role": "owner"}, headers=owner
    )
    assert to_owner.status_code == 422 and to_owner.json()["fields"] == ["role"]
    assert (await client.delete(base, headers=admin)).status_code == 403
    # Ownership moves by transfer; exactly one owner remains.
    not_owner = await client.post(
        f"{base}/transfer-ownership", json={"user_id": admin_id}, headers=admin
    )
    assert not_owner.status_code == 403
    moved = await client.post(
        f"{base}/transfer-ownership", json={"user_id": admin_id}, headers=owner
    )
    assert moved.status_code == 200 and moved.json()["role"] == "owner"
    roles = {
        m["user_id"]: m["role"] for m in (await client.get(f"{base}/members", headers=owner)).json()
    }
    assert roles == {tenant.user_id: "admin", admin_id: "owner", viewer_id: "admin"}
    # The owner cannot be removed; others can, and anyone can leave.
    assert (await client.delete(f"{base}/members/{admin_id}", headers=owner)).status_code == 409
    assert (await client.delete(f"{base}/members/{viewer_id}", headers=viewer)).status_code == 204
    assert (await client.get(base, headers=viewer)).status_code == 404
    gone = await client.delete(f"{base}/members/{viewer_id}", headers=owner)
    assert gone.status_code == 404


async def test_invites_shown_once_and_accepted_by_the_right_email(client, db) -> None:
    tenant = await make_tenant(db)
    await make_tenant(db, "guest@example.com", name="Guest's own")
    await make_tenant(db, "stranger@example.com", name="Stranger's own")
    owner = await login_headers(client, tenant.email)
    base = f"/api/workspaces/{tenant.workspace_id}"
    created = await client.post(
        f"{base}/invites", json={"email": "Guest@Example.com", "role": "admin"}, headers=owner
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    listed = (await client.get(f"{base}/invites", headers=owner)).json()
    assert [(i["email"], i["role"]) for i in listed] == [("guest@example.com", "admin")]
    assert "token" not in listed[0]
    stranger = await login_headers(client, "stranger@example.com")
    wrong = await client.post("/api/invites/accept", json={"token": token}, headers=stranger)
    assert wrong.status_code == 403
    guest = await login_headers(client, "guest@example.com")
    accepted = await client.post("/api/invites/accept", json={"token": token}, headers=guest)
    assert accepted.status_code == 200
    assert accepted.json()["id"] == tenant.workspace_id and accepted.json()["role"] == "admin"
    again = await client.post("/api/invites/accept", json={"token": token}, headers=guest)
    assert again.status_code == 404
    assert (await client.get(f"{base}/invites", headers=owner)).json() == []
    dup = await client.post(f"{base}/invites", json={"email": "guest@example.com"}, headers=owner)
    assert dup.status_code == 409


async def test_revoked_invite_cannot_be_accepted(client, db) -> None:
    tenant = await make_tenant(db)
    await make_tenant(db, "guest@example.com", name="Guest's own")
    owner = await login_headers(client, tenant.email)
    base = f"/api/workspaces/{tenant.workspace_id}"
    invite = (
        await client.post(f"{base}/invites", json={"email": "guest@example.com"}, headers=owner)
    ).json()
    assert (await client.delete(f"{base}/invites/{invite['id']}", headers=owner)).status_code == 204
    guest = await login_headers(client, "guest@example.com")
    response = await client.post(
        "/api/invites/accept", json={"token": invite["token"]}, headers=guest
    )
    assert response.status_code == 404


async def test_status_reports_connections_freshness_and_attribution(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    url = f"/api/workspaces/{tenant.workspace_id}/status"
    empty = (await client.get(url, headers=h)).json()
    assert empty == {
        "connected_platforms": [],
        "has_shopify": False,
        "attribution_ready": False,
        "connections": [],
        "freshness": {"last_success_at": None, "latest_event_date": None},
    }
    success = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    async with db.transaction() as session:
        meta = Connection(
            workspace_id=tenant.workspace_id,
            provider="meta",
            external_account_id="act_1",
            name="Meta",
            last_success_at=success,
            next_sync_at=success + timedelta(minutes=15),
        )
        shop = Connection(
            workspace_id=tenant.workspace_id,
            provider="shopify",
            external_account_id="shop",
            name="Shop",
        )
        session.add_all([meta, shop])
        await session.flush()
        session.add_all(
            [
                SyncRun(
                    workspace_id=tenant.workspace_id,
                    connection_id=meta.id,
                    kind="sync",
                    status="failed",
                    counters={"chunks": 1, "retry": True},
                    created_at=datetime(2026, 11, 26, tzinfo=UTC),
                ),
                SyncRun(
                    workspace_id=tenant.workspace_id,
                    connection_id=meta.id,
                    kind="sync",
                    status="succeeded",
                    rows_written=42,
                    counters={"chunks": 13, "facts_written": 42},
                    created_at=success,
                ),
                DailyRollup(
                    workspace_id=tenant.workspace_id, event_date=date(2026, 11, 26), provider="meta"
                ),
                PixelEvent(
                    workspace_id=tenant.workspace_id,
                    event_id="e1",
                    visitor_id="v1",
                    event_name="page_view",
                    occurred_at=success,
                ),
            ]
        )
    status = (await client.get(url, headers=h)).json()
    assert status["connected_platforms"] == ["meta", "shopify"]
    assert status["has_shopify"] is True
    assert status["attribution_ready"] is True
    by_provider = {c["provider"]: c for c in status["connections"]}
    assert by_provider["meta"]["last_run"]["status"] == "succeeded"
    assert by_provider["meta"]["last_run"]["rows_written"] == 42
    assert by_provider["shopify"]["last_run"] is None
    # The next scheduled sync and the latest run's counters (not an older run's).
    assert by_provider["meta"]["next_sync_at"].startswith("2026-11-27T10:15")
    assert by_provider["meta"]["last_run"]["counters"] == {"chunks": 13, "facts_written": 42}
    assert by_provider["shopify"]["next_sync_at"] is None
    assert status["freshness"]["latest_event_date"] == "2026-11-26"
    assert status["freshness"]["last_success_at"].startswith("2026-11-27T10:00")


async def test_deleting_a_workspace_cascades(client, db) -> None:
    from sqlalchemy import func, select

    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    async with db.transaction() as session:
        session.add(
            Connection(
                workspace_id=tenant.workspace_id, provider="meta", external_account_id="a", name="M"
            )
        )
    assert (
        await client.delete(f"/api/workspaces/{tenant.workspace_id}", headers=h)
    ).status_code == 204
    async with db.transaction() as session:
        for model in (Connection, Membership):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
        assert await repository.list_for_user(session, tenant.user_id) == []
