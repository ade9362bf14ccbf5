"""The ad entity tree: account, campaign, ad set, ad, creative."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, BigId, CreatedAt, UTCDateTime, utcnow

LEVELS = ("account", "campaign", "adset", "ad", "creative")
STATUSES = ("active", "paused", "archived", "deleted")


class Entity(CreatedAt, Base):
    """A node of a connection's entity tree."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="CASCADE"), nullable=True
    )
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    goal: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tracking_params: Mapped[str | None] = mapped_column(Text, nullable=True)
    thumbnail_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # Serves idempotent entity upserts from syncs.
        UniqueConstraint("connection_id", "level", "external_id"),
        Index(
            None,
            "workspace_id",
            "level",
            "parent_id",
            info={"serves": "entity performance listing and drill-down by parent"},
        ),
        Index(
            None,
            "workspace_id",
            "external_id",
            info={"serves": "attribution: resolve utm/ad-id/click macros to entities"},
        ),
        Index(None, "parent_id", info={"serves": "FK cascade and children of an entity"}),
    )
