"""Tenant isolation matrix: every route with `{workspace_id}` in its path, called by outsiders.

How it works
------------
`workspace_routes()` walks `app.routes` and finds every (method, path) whose path contains
`{workspace_id}`. Each must have an entry in `MATRIX` below, or
`test_every_workspace_route_is_in_the_matrix` fails naming it (a stale entry fails too).
For each entry, on a fresh world (a target workspace with an owner, an admin, a viewer and
an extra member; an outsider who owns another workspace), the route is called:

1. as the outsider: must be 404, byte-for-byte the answer for a workspace that does not
   exist, with no trace of the target's data (its names and emails carry a marker);
2. as every target role below `min_role`: must be 403 (`forbidden`);
3. as the viewer when `min_role` is viewer: must be 2xx;
4. as the owner: must answer `owner_status` (any 2xx by default), which proves the entry's
   params and body are valid, so the 404s above come from tenancy and not from bad input.
Calls 1 and 2 must leave the target's fingerprint (settings, members, invites) unchanged.

Adding your route
-----------------
Add one line to `MATRIX`: `("METHOD", "/api/workspaces/{workspace_id}/..."): Case(...)`.

- `params`: the other path parameters, mapped to a key of `World.ids`, e.g.
  `{"user_id": "member_id"}`, or `lambda w: ...` for a literal (`lambda w: "meta"`).
  Ids in the world: workspace_id, other_workspace_id, owner_id, admin_id, viewer_id,
  member_id, invite_id, connection_id, entity_id (+ whatever you seed).
- `body` / `query`: a JSON body and query parameters, literal or `lambda w: {...}` of the
  `World` (use `w.ids[...]`). Give values that succeed for the owner.
- `min_role`: the least role allowed; defaults to viewer for GET and admin for writes.
- `owner_status`: the owner's expected status when it is not simply "a 2xx".
- `auth="cookie"`: call with the session cookie + CSRF header (web pages) instead of Bearer.
- Need more rows? Append an async `seed(session, world)` to `SEEDERS` that adds rows to the
  target workspace and records their ids in `world.ids`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Mount

from metricx.auth.csrf import CSRF_COOKIE, CSRF_HEADER, csrf_token_for
from metricx.auth.passwords import hash_password
from metricx.auth.service import start_session
from metricx.config import Settings
from metricx.connections.oauth import issue_grant
from metricx.connections.oauth_providers import Account
from metricx.main import create_app
from metricx.models import (
    Connection,
    DailyRollup,
    Entity,
    Invite,
    Membership,
    MetricFact,
    User,
    Workspace,
    utcnow,
)
from metricx.workspaces.service import create_workspace

Role = Literal["viewer", "admin", "owner"]
RANK = {"viewer": 0, "admin": 1, "owner": 2}
MARKER = "TGTSECRET"  # in every target name and email; must never reach an outsider
MISSING_WORKSPACE_ID = 2**62
CALL_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Case:
    """How to call one workspace-scoped route (see the module docstring)."""

    params: Mapping[str, str | Callable[[World], Any]] = field(default_factory=dict)
    body: Any = None
    query: Any = None
    min_role: Role | None = None
    owner_status: int | None = None
    auth: Literal["bearer", "cookie"] = "bearer"
    files: Any = None


@dataclass
class World:
    """The target workspace, its people and rows, and an outsider."""

    ids: dict[str, int]
    tokens: dict[str, str]


W = "/api/workspaces/{workspace_id}"
CSV_FILE = (
    "date,platform,campaign_id,campaign_name,spend,impressions,clicks,conversions,revenue\n"
    "2026-01-05,meta,c9,Imported,12.50,1000,20,1,40.00\n"
)

MATRIX: dict[tuple[str, str], Case] = {
    # workspaces
    ("GET", W): Case(),
    ("PATCH", W): Case(body={"name": f"Renamed {MARKER}", "timezone": "Europe/Paris"}),
    ("DELETE", W): Case(min_role="owner"),
    ("GET", W + "/status"): Case(),
    # members
    ("GET", W + "/members"): Case(),
    # Cookie mode here keeps the matrix's cookie+CSRF path (used by web pages) exercised.
    ("PATCH", W + "/members/{user_id}"): Case(
        params={"user_id": "member_id"}, body={"role": "admin"}, auth="cookie"
    ),
    ("DELETE", W + "/members/{user_id}"): Case(params={"user_id": "member_id"}),
    ("POST", W + "/transfer-ownership"): Case(
        min_role="owner", body=lambda w: {"user_id": w.ids["member_id"]}
    ),
    # invites
    ("GET", W + "/invites"): Case(min_role="admin"),
    ("POST", W + "/invites"): Case(body={"email": "new@example.com", "role": "viewer"}),
    ("DELETE", W + "/invites/{invite_id}"): Case(params={"invite_id": "invite_id"}),
    # dashboard, KPI widgets, entity performance: reads (POST /kpis only computes)
    ("GET", W + "/dashboard"): Case(query={"timeframe": "last_7_days"}),
    ("GET", W + "/dashboard/kpis"): Case(query={"metrics": "spend,roas"}),
    ("POST", W + "/kpis"): Case(
        min_role="viewer", body={"metrics": ["spend", "roas"], "timeframe": "last_7_days"}
    ),
    ("GET", W + "/entities"): Case(
        query=lambda w: {"level": "ad", "parent_id": w.ids["entity_id"]}
    ),
    ("GET", W + "/export.csv"): Case(query={"level": "campaign"}),
    # questions and insights: reads, a question only computes
    ("POST", W + "/questions"): Case(
        min_role="viewer", body={"question": "what was my spend last week?"}
    ),
    ("GET", W + "/questions/history"): Case(),
    ("GET", W + "/insights"): Case(query={"timeframe": "last_7_days"}),
    # attribution
    ("GET", W + "/attribution/summary"): Case(query={"timeframe": "last_7_days"}),
    ("GET", W + "/attribution/feed"): Case(query={"limit": 5}),
    ("GET", W + "/attribution/campaigns"): Case(query={"timeframe": "last_30_days"}),
    ("GET", W + "/attribution/warnings"): Case(query={"timeframe": "last_30_days"}),
    ("GET", W + "/pixel/health"): Case(),
    ("PATCH", W + "/attribution/settings"): Case(body={"model": "linear", "window_days": 14}),
    # connections and syncs
    ("GET", W + "/connections"): Case(),
    ("POST", W + "/connections"): Case(
        body={
            "provider": "meta",
            "external_account_id": "act_999",
            "credentials": {"access_token": "secret-token"},
        }
    ),
    ("GET", W + "/connections/{connection_id}"): Case(params={"connection_id": "connection_id"}),
    ("PATCH", W + "/connections/{connection_id}"): Case(
        params={"connection_id": "connection_id"}, body={"sync_frequency_minutes": 60}
    ),
    ("DELETE", W + "/connections/{connection_id}"): Case(params={"connection_id": "connection_id"}),
    ("POST", W + "/connections/{connection_id}/sync"): Case(
        params={"connection_id": "connection_id"}, body={}
    ),
    ("POST", W + "/connections/{connection_id}/import"): Case(
        params={"connection_id": "csv_connection_id"},
        files={"file": ("ads.csv", CSV_FILE.encode(), "text/csv")},
    ),
    # OAuth connect: no provider app is configured in tests, so starting is the typed 409
    # (after tenancy and the admin check); the picker takes a grant minted for the owner.
    ("POST", W + "/connections/oauth/{provider}/start"): Case(
        params={"provider": lambda w: "shopify"},
        body={"shop_domain": "tgt-shop.myshopify.com"},
        owner_status=409,
    ),
    ("GET", W + "/connections/oauth/accounts"): Case(
        min_role="admin", query=lambda w: {"grant": owner_grant(w)}
    ),
    ("POST", W + "/connections/oauth/accounts"): Case(
        body=lambda w: {"grant": owner_grant(w), "account_ids": ["tgt-shop.myshopify.com"]}
    ),
    # web pages (cookie sessions)
    ("GET", "/w/{workspace_id}"): Case(auth="cookie"),
    ("GET", "/w/{workspace_id}/campaigns"): Case(auth="cookie"),
    ("GET", "/w/{workspace_id}/ask"): Case(auth="cookie"),
    ("GET", "/w/{workspace_id}/settings"): Case(auth="cookie"),
}


def owner_grant(world: World) -> str:
    """A Shopify OAuth grant of the target's owner (no provider call is needed to use it)."""
    return issue_grant(
        Settings(env="test", database_url="sqlite+aiosqlite:///:memory:"),
        workspace_id=world.ids["workspace_id"],
        user_id=world.ids["owner_id"],
        provider="shopify",
        tokens={"access_token": "shpat_matrix"},
        accounts=[Account(id="tgt-shop.myshopify.com", name="Shop")],
    )


