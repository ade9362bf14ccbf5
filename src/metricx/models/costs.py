"""Manual costs and currency rates."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, BigId, CreatedAt


class ManualCost(CreatedAt, Base):
    """A cost entered by hand (agency fee, influencer), spread evenly over its days."""

    __tablename__ = "manual_costs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="other")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    original_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    original_amount_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index(
            None,
            "workspace_id",
            "start_date",
            info={"serves": "manual costs overlapping a period (profit, POAS)"},
        ),
    )


class FxRate(Base):
    """How many units of quote_currency one unit of base_currency buys on a day."""

    __tablename__ = "fx_rates"

    # The primary key serves the rate lookup when converting a day's amounts.
    rate_date: Mapped[date] = mapped_column(Date, primary_key=True)
    base_currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote_currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[float] = mapped_column(Float)
