"""SQL for connections and their runs, always scoped to the caller's workspace."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import Connection, MetricFact, SyncRun
from metricx.tenancy import AuthContext, scoped, unscoped_across_all_workspaces


async def list_connections(session: AsyncSession, ctx: AuthContext) -> list[Connection]:
    """The workspace's connections, by id."""
    query = scoped(select(Connection), Connection, ctx).order_by(Connection.id)
    return list((await session.scalars(query)).all())


async def get_connection(
    session: AsyncSession, ctx: AuthContext, connection_id: int
) -> Connection | None:
    """One connection of the workspace, or None (another workspace's is None too)."""
    query = scoped(select(Connection), Connection, ctx).where(Connection.id == connection_id)
    return await session.scalar(query)


async def find_connection(
    session: AsyncSession, ctx: AuthContext, provider: str, external_account_id: str
) -> Connection | None:
    """The workspace's connection of this provider account, if any."""
    query = scoped(select(Connection), Connection, ctx).where(
        Connection.provider == provider, Connection.external_account_id == external_account_id
    )
    return await session.scalar(query)


async def latest_runs(session: AsyncSession, ctx: AuthContext) -> dict[int, SyncRun]:
    """The newest run of each connection of the workspace (two indexed queries)."""
    newest = (
        scoped(select(func.max(SyncRun.id)), SyncRun, ctx)
        .where(SyncRun.connection_id.is_not(None))
        .group_by(SyncRun.connection_id)
    )
    ids = list((await session.scalars(newest)).all())
    if not ids:
        return {}
    rows = await session.scalars(scoped(select(SyncRun), SyncRun, ctx).where(SyncRun.id.in_(ids)))
    return {run.connection_id: run for run in rows.all() if run.connection_id is not None}


async def queued_run(session: AsyncSession, ctx: AuthContext, connection_id: int) -> SyncRun | None:
    """The connection's oldest queued run."""
    query = (
        scoped(select(SyncRun), SyncRun, ctx)
        .where(SyncRun.connection_id == connection_id, SyncRun.status == "queued")
        .order_by(SyncRun.id)
        .limit(1)
    )
    return await session.scalar(query)


async def fact_spans(
    session: AsyncSession, ctx: AuthContext, connection_id: int
) -> list[tuple[str, date, date]]:
    """(provider, first day, last day) of a connection's facts."""
    query = (
        scoped(
            select(
                MetricFact.provider,
                func.min(MetricFact.event_date),
                func.max(MetricFact.event_date),
            ),
            MetricFact,
            ctx,
        )  # type: ignore[type-var]
        .where(MetricFact.connection_id == connection_id)
        .group_by(MetricFact.provider)
    )
    return [(p, lo, hi) for p, lo, hi in (await session.execute(query)).all()]


async def delete_connection(session: AsyncSession, ctx: AuthContext, connection_id: int) -> None:
    """Delete a connection; its entities, facts, orders and runs go by ON DELETE CASCADE."""
    await session.execute(
        delete(Connection).where(
            Connection.workspace_id == ctx.workspace_id, Connection.id == connection_id
        )
    )


async def all_with_credentials(session: AsyncSession) -> list[Connection]:
    """Every connection, of every workspace, that stores credentials (key rotation)."""
    stmt = unscoped_across_all_workspaces(
        select(Connection).where(Connection.credentials_encrypted.is_not(None))
    )
    return list((await session.scalars(stmt)).all())
