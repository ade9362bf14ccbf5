"""Every table of metricx; importing this package registers them all on Base.metadata."""

from metricx.models.attribution import Attribution, Journey, PixelEvent, QaLog, Touchpoint
from metricx.models.base import Base, utcnow
from metricx.models.connections import Connection, SyncRun
from metricx.models.costs import FxRate, ManualCost
from metricx.models.entities import Entity
from metricx.models.facts import DailyRollup, EntitySummary, MetricFact
from metricx.models.orders import (
    DailyOrderRollup,
    ShopifyOrder,
    ShopifyOrderLine,
    WebhookDelivery,
    counted_order_conditions,
)
from metricx.models.users import ApiToken, AuthSession, PasswordResetToken, User
from metricx.models.workspaces import Invite, Membership, Workspace

__all__ = [
    "ApiToken",
    "Attribution",
    "AuthSession",
    "Base",
    "Connection",
    "DailyOrderRollup",
    "DailyRollup",
    "Entity",
    "EntitySummary",
    "FxRate",
    "Invite",
    "Journey",
    "ManualCost",
    "Membership",
    "MetricFact",
    "PasswordResetToken",
    "PixelEvent",
    "QaLog",
    "ShopifyOrder",
    "ShopifyOrderLine",
    "SyncRun",
    "Touchpoint",
    "User",
    "WebhookDelivery",
    "Workspace",
    "counted_order_conditions",
    "utcnow",
]