# --- the world ----------------------------------------------------------------------

Seeder = Callable[[AsyncSession, World], Awaitable[None]]


async def seed_invite(session: AsyncSession, world: World) -> None:
    """A pending invite in the target."""
    invite = Invite(
        workspace_id=world.ids["workspace_id"],
        email=f"invitee-{MARKER.lower()}@example.com",
        role="viewer",
        token_hash="0" * 64,
        invited_by=world.ids["owner_id"],
        expires_at=utcnow() + timedelta(days=1),
    )
    session.add(invite)
    await session.flush()
    world.ids["invite_id"] = invite.id


async def seed_ads(session: AsyncSession, world: World) -> None:
    """A connection, an entity and one day of facts in the target."""
    ws = world.ids["workspace_id"]
    connection = Connection(
        workspace_id=ws, provider="meta", external_account_id="act_1", name=f"Meta {MARKER}"
    )
    session.add(connection)
    await session.flush()
    entity = Entity(
        workspace_id=ws,
        connection_id=connection.id,
        provider="meta",
        level="campaign",
        external_id="c1",
        name=f"Campaign {MARKER}",
        status="active",
    )
    session.add(entity)
    await session.flush()
    day = date.today() - timedelta(days=1)
    session.add(
        MetricFact(
            entity_id=entity.id,
            event_date=day,
            workspace_id=ws,
            connection_id=connection.id,
            provider="meta",
            spend_micros=12_340_000,
            revenue_micros=45_670_000,
            impressions=1000,
            clicks=10,
            conversions=2,
        )
    )
    session.add(
        DailyRollup(
            workspace_id=ws,
            event_date=day,
            provider="meta",
            spend_micros=12_340_000,
            impressions=1000,
            clicks=10,
        )
    )
    await session.flush()
    world.ids["connection_id"] = connection.id
    world.ids["entity_id"] = entity.id


