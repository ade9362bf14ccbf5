"""What every connector returns: typed rows, never database objects.

Connectors speak HTTP to one provider and turn its answers into these rows; the sync
jobs (metricx.sync) write them through metricx.sync.writer. Money here is in the
account's own currency, as integer micros; conversion to the workspace currency happens
in the sync, where the fx_rates table is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from metricx.sync.writer import EntityRow, OrderRow


@dataclass(slots=True)
class AccountInfo:
    """The ad account or shop behind a connection."""

    external_id: str
    name: str
    currency: str
    timezone: str


@dataclass(slots=True)
class RawFact:
    """One entity-day as the provider reports it (account currency micros)."""

    level: str
    external_id: str
    event_date: date
    spend_micros: int = 0
    impressions: int = 0
    clicks: int = 0
    conversions: float = 0.0
    revenue_micros: int = 0
    leads: float | None = None
    purchases: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


class ConnectorError(Exception):
    """A provider call failed in a way the job should record."""

    retryable = False


class AuthExpired(ConnectorError):
    """The credentials no longer work: the connection needs re-authorisation."""


class ProviderRateLimited(ConnectorError):
    """The provider asked us to wait `retry_after` seconds."""

    retryable = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientProviderError(ConnectorError):
    """A 5xx, timeout or maintenance answer: retry with backoff."""

    retryable = True


class AdConnector(Protocol):
    """An ad platform: account info, the entity tree, daily facts at the leaf level."""

    provider: str

    async def account(self) -> AccountInfo: ...

    async def entities(self) -> list[EntityRow]: ...

    def facts(self, start: date, end: date) -> AsyncIterator[list[RawFact]]: ...


class ShopConnector(Protocol):
    """A shop: account info and orders updated in a window (shop currency micros)."""

    provider: str

    async def account(self) -> AccountInfo: ...

    def orders(self, start: date, end: date) -> AsyncIterator[list[OrderRow]]: ...
