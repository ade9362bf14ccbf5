"""Reads the pages need before the workspaces service offers them.

TEMPORARY: replace with the workspaces service's list function at merge; the page code
only calls `workspaces_for_user` and reads id, name, role from each item.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import Membership, Workspace


async def workspaces_for_user(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The workspaces a user belongs to, by name (served by the memberships user_id index)."""
    rows = await session.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name, Workspace.id)
    )
    return [{"id": r.id, "name": r.name, "role": r.role} for r in rows]


async def workspace_row(session: AsyncSession, workspace_id: int) -> Workspace | None:
    """The workspace row for the settings page (the caller's membership is already checked)."""
    return await session.get(Workspace, workspace_id)