async def seed_csv_connection(session: AsyncSession, world: World) -> None:
    """A CSV connection in the target, for the file import route."""
    connection = Connection(
        workspace_id=world.ids["workspace_id"],
        provider="csv",
        external_account_id="csv-1",
        name=f"CSV {MARKER}",
    )
    session.add(connection)
    await session.flush()
    world.ids["csv_connection_id"] = connection.id


SEEDERS: list[Seeder] = [seed_invite, seed_ads, seed_csv_connection]


_PASSWORD_HASH: list[str] = []


async def build_world(db, settings: Settings) -> World:  # type: ignore[no-untyped-def]
    """Create the target workspace with four members, an outsider, and the seeded rows."""
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(await hash_password("irrelevant password"))
    world = World(ids={}, tokens={})
    async with db.transaction() as session:
        users = {}
        for role in ("owner", "admin", "viewer", "member", "outsider"):
            tag = "outsider" if role == "outsider" else f"{role}-{MARKER.lower()}"
            users[role] = User(
                email=f"{tag}@example.com", name=tag, password_hash=_PASSWORD_HASH[0]
            )
            session.add(users[role])
        await session.flush()
        target = await create_workspace(session, users["owner"], name=f"Target {MARKER}")
        other = await create_workspace(session, users["outsider"], name="Outsider's own")
        for role, member_role in (("admin", "admin"), ("viewer", "viewer"), ("member", "viewer")):
            session.add(
                Membership(workspace_id=target.id, user_id=users[role].id, role=member_role)
            )
        await session.flush()
        world.ids.update(
            workspace_id=target.id,
            other_workspace_id=other.id,
            **{f"{role}_id": user.id for role, user in users.items()},
        )
        for seed in SEEDERS:
            await seed(session, world)
        for role, user in users.items():
            world.tokens[role] = await start_session(session, settings, user)
    return world


