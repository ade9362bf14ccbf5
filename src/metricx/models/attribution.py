"""Pixel events, journeys, touchpoints and the attributions computed from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, BigId, UTCDateTime, utcnow


class PixelEvent(Base):
    """One event sent by the first-party pixel."""

    __tablename__ = "pixel_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    visitor_id: Mapped[str] = mapped_column(String(64))
    event_name: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    referrer: Mapped[str | None] = mapped_column(Text, nullable=True)
    utm_source: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_medium: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_content: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_term: Mapped[str | None] = mapped_column(String(255), nullable=True)
    fbclid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    gclid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ttclid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    checkout_token: Mapped[str | None] = mapped_column(String(128), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # Serves dedup by client event id: a resent batch stores nothing twice.
        UniqueConstraint("workspace_id", "event_id"),
        Index(
            None,
            "workspace_id",
            "visitor_id",
            "occurred_at",
            info={"serves": "build a visitor's journey in time order"},
        ),
        Index(
            None,
            "workspace_id",
            "checkout_token",
            info={"serves": "match an order to the visitor who checked out"},
        ),
        Index(None, "workspace_id", "received_at", info={"serves": "pixel health: recent events"}),
    )


class Journey(Base):
    """All touchpoints of one visitor in one workspace."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    email_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # Serves the journey upsert per (workspace, visitor).
        UniqueConstraint("workspace_id", "visitor_id"),
        Index(None, "workspace_id", "email_hash", info={"serves": "match an order by email"}),
    )


class Touchpoint(Base):
    """A visit that arrived from a channel, possibly from a known ad entity."""

    __tablename__ = "touchpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    pixel_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("pixel_events.id", ondelete="SET NULL"), nullable=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="SET NULL"), nullable=True
    )
    match_type: Mapped[str] = mapped_column(String(32), default="none")
    confidence: Mapped[str] = mapped_column(String(8), default="none")
    utm_source: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_medium: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_content: Mapped[str | None] = mapped_column(String(255), nullable=True)
    click_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    referrer: Mapped[str | None] = mapped_column(Text, nullable=True)
    landing_page: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index(None, "journey_id", "occurred_at", info={"serves": "a journey's touches in order"}),
        # Serves dedup: one touchpoint per pixel event.
        UniqueConstraint("pixel_event_id"),
        Index(None, "entity_id", info={"serves": "FK set null on entity delete"}),
        Index(None, "workspace_id", info={"serves": "FK cascade on workspace delete"}),
    )


class Attribution(Base):
    """The credit one order gives to one touch under one model and window."""

    __tablename__ = "attributions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("shopify_orders.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(32))
    window_days: Mapped[int] = mapped_column(Integer)
    # 0 for the first credited touch; one row per credited touch under multi-touch models.
    position: Mapped[int] = mapped_column(Integer, default=0)
    touchpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("touchpoints.id", ondelete="SET NULL"), nullable=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="SET NULL"), nullable=True
    )
    confidence: Mapped[str] = mapped_column(String(8))
    match_type: Mapped[str] = mapped_column(String(32))
    credit: Mapped[float] = mapped_column(Float)
    revenue_micros: Mapped[int] = mapped_column(BigInteger)
    order_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # Serves idempotent recomputation: one row per (order, model, window, credited touch).
        UniqueConstraint("order_id", "model", "window_days", "position"),
        Index(
            None,
            "workspace_id",
            "model",
            "window_days",
            "order_created_at",
            info={"serves": "attribution summary, feed and per-campaign read side"},
        ),
        Index(None, "touchpoint_id", info={"serves": "FK set null on touchpoint delete"}),
        Index(None, "entity_id", info={"serves": "FK set null on entity delete"}),
    )


class QaLog(Base):
    """A question asked, how it was understood and answered."""

    __tablename__ = "qa_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    question: Mapped[str] = mapped_column(Text)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    engine: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str] = mapped_column(Text, default="")
    success: Mapped[bool] = mapped_column(default=True)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index(None, "workspace_id", "created_at", info={"serves": "question history"}),
        Index(None, "user_id", info={"serves": "FK set null on user delete"}),
    )
