"""Auth promises of issue 9 not covered elsewhere: what dies with a password change,
session expiry, the reset limit, constant-time comparisons and no user enumeration."""

from __future__ import annotations

import hmac
import statistics
import time
from datetime import timedelta

import httpx
from argon2 import PasswordHasher
from sqlalchemy import update
from structlog.testing import capture_logs

from metricx.auth import passwords
from metricx.models import AuthSession, utcnow
from tests.factories import PASSWORD, login_headers, make_tenant

NEW_PASSWORD = "a much better passphrase"


def _client(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def _api_token(client: httpx.AsyncClient, headers: dict) -> dict:
    created = await client.post("/api/auth/tokens", json={"name": "script"}, headers=headers)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def test_password_change_kills_other_sessions_and_api_tokens(client, db) -> None:
    await make_tenant(db)
    session = await login_headers(client, "owner@example.com")
    other = await login_headers(client, "owner@example.com")
    token = await _api_token(client, session)
    assert (await client.get("/api/auth/me", headers=token)).status_code == 200
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=session,
    )
    assert changed.status_code == 200
    for dead in (session, other, token):
        assert (await client.get("/api/auth/me", headers=dead)).status_code == 401
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get("/api/auth/me", headers=fresh)).status_code == 200
    # Nothing left live in the tokens listing either.
    assert (await client.get("/api/auth/tokens", headers=fresh)).json() == []


async def test_password_reset_kills_sessions_and_api_tokens(client, db) -> None:
    await make_tenant(db)
    session = await login_headers(client, "owner@example.com")
    token = await _api_token(client, session)
    with capture_logs() as logs:
        await client.post("/api/auth/password-reset", json={"email": "owner@example.com"})
    link = next(e["link"] for e in logs if e.get("event") == "auth.password_reset_link")
    secret = link.split("t=", 1)[1]
    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": secret, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    for dead in (session, token):
        assert (await client.get("/api/auth/me", headers=dead)).status_code == 401
    old = await client.post(
        "/api/auth/login", json={"email": "owner@example.com", "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_sessions_expire_server_side(client, db) -> None:
    await make_tenant(db)
    headers = await login_headers(client, "owner@example.com")
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    async with db.transaction() as s:
        await s.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await client.get("/api/auth/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"] == "not_authenticated"


async def test_session_cookie_lifetime_follows_the_setting(app_factory, db) -> None:
    await make_tenant(db)
    app = await app_factory(session_ttl_hours=2)
    async with _client(app) as c:
        response = await c.post(
            "/api/auth/login", json={"email": "owner@example.com", "password": PASSWORD}
        )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("mx_session"))
    assert "Max-Age=7200" in cookie and "HttpOnly" in cookie
    async with db.transaction() as s:
        row = (await s.execute(AuthSession.__table__.select())).first()
    assert row is not None
    lifetime = row.expires_at.replace(tzinfo=None) - row.created_at.replace(tzinfo=None)
    assert timedelta(hours=1, minutes=59) < lifetime <= timedelta(hours=2, minutes=1)


async def test_password_reset_requests_are_rate_limited(app_factory, db) -> None:
    await make_tenant(db)
    app = await app_factory(login_rate_limit=2)
    async with _client(app) as c:
        statuses = [
            (
                await c.post("/api/auth/password-reset", json={"email": "owner@example.com"})
            ).status_code
            for _ in range(3)
        ]
        unknown = [
            (await c.post("/api/auth/password-reset", json={"email": "nobody@x.io"})).status_code
            for _ in range(3)
        ]
    assert statuses == [202, 202, 429]
    # An unknown email is limited exactly like a known one (no enumeration through 429s).
    assert unknown == [202, 202, 429]


async def test_login_does_the_same_work_for_unknown_users(client, db, monkeypatch) -> None:
    await make_tenant(db)
    verified: list[str] = []
    real = passwords._hasher

    class Spy:
        def verify(self, target: str, password: str) -> bool:
            verified.append(target)
            return real.verify(target, password)

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(passwords, "_hasher", Spy())
    wrong = await client.post(
        "/api/auth/login", json={"email": "owner@example.com", "password": "nope"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "ghost@example.com", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers.get("content-length") == unknown.headers.get("content-length")
    # One argon2 verification each: the unknown email is checked against a dummy hash.
    assert len(verified) == 2 and verified[0] != verified[1]


async def test_login_timing_does_not_reveal_unknown_users(client, db, monkeypatch) -> None:
    # Real argon2 cost here: with the fast test hasher both paths are too quick to compare.
    hasher = PasswordHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("metricx-dummy-password"))
    await make_tenant(db)

    async def timed(email: str) -> float:
        start = time.perf_counter()
        response = await client.post("/api/auth/login", json={"email": email, "password": "no"})
        assert response.status_code == 401
        return time.perf_counter() - start

    known = [await timed("owner@example.com") for _ in range(4)]
    ghost = [await timed("ghost@example.com") for _ in range(4)]
    ratio = statistics.median(ghost) / statistics.median(known)
    # Without the dummy verify the unknown path is ~100x faster; allow a noisy machine.
    assert 0.4 < ratio < 2.5, (known, ghost)


async def test_token_checks_use_constant_time_comparison(client, db, monkeypatch) -> None:
    from metricx.auth import csrf, tokens

    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    assert csrf.hmac is tokens.hmac  # one module object: the spy sees both
    await make_tenant(db)
    headers = await login_headers(client, "owner@example.com")
    calls.clear()
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    assert calls, "session token signature was not compared with hmac.compare_digest"
    calls.clear()
    forged = headers["Authorization"][:-4] + "0000"
    assert (await client.get("/api/auth/me", headers={"Authorization": forged})).status_code == 401
    assert calls