async def fingerprint(db, workspace_id: int) -> tuple:  # type: ignore[no-untyped-def]
    """What a denied call must not change."""
    async with db.transaction() as session:
        ws = await session.get(Workspace, workspace_id)
        members = (
            await session.execute(
                select(Membership.user_id, Membership.role)
                .where(Membership.workspace_id == workspace_id)
                .order_by(Membership.user_id)
            )
        ).all()
        invites = await session.scalar(
            select(func.count()).select_from(Invite).where(Invite.workspace_id == workspace_id)
        )
        settings = (ws.name, ws.timezone, ws.currency, ws.data_version) if ws else None
        return settings, [tuple(m) for m in members], invites


# --- discovery ----------------------------------------------------------------------


def _flatten(routes: Any, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every endpoint, through included routers and mounts."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI's lazily included routers
            for ctx in route.effective_route_contexts():
                yield prefix + ctx.path, set(ctx.methods or ())
        elif isinstance(route, Mount):
            yield from _flatten(route.routes or (), prefix + route.path)
        else:
            yield prefix + getattr(route, "path", ""), set(getattr(route, "methods", None) or ())


def workspace_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, path) of the app whose path is scoped by `{workspace_id}`."""
    return {
        (method, path)
        for path, methods in _flatten(app.routes)
        if "{workspace_id" in path
        for method in methods
        if method != "HEAD"
    }


def _discovered() -> set[tuple[str, str]]:
    settings = Settings(env="test", database_url="sqlite+aiosqlite:///:memory:")
    return workspace_routes(create_app(settings))


def test_every_workspace_route_is_in_the_matrix() -> None:
    discovered = _discovered()
    missing = sorted(discovered - MATRIX.keys())
    stale = sorted(MATRIX.keys() - discovered)
    assert not missing, (
        "workspace-scoped routes missing from MATRIX in tests/security/test_isolation_matrix.py "
        f"(add one Case per route): {missing}"
    )
    assert not stale, f"MATRIX entries for routes that no longer exist: {stale}"


# --- the matrix -----------------------------------------------------------------------


def _resolve(value: Any, world: World) -> Any:
    return value(world) if callable(value) else value


def _path_values(case: Case, world: World) -> dict[str, Any]:
    return {
        name: key(world) if callable(key) else world.ids[key] for name, key in case.params.items()
    }


async def call(
    client: httpx.AsyncClient,
    app,  # type: ignore[no-untyped-def]
    method: str,
    template: str,
    case: Case,
    world: World,
    who: str,
    workspace_id: int | None = None,
) -> httpx.Response:
    """Send the case's request as `who` (a key of world.tokens)."""
    values = _path_values(case, world)
    values["workspace_id"] = workspace_id or world.ids["workspace_id"]
    url = template.format(**values)
    token = world.tokens[who]
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if case.auth == "cookie":
        csrf = csrf_token_for(app.state.settings.secret, token)
        cookies = {"mx_session": token, CSRF_COOKIE: csrf}
        headers[CSRF_HEADER] = csrf
    else:
        headers["Authorization"] = f"Bearer {token}"
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    body = _resolve(case.body, world)
    # Bounded so an endless stream (SSE) fails the test instead of hanging it.
    return await asyncio.wait_for(
        client.request(
            method,
            url,
            headers=headers,
            params=_resolve(case.query, world),
            files=case.files,
            json=(
                body
                if case.files is None and (body is not None or method in ("POST", "PUT", "PATCH"))
                else None
            ),
        ),
        timeout=CALL_TIMEOUT_SECONDS,
    )


