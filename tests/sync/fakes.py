"""A tiny in-test connector implementing the AdConnector / ShopConnector protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

from metricx.connectors.base import AccountInfo, RawFact
from metricx.crypto import SecretBox
from metricx.db import Database
from metricx.models import Connection
from metricx.sync.writer import EntityRow, OrderRow

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 31)
FIRST_DAY = TODAY - timedelta(days=89)


class FakeAds:
    """`ads` ads in 5 campaigns; values are a pure function of (ad, day, restated)."""

    provider = "meta"

    def __init__(
        self,
        ads: int = 50,
        *,
        currency: str = "USD",
        timezone: str = "UTC",
        restated: set[tuple[int, date]] | None = None,
        fail_after_chunks: int | None = None,
        account_error: Exception | None = None,
        facts_error: Exception | None = None,
    ) -> None:
        self.ads = ads
        self.currency = currency
        self.timezone = timezone
        self.restated = restated or set()
        self.fail_after_chunks = fail_after_chunks
        self.account_error = account_error
        self.facts_error = facts_error
        self.fact_calls: list[tuple[date, date]] = []

    async def account(self) -> AccountInfo:
        if self.account_error:
            raise self.account_error
        return AccountInfo("act_1", "Fake account", self.currency, self.timezone)

    async def entities(self) -> list[EntityRow]:
        rows = [EntityRow("account", "act_1", "Fake account")]
        for c in range(5):
            rows.append(
                EntityRow("campaign", f"c{c}", f"Campaign {c}", "active", "account", "act_1")
            )
            rows.append(EntityRow("adset", f"s{c}", f"Set {c}", "active", "campaign", f"c{c}"))
        for a in range(self.ads):
            rows.append(EntityRow("ad", f"ad{a}", f"Ad {a}", "active", "adset", f"s{a % 5}"))
        return rows

    def value(self, ad: int, day: date) -> RawFact:
        n = (day - FIRST_DAY).days
        bump = 7 if (ad, day) in self.restated else 0
        return RawFact(
            level="ad",
            external_id=f"ad{ad}",
            event_date=day,
            spend_micros=(ad + 1) * 1_000_000 + n * 10_000 + bump * 1_000_000,
            impressions=1000 + ad + n,
            clicks=10 + ad % 7 + bump,
            conversions=float(ad % 3) + bump,
            revenue_micros=(ad % 4) * 3_000_000 + bump * 2_000_000,
        )

    async def facts(self, start: date, end: date) -> AsyncIterator[list[RawFact]]:
        if self.facts_error:
            raise self.facts_error
        if self.fail_after_chunks is not None and len(self.fact_calls) >= self.fail_after_chunks:
            raise RuntimeError("worker killed")
        self.fact_calls.append((start, end))
        page: list[RawFact] = []
        day = max(start, FIRST_DAY)
        while day <= min(end, TODAY):
            for ad in range(self.ads):
                page.append(self.value(ad, day))
                if len(page) == 333:
                    yield page
                    page = []
            day += timedelta(days=1)
        if page:
            yield page

    def expected_spend(self, days: list[date]) -> int:
        return sum(self.value(a, d).spend_micros for a in range(self.ads) for d in days)


class FakeShop:
    """Two orders a day in the shop's currency."""

    provider = "shopify"

    def __init__(self, currency: str = "USD") -> None:
        self.currency = currency

    async def account(self) -> AccountInfo:
        return AccountInfo("shop.myshopify.com", "Shop", self.currency, "UTC")

    async def orders(self, start: date, end: date) -> AsyncIterator[list[OrderRow]]:
        out = []
        day = max(start, FIRST_DAY)
        while day <= min(end, TODAY):
            for i in range(2):
                at = datetime(day.year, day.month, day.day, 10 + i, tzinfo=UTC)
                out.append(
                    OrderRow(
                        external_id=f"{day.isoformat()}-{i}",
                        created_at=at,
                        order_date=day,
                        updated_at=at,
                        currency=self.currency,
                        total_micros=50_000_000,
                    )
                )
            day += timedelta(days=1)
        yield out


async def add_connection(
    db: Database,
    workspace_id: int,
    provider: str = "meta",
    *,
    account: str = "act_1",
    credentials: dict | None = None,
    next_sync_at: datetime | None = None,
    status: str = "active",
) -> int:
    """Insert a connection with encrypted credentials and return its id."""
    box = SecretBox.from_settings(db.settings)
    async with db.transaction() as s:
        conn = Connection(
            workspace_id=workspace_id,
            provider=provider,
            external_account_id=account,
            name=f"{provider} {account}",
            status=status,
            credentials_encrypted=box.encrypt_json(credentials or {"access_token": "tok"}),
            settings={},
            next_sync_at=next_sync_at,
            sync_frequency_minutes=15,
        )
        s.add(conn)
        await s.flush()
        return conn.id
