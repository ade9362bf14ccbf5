"""SQL for workspaces and memberships."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import Membership, Workspace


async def get_membership(
    session: AsyncSession, workspace_id: int, user_id: int
) -> tuple[Workspace, Membership] | None:
    """The workspace and the user's membership of it, in one indexed query."""
    row = (
        await session.execute(
            select(Workspace, Membership)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Workspace.id == workspace_id, Membership.user_id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def bump_data_version(session: AsyncSession, workspace_id: int) -> None:
    """Mark everything cached for this workspace as stale (same transaction as the write)."""
    await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(data_version=Workspace.data_version + 1)
    )
