"""Workspaces (tenants), their members and invites."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, BigId, CreatedAt, UTCDateTime

ROLES = ("owner", "admin", "viewer")


class Workspace(CreatedAt, Base):
    """A tenant: one brand's data, settings and members."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    attribution_model: Mapped[str] = mapped_column(String(32), default="last_click")
    attribution_window_days: Mapped[int] = mapped_column(Integer, default=7)
    time_decay_half_life_days: Mapped[float] = mapped_column(default=7.0)
    # Public key the pixel sends; unique index serves pixel ingest lookup.
    pixel_key: Mapped[str] = mapped_column(String(64), unique=True)
    pixel_allowed_origins: Mapped[str] = mapped_column(String(2000), default="")
    # Bumped in the same transaction as every write that changes what the workspace sees.
    data_version: Mapped[int] = mapped_column(BigInteger, default=1)
    # The last day of the preset windows held in entity_summaries (None: none held).
    summary_end: Mapped[date | None] = mapped_column(Date, nullable=True)


class Membership(CreatedAt, Base):
    """A user's role in a workspace."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        # Serves the membership check on every workspace-scoped request.
        UniqueConstraint("workspace_id", "user_id"),
        Index(None, "user_id", info={"serves": "list the workspaces of the signed-in user"}),
        Index(
            "uq_memberships_one_owner",
            "workspace_id",
            unique=True,
            sqlite_where=text("role = 'owner'"),
            postgresql_where=text("role = 'owner'"),
            info={"serves": "enforces exactly one owner per workspace"},
        ),
    )


class Invite(CreatedAt, Base):
    """An invitation to join a workspace; only the token hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # lookup on accept
    invited_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index(None, "workspace_id", info={"serves": "list a workspace's pending invites"}),
        Index(None, "invited_by", info={"serves": "FK set null on user delete"}),
    )
