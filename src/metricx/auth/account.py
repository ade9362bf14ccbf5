"""Deleting an account: the user's sessions, tokens, memberships and invites go with it.

A workspace the user owns alone (no other member) is deleted with them: nobody else could
ever reach it. A workspace they own with other members is never deleted behind those
members' backs: the deletion is refused (409, naming the workspaces) until ownership is
transferred or the workspace is deleted.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth.passwords import verify_password
from metricx.errors import Conflict, ValidationFailed
from metricx.models import User
from metricx.workspaces import repository as ws_repo

log = structlog.get_logger("metricx.auth")


class OwnsSharedWorkspaces(Conflict):
    """The user still owns workspaces that have other members."""

    code = "owns_shared_workspaces"


async def delete_account(session: AsyncSession, user: User, password: str) -> list[int]:
    """Delete the user and everything only they could reach; returns deleted workspace ids."""
    if not await verify_password(user.password_hash, password):
        raise ValidationFailed("The password is wrong.", fields=["password"])
    owned = await ws_repo.owned_workspaces(session, user.id)
    shared = [ws for ws, members in owned if members > 1]
    if shared:
        names = ", ".join(f"{ws.name} (#{ws.id})" for ws in shared)
        raise OwnsSharedWorkspaces(
            f"Transfer ownership of, or delete, these workspaces first: {names}.",
            fields=["workspaces"],
        )
    alone = [ws.id for ws, _ in owned]
    await ws_repo.delete_workspaces(session, alone)
    await ws_repo.delete_invites_to(session, user.email)
    # Sessions, API tokens, reset tokens and memberships cascade; question logs keep the
    # workspace's history with the author set to NULL.
    await session.delete(user)
    await session.flush()
    log.info("auth.account_deleted", user_id=user.id, workspaces_deleted=len(alone))
    return alone
