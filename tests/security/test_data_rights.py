"""Data rights: deleting a workspace or an account leaves nothing of it in any table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Table, func, insert, select

from metricx.models import (
    ApiToken,
    AuthSession,
    Base,
    Connection,
    Invite,
    Journey,
    Membership,
    PasswordResetToken,
    QaLog,
    User,
    Workspace,
)
from tests.factories import PASSWORD, login_headers, make_tenant
from tests.web.payload_fixture import load_demo_tenant

NOW = datetime.now(UTC)
WORKSPACE_TABLES = [t for t in Base.metadata.sorted_tables if "workspace_id" in t.c]


async def _fill_the_rest(db, workspace_id: int, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """Rows in the workspace tables the demo data leaves empty."""
    async with db.transaction() as s:

        async def add(table: str, **values: object) -> int | None:
            t: Table = Base.metadata.tables[table]
            result = await s.execute(insert(t).values(workspace_id=workspace_id, **values))
            pk = result.inserted_primary_key
            return pk[0] if pk else None

        conn_id = await s.scalar(
            select(Connection.id).where(Connection.workspace_id == workspace_id).limit(1)
        )
        await add(
            "invites",
            email="invitee@example.com",
            role="viewer",
            token_hash="f" * 64,
            expires_at=NOW + timedelta(days=1),
        )
        journey = await add("journeys", visitor_id="v-del", first_seen_at=NOW, last_seen_at=NOW)
        await add("touchpoints", journey_id=journey, occurred_at=NOW, channel="direct")
        await add(
            "manual_costs",
            name="Agency",
            start_date=date(2026, 1, 1),
            end_date=date(2026, 1, 31),
            amount_micros=1_000_000,
        )
        await add(
            "pixel_events",
            event_id="e-del",
            visitor_id="v-del",
            event_name="page_viewed",
            occurred_at=NOW,
            data={},
        )
        await add("qa_logs", question="spend?", engine="rules", user_id=user_id)
        await add("webhook_deliveries", webhook_id="wh-del", topic="orders/create", shop_domain="s")
        await add("sync_runs", kind="sync", connection_id=conn_id)


async def _counts(db, workspace_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        return {
            t.name: int(
                await s.scalar(
                    select(func.count()).select_from(t).where(t.c.workspace_id == workspace_id)
                )
                or 0
            )
            for t in WORKSPACE_TABLES
        }


async def _orphans(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows whose foreign key points at a row that no longer exists, per table.column."""
    found: dict[str, int] = {}
    async with db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                parent = fk.column
                n = await s.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(
                        fk.parent.is_not(None),
                        ~select(parent).where(parent == fk.parent).exists(),
                    )
                )
                if n:
                    found[f"{table.name}.{fk.parent.name}"] = int(n)
    return found


async def test_deleting_a_workspace_removes_its_rows_from_every_table(client, db) -> None:
    demo = await load_demo_tenant(db)
    await _fill_the_rest(db, demo.workspace_id, demo.user_id)
    bystander = await make_tenant(db, "bystander@example.com")
    await _fill_bystander(db, bystander.workspace_id)
    before = await _counts(db, demo.workspace_id)
    empty = sorted(name for name, n in before.items() if n == 0)
    # Every workspace table holds target rows, so "none left" below proves something.
    assert not empty, f"seed rows for these workspace tables in this test: {empty}"
    others = await _counts(db, bystander.workspace_id)

    h = await login_headers(client, demo.email, demo.password)
    gone = await client.delete(f"/api/workspaces/{demo.workspace_id}", headers=h)
    assert gone.status_code == 204, gone.text

    left = {name: n for name, n in (await _counts(db, demo.workspace_id)).items() if n}
    assert not left, f"rows of the deleted workspace left behind: {left}"
    assert await _orphans(db) == {}
    async with db.transaction() as s:
        assert await s.get(Workspace, demo.workspace_id) is None
        assert await s.get(User, demo.user_id) is not None  # the person stays
    assert await _counts(db, bystander.workspace_id) == others  # nobody else lost anything


