"""Daily performance facts and the rollups kept in step with them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, UTCDateTime, utcnow


class MetricFact(Base):
    """One entity's measures on one local calendar day (money in workspace-currency micros)."""

    __tablename__ = "metric_facts"

    # The primary key (entity_id, event_date) makes every fact write an idempotent upsert.
    entity_id: Mapped[int] = mapped_column(
        ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
    )
    event_date: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    spend_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[float] = mapped_column(Float, default=0.0)
    revenue_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    leads: Mapped[float | None] = mapped_column(Float, nullable=True)
    purchases: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Where the account currency differs from the workspace currency.
    original_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    original_spend_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    original_revenue_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index(
            None,
            "workspace_id",
            "event_date",
            "entity_id",
            postgresql_include=[
                "provider",
                "spend_micros",
                "impressions",
                "clicks",
                "conversions",
                "revenue_micros",
            ],
            info={
                "serves": "custom-range aggregates and entity rows for one workspace "
                "(covering: index-only scans on PostgreSQL); rollup refresh"
            },
        ),
        Index(
            None,
            "connection_id",
            "event_date",
            info={"serves": "per-connection totals, restatement windows, FK cascade"},
        ),
    )


class DailyRollup(Base):
    """Sums of metric_facts per (workspace, day, provider), written with every fact write."""

    __tablename__ = "daily_rollups"

    # The primary key serves every dashboard KPI, sparkline, chart and spend-mix query.
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    event_date: Mapped[date] = mapped_column(Date, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    spend_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[float] = mapped_column(Float, default=0.0)
    revenue_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    fact_rows: Mapped[int] = mapped_column(BigInteger, default=0)


class EntitySummary(Base):
    """Sums of metric_facts over one preset window (see metricx.metrics.summaries).

    grain 'fact' rows sit at the facts' own entities; 'ad', 'adset' and 'campaign' rows
    are those rolled up to each level, so ranking the ads or campaigns of a window reads a
    few thousand rows and no tree. workspaces.summary_end says which windows are held.
    """

    __tablename__ = "entity_summaries"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    start_date: Mapped[date] = mapped_column(Date, primary_key=True)
    end_date: Mapped[date] = mapped_column(Date, primary_key=True)
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(
        ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    spend_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[float] = mapped_column(Float, default=0.0)
    revenue_micros: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        Index(None, "entity_id", info={"serves": "FK cascade when an entity is deleted"}),
    )
