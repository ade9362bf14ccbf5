"""SQL the dashboard needs besides metrics: connection status and entity existence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import Connection, Entity, Workspace
from metricx.tenancy import AuthContext, scoped


async def workspace_status(
    session: AsyncSession, ctx: AuthContext
) -> tuple[str, list[dict[str, Any]]]:
    """The workspace's name and its connections' sync status, in one statement.

    The workspace row is the tenant itself, so it is filtered by its own id; connections
    join on their workspace_id.
    """
    stmt = (
        select(
            Workspace.name.label("workspace_name"),
            Connection.id,
            Connection.provider,
            Connection.name,
            Connection.status,
            Connection.last_success_at,
            Connection.last_error,
        )
        .select_from(Workspace)
        .outerjoin(Connection, Connection.workspace_id == Workspace.id)
        .where(Workspace.id == ctx.workspace_id)
        .order_by(Connection.id)
    )
    rows = (await session.execute(stmt)).all()
    name = rows[0].workspace_name if rows else ""
    connections = [
        {k: v for k, v in r._mapping.items() if k != "workspace_name"}
        for r in rows
        if r.id is not None
    ]
    return name, connections


async def entity_exists(session: AsyncSession, ctx: AuthContext, entity_id: int) -> bool:
    """True when the entity belongs to the caller's workspace."""
    stmt = scoped(select(Entity.id), Entity, ctx).where(Entity.id == entity_id)
    return (await session.scalar(stmt)) is not None
