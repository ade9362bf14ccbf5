"""Personal API tokens, password reset and sign-in rate limits."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from tests.factories import PASSWORD, login_headers, make_tenant

NEW_PASSWORD = "a much better passphrase"


async def _client(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


# --- API tokens ---------------------------------------------------------------


async def test_api_token_is_shown_once_and_authenticates(client, db) -> None:
    tenant = await make_tenant(db)
    headers = await login_headers(client, tenant.email)
    created = await client.post("/api/auth/tokens", json={"name": "ci"}, headers=headers)
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("mxt_")
    listed = await client.get("/api/auth/tokens", headers=headers)
    assert [t["name"] for t in listed.json()] == ["ci"]
    assert "token" not in listed.json()[0]
    bearer = {"Authorization": f"Bearer {secret}"}
    me = await client.get("/api/auth/me", headers=bearer)
    assert me.status_code == 200 and me.json()["id"] == tenant.user_id
    ws = await client.get(f"/api/workspaces/{tenant.workspace_id}", headers=bearer)
    assert ws.status_code == 200
    # A script token cannot mint tokens or change the password.
    minted = await client.post("/api/auth/tokens", json={"name": "x"}, headers=bearer)
    assert minted.status_code == 403
    revoked = await client.delete(f"/api/auth/tokens/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/auth/me", headers=bearer)).status_code == 401
    again = await client.delete(f"/api/auth/tokens/{created.json()['id']}", headers=headers)
    assert again.status_code == 404


async def test_another_users_token_cannot_be_revoked(client, db) -> None:
    await make_tenant(db, "a@example.com")
    await make_tenant(db, "b@example.com")
    a = await login_headers(client, "a@example.com")
    b = await login_headers(client, "b@example.com")
    token = (await client.post("/api/auth/tokens", json={"name": "a"}, headers=a)).json()
    assert (await client.delete(f"/api/auth/tokens/{token['id']}", headers=b)).status_code == 404
    assert (await client.get("/api/auth/tokens", headers=b)).json() == []


# --- password reset -------------------------------------------------------------


def _reset_token(logs: list[dict]) -> str:
    link = next(e["link"] for e in logs if e["event"] == "auth.password_reset_link")
    return link.split("t=", 1)[1]


async def test_reset_is_single_use_and_answers_the_same_for_unknown_emails(client, db) -> None:
    await make_tenant(db)
    old_session = await login_headers(client, "owner@example.com")
    with capture_logs() as logs:
        known = await client.post("/api/auth/password-reset", json={"email": "owner@example.com"})
        unknown = await client.post("/api/auth/password-reset", json={"email": "no@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    token = _reset_token(logs)
    body = {"token": token, "new_password": NEW_PASSWORD}
    done = await client.post("/api/auth/password-reset/confirm", json=body)
    assert done.status_code == 204
    reused = await client.post("/api/auth/password-reset/confirm", json=body)
    assert reused.status_code == 422
    assert reused.json()["fields"] == ["token"]
    assert (await client.get("/api/auth/me", headers=old_session)).status_code == 401
    await login_headers(client, "owner@example.com", NEW_PASSWORD)


async def test_reset_token_expires_and_forgeries_fail(client, db) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from metricx.models import PasswordResetToken, utcnow

    await make_tenant(db)
    with capture_logs() as logs:
        await client.post("/api/auth/password-reset", json={"email": "owner@example.com"})
    token = _reset_token(logs)
    async with db.transaction() as session:
        await session.execute(
            update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 422
    forged = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": "mxr_abc.def", "new_password": NEW_PASSWORD},
    )
    assert forged.status_code == 422


async def test_production_never_logs_the_reset_token(app_factory, db) -> None:
    await make_tenant(db)
    app = await app_factory(env="production", secret_key="p" * 48, log_level="INFO")
    async with await _client(app) as c:
        with capture_logs() as logs:
            response = await c.post("/api/auth/password-reset", json={"email": "owner@example.com"})
    assert response.status_code == 202
    assert "mxr_" not in repr(logs)
    assert any(e["event"] == "auth.password_reset_requested" for e in logs)


# --- rate limits ------------------------------------------------------------------


async def _hammer(c: httpx.AsyncClient, email: str, times: int) -> list[httpx.Response]:
    return [
        await c.post("/api/auth/login", json={"email": email, "password": "wrong"})
        for _ in range(times)
    ]


async def test_login_is_limited_per_email_in_memory(app_factory, db) -> None:
    await make_tenant(db)
    app = await app_factory(login_rate_limit=3)
    async with await _client(app) as c:
        responses = await _hammer(c, "owner@example.com", 4)
        assert [r.status_code for r in responses] == [401, 401, 401, 429]
        assert int(responses[-1].headers["retry-after"]) > 0
        assert responses[-1].json()["error"] == "rate_limited"
        # Even the right password waits: the limit is checked before the password.
        right = await c.post(
            "/api/auth/login", json={"email": "owner@example.com", "password": PASSWORD}
        )
        assert right.status_code == 429
        # Another email from the same IP is still allowed (the IP allowance is larger).
        other = await c.post("/api/auth/login", json={"email": "x@example.com", "password": "no"})
        assert other.status_code == 401


async def test_login_is_limited_per_ip(app_factory, db) -> None:
    app = await app_factory(login_rate_limit=2)
    async with await _client(app) as c:
        statuses = [
            (
                await c.post(
                    "/api/auth/login", json={"email": f"u{i}@example.com", "password": "no"}
                )
            ).status_code
            for i in range(11)
        ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


async def test_login_limit_is_shared_through_redis(app_factory, db, redis_url) -> None:
    await make_tenant(db)
    first = await app_factory(login_rate_limit=2, redis_url=redis_url)
    second = await app_factory(login_rate_limit=2, redis_url=redis_url)
    async with await _client(first) as a, await _client(second) as b:
        await _hammer(a, "owner@example.com", 2)
        (blocked,) = await _hammer(b, "owner@example.com", 1)
    assert blocked.status_code == 429
    assert first.state.rate_limiter.backend == "redis"


async def test_redis_down_neither_locks_out_nor_fails(app_factory, db) -> None:
    await make_tenant(db)
    app = await app_factory(login_rate_limit=3, redis_url="redis://127.0.0.1:1/0")
    async with await _client(app) as c:
        ok = await c.post(
            "/api/auth/login", json={"email": "owner@example.com", "password": PASSWORD}
        )
        assert ok.status_code == 200
        statuses = [r.status_code for r in await _hammer(c, "owner@example.com", 4)]
    # The local fallback still limits; nothing is a 500.
    assert statuses == [401, 401, 401, 429]
