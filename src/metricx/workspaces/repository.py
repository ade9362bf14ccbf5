"""SQL for workspaces and memberships."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from metricx.models import Invite, Membership, User, Workspace
from metricx.tenancy import AuthContext, scoped


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


async def list_for_user(session: AsyncSession, user_id: int) -> list[tuple[Workspace, str]]:
    """The user's workspaces with their role, by name."""
    rows = await session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name, Workspace.id)
    )
    return [(ws, role) for ws, role in rows]


async def get_workspace(session: AsyncSession, ctx: AuthContext) -> Workspace:
    """The caller's workspace row."""
    workspace = await session.get(Workspace, ctx.workspace_id)
    assert workspace is not None  # the AuthContext was resolved from this row
    return workspace


async def delete_workspace(session: AsyncSession, ctx: AuthContext) -> None:
    """Delete the workspace; foreign keys cascade to everything it owns."""
    await session.execute(delete(Workspace).where(Workspace.id == ctx.workspace_id))


async def list_members(session: AsyncSession, ctx: AuthContext) -> list[tuple[Membership, User]]:
    """Members of the workspace with their users, owner first."""
    stmt = scoped(
        select(Membership, User).join(User, User.id == Membership.user_id), Membership, ctx
    ).order_by(Membership.id)
    return [(m, u) for m, u in await session.execute(stmt)]


async def get_member(
    session: AsyncSession, ctx: AuthContext, user_id: int
) -> tuple[Membership, User] | None:
    """One member of the workspace, by user id."""
    stmt = scoped(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id),
        Membership,
        ctx,
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def member_by_email(session: AsyncSession, ctx: AuthContext, email: str) -> Membership | None:
    """The membership of the user with this email, if they are a member."""
    stmt = scoped(
        select(Membership).join(User, User.id == Membership.user_id).where(User.email == email),
        Membership,
        ctx,
    )
    return await session.scalar(stmt)


async def list_pending_invites(
    session: AsyncSession, ctx: AuthContext, now: datetime
) -> list[Invite]:
    """Invites not yet accepted and not expired, newest first."""
    stmt = scoped(
        select(Invite).where(Invite.accepted_at.is_(None), Invite.expires_at > now), Invite, ctx
    ).order_by(Invite.id.desc())
    return list(await session.scalars(stmt))


async def get_invite(session: AsyncSession, ctx: AuthContext, invite_id: int) -> Invite | None:
    """One invite of the workspace."""
    return await session.scalar(scoped(select(Invite).where(Invite.id == invite_id), Invite, ctx))


async def delete_pending_invites_for(session: AsyncSession, ctx: AuthContext, email: str) -> None:
    """Drop earlier pending invites to the same email (a new invite replaces them)."""
    pending = scoped(
        select(Invite.id).where(Invite.email == email, Invite.accepted_at.is_(None)), Invite, ctx
    )
    await session.execute(delete(Invite).where(Invite.id.in_(pending)))


async def invite_by_hash(session: AsyncSession, hashed: str) -> Invite | None:
    """The invite a presented token belongs to (the token itself proves access)."""
    return await session.scalar(select(Invite).where(Invite.token_hash == hashed))


async def owned_workspaces(session: AsyncSession, user_id: int) -> list[tuple[Workspace, int]]:
    """The workspaces a user owns, each with its number of members (the owner included)."""
    other = aliased(Membership)
    members = (
        select(func.count())
        .select_from(other)
        .where(other.workspace_id == Workspace.id)
        .correlate(Workspace)
        .scalar_subquery()
    )
    stmt = (
        select(Workspace, members)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id, Membership.role == "owner")
        .order_by(Workspace.id)
    )
    return [(ws, int(n)) for ws, n in await session.execute(stmt)]


async def delete_workspaces(session: AsyncSession, workspace_ids: list[int]) -> None:
    """Delete workspaces by id; foreign keys cascade to everything they own."""
    if workspace_ids:
        await session.execute(delete(Workspace).where(Workspace.id.in_(workspace_ids)))


async def delete_invites_to(session: AsyncSession, email: str) -> None:
    """Drop every pending invite addressed to an email (of every workspace)."""
    await session.execute(delete(Invite).where(Invite.email == email, Invite.accepted_at.is_(None)))
