"""SQL the dashboard needs besides metrics: connection status and entity lookups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


async def entity_with_parent(
    session: AsyncSession, ctx: AuthContext, entity_id: int
) -> dict[str, Any] | None:
    """The entity (id, name, level, provider, parent_id) and its parent's name, in one
    statement; None when it is not in the caller's workspace."""
    parent = aliased(Entity)
    stmt = (
        scoped(
            select(
                Entity.id,
                Entity.name,
                Entity.level,
                Entity.provider,
                Entity.parent_id,
                parent.name.label("parent_name"),
                parent.level.label("parent_level"),
            ),
            Entity,
            ctx,
        )
        .outerjoin(
            parent,
            (parent.id == Entity.parent_id) & (parent.workspace_id == Entity.workspace_id),
        )
        .where(Entity.id == entity_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    return dict(row._mapping) if row is not None else None


async def with_children(session: AsyncSession, ctx: AuthContext, ids: list[int]) -> set[int]:
    """Which of `ids` have child entities (served by the workspace/level/parent index)."""
    if not ids:
        return set()
    stmt = scoped(select(Entity.parent_id), Entity, ctx).where(Entity.parent_id.in_(ids)).distinct()
    return {int(i) for i in (await session.scalars(stmt)) if i is not None}
