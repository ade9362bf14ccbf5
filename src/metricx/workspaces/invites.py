"""Invitations: created by admins, shown once, accepted by the invited email's account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from metricx.auth.service import normalise_email
from metricx.auth.tokens import new_token, token_hash, verify_signature
from metricx.config import Settings
from metricx.errors import Conflict, Forbidden, NotFound, ValidationFailed
from metricx.models import Invite, Membership, User, Workspace, utcnow
from metricx.tenancy import AuthContext
from metricx.workspaces import repository
from metricx.workspaces.members import ASSIGNABLE_ROLES

INVITE_PREFIX = "mxi_"
INVITE_TTL = timedelta(days=7)


async def create_invite(
    session: AsyncSession, settings: Settings, ctx: AuthContext, email: str, role: str
) -> tuple[Invite, str]:
    """Invite an email with a role (admin+); returns the invite and its one-time token."""
    ctx.require("admin")
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise ValidationFailed("Enter a valid email address.", fields=["email"])
    if role not in ASSIGNABLE_ROLES:
        raise ValidationFailed("Role must be admin or viewer.", fields=["role"])
    if await repository.member_by_email(session, ctx, email) is not None:
        raise Conflict("This person is already a member.", fields=["email"])
    await repository.delete_pending_invites_for(session, ctx, email)
    secret = new_token(settings.secret, INVITE_PREFIX)
    invite = Invite(
        workspace_id=ctx.workspace_id,
        email=email,
        role=role,
        token_hash=token_hash(secret),
        invited_by=ctx.user_id,
        expires_at=utcnow() + INVITE_TTL,
    )
    session.add(invite)
    await session.flush()
    return invite, secret


async def list_invites(session: AsyncSession, ctx: AuthContext) -> list[Invite]:
    """Pending invites (admin+: they name people who are not members yet)."""
    ctx.require("admin")
    return await repository.list_pending_invites(session, ctx, utcnow())


async def revoke_invite(session: AsyncSession, ctx: AuthContext, invite_id: int) -> None:
    """Withdraw an invite (admin+)."""
    ctx.require("admin")
    invite = await repository.get_invite(session, ctx, invite_id)
    if invite is None or invite.accepted_at is not None:
        raise NotFound("Invite not found.")
    await session.delete(invite)
    await session.flush()


async def accept_invite(
    session: AsyncSession, settings: Settings, user: User, secret: str
) -> tuple[Workspace, str]:
    """Join the invite's workspace as the signed-in user whose email it was sent to."""
    not_found = NotFound("This invite is invalid, used or expired.")
    if not secret.startswith(INVITE_PREFIX) or verify_signature(settings.secret, secret) is None:
        raise not_found
    invite = await repository.invite_by_hash(session, token_hash(secret))
    if invite is None or invite.accepted_at is not None or invite.expires_at <= utcnow():
        raise not_found
    if normalise_email(invite.email) != normalise_email(user.email):
        raise Forbidden("This invite was sent to another email address.")
    ctx = AuthContext(user_id=user.id, workspace_id=invite.workspace_id, role="viewer")
    existing = await repository.get_member(session, ctx, user.id)
    role = invite.role
    if existing is None:
        session.add(Membership(workspace_id=invite.workspace_id, user_id=user.id, role=role))
    else:
        # An existing member keeps their role: accepting an invite never demotes anyone.
        role = existing[0].role
    invite.accepted_at = utcnow()
    await session.flush()
    workspace = await repository.get_workspace(session, ctx)
    return workspace, role
