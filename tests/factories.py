"""Helpers that create users, workspaces and sessions for tests."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from metricx.auth.service import create_user
from metricx.db import Database
from metricx.workspaces.service import create_workspace

PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    """A user who owns one workspace."""

    user_id: int
    workspace_id: int
    email: str
    password: str = PASSWORD


async def make_tenant(
    db: Database,
    email: str = "owner@example.com",
    *,
    name: str = "Brand",
    timezone: str = "UTC",
    currency: str = "USD",
) -> Tenant:
    """Create a user and a workspace they own."""
    async with db.transaction() as session:
        user = await create_user(session, email, PASSWORD, "Owner")
        ws = await create_workspace(session, user, name=name, timezone=timezone, currency=currency)
        return Tenant(user_id=user.id, workspace_id=ws.id, email=email)


async def login_headers(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    """Sign in through the API and return a Bearer Authorization header."""
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
