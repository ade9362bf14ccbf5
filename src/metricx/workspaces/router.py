"""Workspace endpoints: workspaces, members, invites and status.

Each route parses, resolves the AuthContext (non-members get 404), calls one service.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from metricx.auth.deps import CurrentUser, WorkspaceCtx
from metricx.deps import SessionDep, SettingsDep
from metricx.models import Membership, User, Workspace
from metricx.workspaces import invites, members, service
from metricx.workspaces.schemas import (
    MAX_ID,
    AcceptIn,
    InviteCreatedOut,
    InviteIn,
    InviteOut,
    MemberOut,
    RoleIn,
    TransferIn,
    WorkspaceIn,
    WorkspaceOut,
    WorkspaceSummary,
    WorkspaceUpdate,
)
from metricx.workspaces.status import WorkspaceStatus, workspace_status

router = APIRouter(prefix="/api/workspaces", tags=["workspaces"])
invites_router = APIRouter(prefix="/api/invites", tags=["workspaces"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="User id")]
InviteId = Annotated[int, Path(ge=1, le=MAX_ID, description="Invite id")]
NO_CONTENT = status.HTTP_204_NO_CONTENT


def _workspace_out(workspace: Workspace, role: str) -> WorkspaceOut:
    return WorkspaceOut.model_validate(
        {
            "id": workspace.id,
            "name": workspace.name,
            "timezone": workspace.timezone,
            "currency": workspace.currency,
            "role": role,
            "pixel_key": workspace.pixel_key,
            "data_version": workspace.data_version,
            "created_at": workspace.created_at,
        }
    )


def _summary(workspace: Workspace, role: str) -> WorkspaceSummary:
    return WorkspaceSummary.model_validate(
        {
            "id": workspace.id,
            "name": workspace.name,
            "timezone": workspace.timezone,
            "currency": workspace.currency,
            "role": role,
        }
    )


def _member_out(membership: Membership, user: User) -> MemberOut:
    return MemberOut.model_validate(
        {
            "user_id": user.id,
            "email": user.email,
            "name": user.name,
            "role": membership.role,
            "joined_at": membership.created_at,
        }
    )


@router.get("", response_model=list[WorkspaceSummary])
async def list_workspaces(user: CurrentUser, session: SessionDep) -> list[WorkspaceSummary]:
    """Your workspaces with your role in each."""
    rows = await service.list_workspaces(session, user)
    return [_summary(ws, role) for ws, role in rows]


@router.post("", response_model=WorkspaceOut, status_code=status.HTTP_201_CREATED)
async def create_workspace(
    body: WorkspaceIn, user: CurrentUser, session: SessionDep
) -> WorkspaceOut:
    """Create a workspace; you become its owner."""
    workspace = await service.create_workspace(
        session, user, name=body.name, timezone=body.timezone, currency=body.currency
    )
    return _workspace_out(workspace, "owner")


@router.get("/{workspace_id}", response_model=WorkspaceOut)
async def get_workspace(ctx: WorkspaceCtx, session: SessionDep) -> WorkspaceOut:
    """One workspace."""
    return _workspace_out(await service.get_workspace(session, ctx), ctx.role)


@router.patch("/{workspace_id}", response_model=WorkspaceOut)
async def update_workspace(
    body: WorkspaceUpdate, ctx: WorkspaceCtx, session: SessionDep
) -> WorkspaceOut:
    """Change name, timezone or currency (admin+)."""
    workspace = await service.update_workspace(
        session, ctx, name=body.name, timezone=body.timezone, currency=body.currency
    )
    return _workspace_out(workspace, ctx.role)


@router.delete("/{workspace_id}", status_code=NO_CONTENT)
async def delete_workspace(ctx: WorkspaceCtx, session: SessionDep) -> Response:
    """Delete the workspace and all its data (owner only)."""
    await service.delete_workspace(session, ctx)
    return Response(status_code=NO_CONTENT)


@router.get("/{workspace_id}/status", response_model=WorkspaceStatus)
async def get_status(ctx: WorkspaceCtx, session: SessionDep) -> WorkspaceStatus:
    """Connected platforms, attribution readiness, last syncs and data freshness."""
    return await workspace_status(session, ctx)


@router.get("/{workspace_id}/members", response_model=list[MemberOut])
async def list_members(ctx: WorkspaceCtx, session: SessionDep) -> list[MemberOut]:
    """Everyone in the workspace."""
    return [_member_out(m, u) for m, u in await members.list_members(session, ctx)]


@router.patch("/{workspace_id}/members/{user_id}", response_model=MemberOut)
async def change_member_role(
    user_id: UserId, body: RoleIn, ctx: WorkspaceCtx, session: SessionDep
) -> MemberOut:
    """Make a member an admin or a viewer (admin+)."""
    return _member_out(*await members.change_role(session, ctx, user_id, body.role))


@router.delete("/{workspace_id}/members/{user_id}", status_code=NO_CONTENT)
async def remove_member(user_id: UserId, ctx: WorkspaceCtx, session: SessionDep) -> Response:
    """Remove a member (admin+), or leave the workspace yourself."""
    await members.remove_member(session, ctx, user_id)
    return Response(status_code=NO_CONTENT)


@router.post("/{workspace_id}/transfer-ownership", response_model=MemberOut)
async def transfer_ownership(body: TransferIn, ctx: WorkspaceCtx, session: SessionDep) -> MemberOut:
    """Hand ownership to another member (owner only); you become an admin."""
    return _member_out(*await members.transfer_ownership(session, ctx, body.user_id))


@router.get("/{workspace_id}/invites", response_model=list[InviteOut])
async def list_invites(ctx: WorkspaceCtx, session: SessionDep) -> list[InviteOut]:
    """Pending invites (admin+)."""
    return [InviteOut.model_validate(i) for i in await invites.list_invites(session, ctx)]


@router.post(
    "/{workspace_id}/invites", response_model=InviteCreatedOut, status_code=status.HTTP_201_CREATED
)
async def create_invite(
    body: InviteIn, ctx: WorkspaceCtx, session: SessionDep, settings: SettingsDep
) -> InviteCreatedOut:
    """Invite someone by email (admin+); the token is shown only now."""
    invite, secret = await invites.create_invite(session, settings, ctx, body.email, body.role)
    return InviteCreatedOut.model_validate(
        {
            **InviteOut.model_validate(invite).model_dump(),
            "token": secret,
            "accept_path": f"/invites/accept?t={secret}",
        }
    )


@router.delete("/{workspace_id}/invites/{invite_id}", status_code=NO_CONTENT)
async def revoke_invite(invite_id: InviteId, ctx: WorkspaceCtx, session: SessionDep) -> Response:
    """Withdraw a pending invite (admin+)."""
    await invites.revoke_invite(session, ctx, invite_id)
    return Response(status_code=NO_CONTENT)


@invites_router.post("/accept", response_model=WorkspaceSummary)
async def accept_invite(
    body: AcceptIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> WorkspaceSummary:
    """Join a workspace with an invite sent to your email."""
    workspace, role = await invites.accept_invite(session, settings, user, body.token)
    return _summary(workspace, role)
