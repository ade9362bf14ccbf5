"""Shopify orders, their lines, and the webhook deliveries that carried them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from metricx.models.base import Base, BigId, CreatedAt, UTCDateTime, utcnow


class ShopifyOrder(CreatedAt, Base):
    """One order; money in workspace-currency micros, originals kept where they differ."""

    __tablename__ = "shopify_orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(64), default="")
    created_at_shop: Mapped[datetime] = mapped_column(UTCDateTime())
    # The shop's local calendar day of created_at_shop: the day the order counts on.
    order_date: Mapped[date] = mapped_column(Date)
    # Shopify's updated_at: an older update never overwrites a newer one.
    source_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    total_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    subtotal_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    discounts_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    cogs_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    original_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    original_total_micros: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    financial_status: Mapped[str] = mapped_column(String(32), default="paid")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_email_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    landing_site: Mapped[str | None] = mapped_column(Text, nullable=True)
    referring_site: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    utm_source: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_medium: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_content: Mapped[str | None] = mapped_column(String(255), nullable=True)
    utm_term: Mapped[str | None] = mapped_column(String(255), nullable=True)
    fbclid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    gclid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ttclid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    checkout_token: Mapped[str | None] = mapped_column(String(128), nullable=True)
    visitor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note_attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # Serves the one upsert used by webhooks, sync and the demo.
        UniqueConstraint("connection_id", "external_id"),
        Index(
            None,
            "workspace_id",
            "order_date",
            postgresql_include=["total_micros", "refunded_micros", "cogs_micros"],
            info={"serves": "orders and order revenue per period (dashboard, MER, AOV)"},
        ),
        Index(
            None,
            "workspace_id",
            "checkout_token",
            info={"serves": "attribution: match an order to a journey by checkout token"},
        ),
        Index(
            None,
            "workspace_id",
            "customer_email_hash",
            info={"serves": "attribution: match by email hash; GDPR customer redact"},
        ),
    )


def counted_order_conditions() -> list[Any]:
    """What the metrics count as an order: not cancelled, not a test, not voided."""
    return [
        ShopifyOrder.cancelled_at.is_(None),
        ShopifyOrder.is_test == false(),
        ShopifyOrder.financial_status != "voided",
    ]


class DailyOrderRollup(Base):
    """Counted orders, net revenue and COGS per (workspace, shop-local day).

    Rewritten for the touched days with every order write, like daily_rollups for facts;
    order_rows counts every stored order of the day, counted or not.
    """

    __tablename__ = "daily_order_rollups"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    order_date: Mapped[date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    cogs_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    order_rows: Mapped[int] = mapped_column(BigInteger, default=0)


class ShopifyOrderLine(Base):
    """One line item of an order, with its cost of goods."""

    __tablename__ = "shopify_order_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shopify_orders.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    variant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sku: Mapped[str | None] = mapped_column(String(128), nullable=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    cogs_micros: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        # Serves idempotent line upserts and reading an order's lines.
        UniqueConstraint("order_id", "external_id"),
        Index(None, "workspace_id", info={"serves": "FK cascade on workspace delete"}),
    )


class WebhookDelivery(Base):
    """A webhook delivery already processed; its id makes redelivery a no-op."""

    __tablename__ = "webhook_deliveries"

    webhook_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True
    )
    topic: Mapped[str] = mapped_column(String(64))
    shop_domain: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index(None, "workspace_id", info={"serves": "FK cascade on workspace delete"}),
    )
