"""Inputs that break naive code: NUL bytes, huge ids, wrong types, odd headers."""

from __future__ import annotations

from tests.factories import login_headers, make_tenant


async def test_nul_bytes_are_422_naming_the_field(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    cases = [
        ("/api/auth/register", {"email": "a\x00@b.co", "password": "long enough pw"}, "email"),
        ("/api/auth/login", {"email": "a\x00@b.co", "password": "x"}, "email"),
        ("/api/auth/password-reset", {"email": "a\x00@b.co"}, "email"),
        ("/api/workspaces", {"name": "Brand\x00"}, "name"),
        ("/api/workspaces", {"name": "B", "timezone": "UTC\x00"}, "timezone"),
        (f"/api/workspaces/{tenant.workspace_id}/invites", {"email": "x\x00@y.z"}, "email"),
        ("/api/auth/tokens", {"name": "ci\x00"}, "name"),
    ]
    for url, body, field in cases:
        response = await client.post(url, json=body, headers=h)
        assert response.status_code == 422, (url, response.status_code, response.text)
        assert field in response.json()["fields"], (url, response.text)


async def test_malformed_bodies_and_headers_are_4xx(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    bad_json = await client.post(
        "/api/workspaces", content=b"{not json", headers={**h, "content-type": "application/json"}
    )
    assert bad_json.status_code in (400, 422)
    wrong_type = await client.post("/api/workspaces", json=["list"], headers=h)
    assert wrong_type.status_code == 422
    client.cookies.clear()  # only the header under test may authenticate
    for header in ("Bearer ", "Bearer \x7f", "Basic abc", "Bearer " + "a" * 5000, "Bearer mxt_x.y"):
        response = await client.get("/api/auth/me", headers={"Authorization": header})
        assert response.status_code == 401, header
    huge = await client.delete("/api/auth/tokens/99999999999999999999", headers=h)
    assert huge.status_code == 422 and huge.json()["fields"] == ["token_id"]


async def test_oversized_bodies_are_413_on_workspace_routes(client, db) -> None:
    tenant = await make_tenant(db)
    h = await login_headers(client, tenant.email)
    response = await client.patch(
        f"/api/workspaces/{tenant.workspace_id}",
        content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
        headers={**h, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