def _min_role(method: str, case: Case) -> Role:
    if case.min_role is not None:
        return case.min_role
    return "viewer" if method == "GET" else "admin"


@pytest.mark.parametrize(("method", "template"), sorted(MATRIX), ids=lambda v: str(v))
async def test_workspace_route_isolation(client, app, db, method: str, template: str) -> None:
    if (method, template) not in _DISCOVERED:
        pytest.skip("route not in this app (the coverage test reports it)")
    case = MATRIX[(method, template)]
    world = await build_world(db, app.state.settings)
    before = await fingerprint(db, world.ids["workspace_id"])
    label = f"{method} {template}"

    # 1. A member of another workspace: 404, exactly like a workspace that does not exist.
    foreign = await call(client, app, method, template, case, world, "outsider")
    missing = await call(
        client, app, method, template, case, world, "outsider", MISSING_WORKSPACE_ID
    )
    assert foreign.status_code == 404, f"{label} as outsider: {foreign.status_code} {foreign.text}"
    assert foreign.content == missing.content, f"{label}: foreign and missing 404s differ"
    assert MARKER.lower() not in foreign.text.lower(), f"{label} leaked target data"
    assert await fingerprint(db, world.ids["workspace_id"]) == before, f"{label} changed data"

    # 2. Roles below the minimum: 403 and no change; the viewer reads when allowed.
    needed = _min_role(method, case)
    for who in ("viewer", "admin"):
        if RANK[who] < RANK[needed]:
            response = await call(client, app, method, template, case, world, who)
            assert response.status_code == 403, f"{label} as {who}: {response.status_code}"
            assert response.json()["error"] == "forbidden"
            assert await fingerprint(db, world.ids["workspace_id"]) == before, label
        elif who == "viewer":
            response = await call(client, app, method, template, case, world, who)
            assert response.is_success, f"{label} as viewer: {response.status_code} {response.text}"

    # 3. The owner succeeds, which proves the entry's params and body are valid.
    owned = await call(client, app, method, template, case, world, "owner")
    if case.owner_status is None:
        assert owned.is_success, f"{label} as owner: {owned.status_code} {owned.text}"
    else:
        assert owned.status_code == case.owner_status, f"{label} as owner: {owned.status_code}"


_DISCOVERED = _discovered()


WRITE_ROUTES = sorted(key for key in MATRIX if key[0] in ("POST", "PUT", "PATCH", "DELETE"))


@pytest.mark.parametrize(("method", "template"), WRITE_ROUTES, ids=lambda v: str(v))
async def test_cookie_writes_need_csrf(client, app, db, method: str, template: str) -> None:
    """Every workspace-scoped write, authenticated by the session cookie, needs the CSRF token."""
    if (method, template) not in _DISCOVERED:
        pytest.skip("route not in this app (the coverage test reports it)")
    case = MATRIX[(method, template)]
    world = await build_world(db, app.state.settings)
    before = await fingerprint(db, world.ids["workspace_id"])
    values = _path_values(case, world)
    url = template.format(workspace_id=world.ids["workspace_id"], **values)
    client.cookies.clear()
    client.cookies.set("mx_session", world.tokens["owner"])
    body = _resolve(case.body, world)
    response = await client.request(
        method,
        url,
        files=case.files,
        json=body if case.files is None and (body is not None or method != "DELETE") else None,
    )
    assert response.status_code == 403, f"{method} {template}: {response.status_code}"
    assert response.json()["error"] == "csrf_failed"
    assert await fingerprint(db, world.ids["workspace_id"]) == before
