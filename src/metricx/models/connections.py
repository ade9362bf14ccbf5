"""Connections to ad platforms and shops, and the record of their sync runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, BigId, CreatedAt, UTCDateTime

PROVIDERS = ("meta", "google", "tiktok", "shopify", "csv")
AD_PROVIDERS = ("meta", "google", "tiktok", "csv")
CONNECTION_STATUSES = ("active", "needs_reauth", "needs_rate", "error", "paused")


class Connection(CreatedAt, Base):
    """One ad account or shop connected to a workspace."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    external_account_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # For Shopify: the shop's myshopify domain, used to route webhooks.
    shop_domain: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    sync_frequency_minutes: Mapped[int] = mapped_column(Integer, default=15)
    last_sync_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_sync_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    backfilled_through: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # AES-256-GCM ciphertext of the provider credentials (see metricx.crypto).
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Optimistic counter bumped per sync so concurrent runs can be told apart.
    sync_generation: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        # Serves idempotent connect: the same account connected twice is one row.
        UniqueConstraint("workspace_id", "provider", "external_account_id"),
        Index(None, "next_sync_at", info={"serves": "scheduler: connections due for a sync"}),
        Index(None, "shop_domain", info={"serves": "Shopify webhook routing by shop domain"}),
    )


class SyncRun(CreatedAt, Base):
    """One execution of a job against a connection or workspace."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    counters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index(
            None,
            "connection_id",
            "created_at",
            info={"serves": "latest runs of a connection (status endpoint)"},
        ),
        Index(None, "workspace_id", "created_at", info={"serves": "a workspace's job history"}),
    )
