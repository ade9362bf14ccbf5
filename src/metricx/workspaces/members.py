"""Members, roles and ownership: every workspace keeps exactly one owner."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.errors import Conflict, NotFound, ValidationFailed
from metricx.models import Membership, User
from metricx.tenancy import AuthContext
from metricx.workspaces import repository

ASSIGNABLE_ROLES = ("admin", "viewer")


async def list_members(session: AsyncSession, ctx: AuthContext) -> list[tuple[Membership, User]]:
    """Everyone in the workspace with their role."""
    return await repository.list_members(session, ctx)


async def _member(session: AsyncSession, ctx: AuthContext, user_id: int) -> tuple[Membership, User]:
    found = await repository.get_member(session, ctx, user_id)
    if found is None:
        raise NotFound("Member not found.")
    return found


async def change_role(
    session: AsyncSession, ctx: AuthContext, user_id: int, role: str
) -> tuple[Membership, User]:
    """Make a member an admin or a viewer (admin+); ownership moves only by transfer."""
    ctx.require("admin")
    if role not in ASSIGNABLE_ROLES:
        raise ValidationFailed(
            "Role must be admin or viewer; use transfer-ownership to change the owner.",
            fields=["role"],
        )
    membership, user = await _member(session, ctx, user_id)
    if membership.role == "owner":
        raise Conflict(
            "The owner's role changes only by transferring ownership.", fields=["user_id"]
        )
    membership.role = role
    await session.flush()
    return membership, user


async def remove_member(session: AsyncSession, ctx: AuthContext, user_id: int) -> None:
    """Remove a member (admin+), or leave yourself; the owner cannot be removed."""
    if user_id != ctx.user_id:
        ctx.require("admin")
    membership, _ = await _member(session, ctx, user_id)
    if membership.role == "owner":
        raise Conflict(
            "The owner cannot leave or be removed; transfer ownership first.", fields=["user_id"]
        )
    await session.delete(membership)
    await session.flush()


async def transfer_ownership(
    session: AsyncSession, ctx: AuthContext, user_id: int
) -> tuple[Membership, User]:
    """Make another member the owner (owner only); the old owner becomes an admin."""
    ctx.require("owner")
    if user_id == ctx.user_id:
        raise ValidationFailed("You already own this workspace.", fields=["user_id"])
    new_membership, new_user = await _member(session, ctx, user_id)
    old_membership, _ = await _member(session, ctx, ctx.user_id)
    # Demote first: the partial unique index allows one owner row at any moment.
    old_membership.role = "admin"
    await session.flush()
    new_membership.role = "owner"
    await session.flush()
    return new_membership, new_user
