"""Workspace, member and invite request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from metricx.auth.schemas import EMAIL, PLAIN_TEXT, TOKEN

MAX_ID = 2**63 - 1
TIMEZONE = r"^[A-Za-z0-9_+\-/]+$"
CURRENCY = r"^[A-Za-z]{3}$"
AssignableRole = Literal["admin", "viewer"]
Role = Literal["owner", "admin", "viewer"]


class WorkspaceIn(BaseModel):
    """A new workspace."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=PLAIN_TEXT)
    timezone: str = Field(default="UTC", min_length=1, max_length=64, pattern=TIMEZONE)
    currency: str = Field(default="USD", min_length=3, max_length=3, pattern=CURRENCY)


class WorkspaceUpdate(BaseModel):
    """Settings to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=PLAIN_TEXT)
    timezone: str | None = Field(default=None, min_length=1, max_length=64, pattern=TIMEZONE)
    currency: str | None = Field(default=None, min_length=3, max_length=3, pattern=CURRENCY)


class WorkspaceOut(BaseModel):
    """A workspace and the caller's role in it."""

    id: int
    name: str
    timezone: str
    currency: str
    role: Role
    pixel_key: str
    data_version: int
    created_at: datetime


class WorkspaceSummary(BaseModel):
    """A workspace in the caller's list."""

    id: int
    name: str
    timezone: str
    currency: str
    role: Role


class MemberOut(BaseModel):
    """A member of the workspace."""

    user_id: int
    email: str
    name: str
    role: Role
    joined_at: datetime


class RoleIn(BaseModel):
    """A member's new role."""

    model_config = ConfigDict(extra="forbid")

    role: AssignableRole


class TransferIn(BaseModel):
    """The member who becomes owner."""

    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, le=MAX_ID)


class InviteIn(BaseModel):
    """Invite someone by email."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    role: AssignableRole = "viewer"


class InviteOut(BaseModel):
    """A pending invite."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: AssignableRole
    created_at: datetime
    expires_at: datetime


class InviteCreatedOut(InviteOut):
    """A new invite; `token` is shown this once (share it or the accept link)."""

    token: str
    accept_path: str


class AcceptIn(BaseModel):
    """An invite token."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, pattern=TOKEN)