async def _fill_bystander(db, workspace_id: int) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        s.add(
            Connection(
                workspace_id=workspace_id, provider="meta", external_account_id="b", name="B"
            )
        )
        s.add(
            Journey(
                workspace_id=workspace_id, visitor_id="v-b", first_seen_at=NOW, last_seen_at=NOW
            )
        )


async def _user_rows(db, user_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db.transaction() as s:
        out = {}
        for model in (AuthSession, ApiToken, PasswordResetToken, Membership):
            out[model.__tablename__] = int(
                await s.scalar(
                    select(func.count()).select_from(model).where(model.user_id == user_id)
                )
                or 0
            )
        return out


async def test_deleting_an_account_removes_the_users_data(client, db) -> None:
    alice = await make_tenant(db, "alice@example.com", name="Alice solo")
    bob = await make_tenant(db, "bob@example.com", name="Bob's shop")
    async with db.transaction() as s:
        s.add(Membership(workspace_id=bob.workspace_id, user_id=alice.user_id, role="viewer"))
        s.add(
            Connection(
                workspace_id=alice.workspace_id, provider="meta", external_account_id="a", name="A"
            )
        )
        s.add(QaLog(workspace_id=bob.workspace_id, user_id=alice.user_id, question="q", engine="x"))
        s.add(
            Invite(
                workspace_id=bob.workspace_id,
                email="alice@example.com",
                role="admin",
                token_hash="a" * 64,
                expires_at=NOW + timedelta(days=1),
            )
        )
        s.add(
            PasswordResetToken(
                user_id=alice.user_id, token_hash="b" * 64, expires_at=NOW + timedelta(hours=1)
            )
        )
    h = await login_headers(client, alice.email)
    other_session = await login_headers(client, alice.email)
    token = (await client.post("/api/auth/tokens", json={"name": "t"}, headers=h)).json()["token"]
    assert all(n > 0 for n in (await _user_rows(db, alice.user_id)).values())

    wrong = await client.request("DELETE", "/api/auth/me", json={"password": "nope"}, headers=h)
    assert wrong.status_code == 422 and wrong.json()["fields"] == ["password"]
    bearer = {"Authorization": f"Bearer {token}"}
    scripted = await client.request(
        "DELETE", "/api/auth/me", json={"password": PASSWORD}, headers=bearer
    )
    assert scripted.status_code == 403  # an API token cannot delete the account

    done = await client.request("DELETE", "/api/auth/me", json={"password": PASSWORD}, headers=h)
    assert done.status_code == 204, done.text
    assert await _user_rows(db, alice.user_id) == {
        "auth_sessions": 0,
        "api_tokens": 0,
        "password_reset_tokens": 0,
        "memberships": 0,
    }
    for dead in (h, other_session, bearer):
        assert (await client.get("/api/auth/me", headers=dead)).status_code == 401
    async with db.transaction() as s:
        assert await s.get(User, alice.user_id) is None
        # Her solo workspace went with her, with its data; Bob's stays, without her.
        assert await s.get(Workspace, alice.workspace_id) is None
        assert await s.get(Workspace, bob.workspace_id) is not None
        assert await s.scalar(select(func.count()).select_from(Invite)) == 0
        log = await s.scalar(select(QaLog))
        assert log is not None and log.user_id is None
    assert not any((await _counts(db, alice.workspace_id)).values())
    assert await _orphans(db) == {}
    relogin = await client.post(
        "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
    )
    assert relogin.status_code == 401


async def test_an_owner_of_a_shared_workspace_must_hand_it_over_first(client, db) -> None:
    owner = await make_tenant(db, "owner@example.com", name="Shared shop")
    viewer = await make_tenant(db, "viewer@example.com")
    async with db.transaction() as s:
        s.add(Membership(workspace_id=owner.workspace_id, user_id=viewer.user_id, role="viewer"))
    h = await login_headers(client, owner.email)
    refused = await client.request("DELETE", "/api/auth/me", json={"password": PASSWORD}, headers=h)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "owns_shared_workspaces" and body["fields"] == ["workspaces"]
    assert "Shared shop" in body["detail"]
    async with db.transaction() as s:
        assert await s.get(User, owner.user_id) is not None
        assert await s.get(Workspace, owner.workspace_id) is not None
    assert (await client.get("/api/auth/me", headers=h)).status_code == 200
