"""SQL the dashboard needs besides metrics: connection status and entity existence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import Connection, Entity, Workspace
from metricx.tenancy import AuthContext, scoped


async def connections(session: AsyncSession, ctx: AuthContext) -> list[dict[str, Any]]:
    """The workspace's connections with their sync status, in creation order."""
    stmt = scoped(
        select(
            Connection.id,
            Connection.provider,
            Connection.name,
            Connection.status,
            Connection.last_success_at,
            Connection.last_error,
        ),
        Connection,
        ctx,
    ).order_by(Connection.id)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def entity_exists(session: AsyncSession, ctx: AuthContext, entity_id: int) -> bool:
    """True when the entity belongs to the caller's workspace."""
    stmt = scoped(select(Entity.id), Entity, ctx).where(Entity.id == entity_id)
    return (await session.scalar(stmt)) is not None


async def workspace(session: AsyncSession, ctx: AuthContext) -> Workspace | None:
    """The caller's workspace; the auth dependency already loaded it, so no SQL runs."""
    return await session.get(Workspace, ctx.workspace_id)
