"""Sign-up, sign-in and out, sessions, password change and CSRF through the API."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, login_headers, make_tenant

NEW_PASSWORD = "a much better passphrase"


async def register(client: httpx.AsyncClient, email: str = "new@example.com") -> httpx.Response:
    return await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "New"}
    )


async def test_register_signs_in_and_sets_cookies(client) -> None:
    response = await register(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["email"] == "new@example.com"
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("mx_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("mx_csrf="))
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
    assert "HttpOnly" not in csrf_cookie
    me = await client.get("/api/auth/me")  # the cookie alone authenticates reads
    assert me.status_code == 200
    assert me.json()["email"] == "new@example.com"


async def test_register_twice_is_409_and_bad_input_names_the_field(client) -> None:
    assert (await register(client)).status_code == 201
    again = await register(client, "NEW@example.com")
    assert again.status_code == 409
    assert again.json()["fields"] == ["email"]
    short = await client.post("/api/auth/register", json={"email": "x@y.z", "password": "short"})
    assert short.status_code == 422
    assert short.json()["fields"] == ["password"]


async def test_login_keeps_its_contract(client, db) -> None:
    await make_tenant(db)
    response = await client.post(
        "/api/auth/login", json={"email": "OWNER@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access_token", "token_type", "user"}
    assert body["token_type"] == "bearer"
    wrong = await client.post(
        "/api/auth/login", json={"email": "owner@example.com", "password": "nope"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "ghost@example.com", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # no user enumeration


async def test_logout_revokes_the_session_server_side(client, db) -> None:
    await make_tenant(db)
    headers = await login_headers(client, "owner@example.com")
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    out = await client.post("/api/auth/logout", headers=headers)
    assert out.status_code == 204
    assert any(c.startswith("mx_session=") for c in out.headers.get_list("set-cookie"))
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_change_password_ends_every_other_session(client, db) -> None:
    await make_tenant(db)
    first = await login_headers(client, "owner@example.com")
    second = await login_headers(client, "owner@example.com")
    wrong = await client.post(
        "/api/auth/password",
        json={"current_password": "wrong", "new_password": NEW_PASSWORD},
        headers=first,
    )
    assert wrong.status_code == 422
    assert wrong.json()["fields"] == ["current_password"]
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=first,
    )
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get("/api/auth/me", headers=first)).status_code == 401
    assert (await client.get("/api/auth/me", headers=second)).status_code == 401
    assert (await client.get("/api/auth/me", headers=fresh)).status_code == 200
    await login_headers(client, "owner@example.com", NEW_PASSWORD)


async def test_unauthenticated_is_401(client) -> None:
    response = await client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    forged = await client.get("/api/auth/me", headers={"Authorization": "Bearer mxs_x.y"})
    assert forged.status_code == 401


# --- CSRF ---------------------------------------------------------------------


async def test_cookie_writes_need_the_csrf_token(client) -> None:
    signed_in = await register(client)
    csrf = signed_in.json()["csrf_token"]
    assert client.cookies.get("mx_csrf") == csrf
    body = {"name": "Cookie brand"}
    missing = await client.post("/api/workspaces", json=body)
    assert missing.status_code == 403
    assert missing.json()["error"] == "csrf_failed"
    wrong = await client.post("/api/workspaces", json=body, headers={"X-CSRF-Token": "x" * 64})
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "csrf_failed"
    ok = await client.post("/api/workspaces", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    # Reads never need it.
    assert (await client.get("/api/workspaces")).status_code == 200


async def test_csrf_accepts_the_form_field(client) -> None:
    signed_in = await register(client)
    csrf = signed_in.json()["csrf_token"]
    response = await client.post("/api/auth/logout", data={"csrf_token": csrf})
    assert response.status_code == 204


async def test_csrf_token_of_another_session_is_refused(client, db) -> None:
    await make_tenant(db)
    other = await client.post(
        "/api/auth/login", json={"email": "owner@example.com", "password": PASSWORD}
    )
    other_csrf = other.json()["csrf_token"]
    client.cookies.clear()
    mine = await register(client)
    # An attacker who plants their own pair of cookies still fails: the token is session-bound.
    client.cookies.set("mx_csrf", other_csrf)
    response = await client.post(
        "/api/workspaces", json={"name": "X"}, headers={"X-CSRF-Token": other_csrf}
    )
    assert response.status_code == 403
    assert mine.json()["csrf_token"] != other_csrf


async def test_bearer_requests_are_exempt_from_csrf(client, db) -> None:
    await make_tenant(db)
    headers = await login_headers(client, "owner@example.com")
    client.cookies.clear()
    response = await client.post("/api/workspaces", json={"name": "Bearer"}, headers=headers)
    assert response.status_code == 201


async def test_form_post_to_a_json_route_is_4xx_not_500(client) -> None:
    csrf = (await register(client)).json()["csrf_token"]
    with_token = await client.post("/api/workspaces", data={"csrf_token": csrf, "name": "F"})
    without = await client.post("/api/workspaces", data={"name": "F"})
    assert 400 <= with_token.status_code < 500
    assert without.status_code == 403
