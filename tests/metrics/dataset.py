"""A small seeded dataset written through metricx.sync.writer, plus its raw rows.

Two ad connections (Meta: 2 campaigns x 2 ad sets x 4 ads; Google: 1 campaign x 2 ad sets
x 6 ads and a Performance Max campaign with facts at campaign level), a Shopify shop with
orders (refunds, cancelled, test and voided ones) and one manual cost. The raw rows are kept
so tests can recompute every number in plain Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metricx.db import Database
from metricx.models import Connection, ManualCost
from metricx.sync.writer import (
    EntityRow,
    FactRow,
    OrderLineRow,
    OrderRow,
    upsert_entities,
    upsert_facts,
    upsert_orders,
)
from tests.factories import Tenant, make_tenant


@dataclass
class Dataset:
    """The tenant and every raw row written for it."""

    tenant: Tenant
    today: date
    facts: list[tuple[str, FactRow]] = field(default_factory=list)  # (provider, row)
    orders: list[OrderRow] = field(default_factory=list)
    costs: list[tuple[date, date, int]] = field(default_factory=list)
    # entity id -> (level, parent id, provider, name, status)
    entities: dict[int, tuple[str, int | None, str, str, str]] = field(default_factory=dict)
    connection_ids: dict[str, int] = field(default_factory=dict)

    def ids(self, level: str) -> list[int]:
        """Entity ids at a level."""
        return [i for i, e in self.entities.items() if e[0] == level]

    def ancestor(self, entity_id: int, level: str) -> int | None:
        """The entity itself or its ancestor at `level`."""
        current: int | None = entity_id
        while current is not None:
            if self.entities[current][0] == level:
                return current
            current = self.entities[current][1]
        return None


def _tree(prefix: str, campaigns: list[tuple[str, str, int, int]]) -> list[EntityRow]:
    rows = [EntityRow("account", f"{prefix}-act", f"{prefix} account")]
    for camp, status, adsets, ads in campaigns:
        rows.append(
            EntityRow("campaign", camp, f"{prefix} {camp}", status, "account", f"{prefix}-act")
        )
        for s in range(adsets):
            adset = f"{camp}-s{s}"
            rows.append(EntityRow("adset", adset, f"{camp} set {s}", status, "campaign", camp))
            for a in range(ads):
                rows.append(
                    EntityRow(
                        "ad",
                        f"{adset}-a{a}",
                        f"{camp} ad {s}.{a}",
                        status,
                        "adset",
                        adset,
                        thumbnail_url=f"https://cdn.example.com/{adset}-a{a}.jpg",
                    )
                )
    return rows


def _fact(rng: random.Random, entity_id: int, day: date) -> FactRow:
    impressions = rng.randint(0, 20_000)
    clicks = rng.randint(0, impressions // 20 + 1)
    return FactRow(
        entity_id=entity_id,
        event_date=day,
        spend_micros=rng.randint(0, 80_000_000),
        impressions=impressions,
        clicks=clicks,
        conversions=round(rng.random() * 4, 2) if rng.random() > 0.3 else 0.0,
        revenue_micros=rng.randint(0, 300_000_000),
    )


async def build(
    db: Database,
    *,
    today: date,
    email: str = "owner@example.com",
    timezone: str = "UTC",
    days: int = 120,
    seed: int = 7,
) -> Dataset:
    """Write the dataset for a new tenant whose local today is `today`."""
    rng = random.Random(seed)
    tenant = await make_tenant(db, email, timezone=timezone)
    ds = Dataset(tenant=tenant, today=today)
    ws = tenant.workspace_id
    first = today - timedelta(days=days - 1)
    trees = {
        "meta": _tree("meta", [("m1", "active", 2, 4), ("m2", "paused", 2, 4)]),
        "google": _tree("google", [("g1", "active", 2, 6), ("pmax", "active", 0, 0)]),
    }
    async with db.transaction() as s:
        for provider in ("meta", "google", "shopify"):
            conn = Connection(
                workspace_id=ws, provider=provider, external_account_id=f"{provider}-1",
                name=f"{provider} account", last_success_at=datetime(2026, 1, 1, tzinfo=UTC),
            )  # fmt: skip
            s.add(conn)
            await s.flush()
            ds.connection_ids[provider] = conn.id
        for provider, rows in trees.items():
            ids = await upsert_entities(
                s, workspace_id=ws, connection_id=ds.connection_ids[provider],
                provider=provider, rows=rows,
            )  # fmt: skip
            for row in rows:
                parent = ids.get((row.parent_level, row.parent_external_id))  # type: ignore[arg-type]
                ids_key = ids[(row.level, row.external_id)]
                ds.entities[ids_key] = (row.level, parent, provider, row.name, row.status)
            leaves = [ids[(r.level, r.external_id)] for r in rows if r.level == "ad"]
            if provider == "google":
                leaves.append(ids[("campaign", "pmax")])  # Performance Max: campaign facts
            facts = [
                _fact(rng, entity_id, first + timedelta(days=d))
                for d in range(days)
                for entity_id in leaves
                if rng.random() > 0.15
            ]
            await upsert_facts(
                s, workspace_id=ws, connection_id=ds.connection_ids[provider],
                provider=provider, rows=facts,
            )  # fmt: skip
            ds.facts.extend((provider, f) for f in facts)
        ds.orders = _orders(rng, first, days, ZoneInfo(timezone))
        await upsert_orders(
            s, workspace_id=ws, connection_id=ds.connection_ids["shopify"], rows=ds.orders
        )
        cost = (today - timedelta(days=50), today - timedelta(days=6), 1_234_567_891)
        s.add(ManualCost(workspace_id=ws, name="Agency", start_date=cost[0], end_date=cost[1],
                         amount_micros=cost[2]))  # fmt: skip
        ds.costs.append(cost)
    return ds


def _orders(rng: random.Random, first: date, days: int, tz: ZoneInfo) -> list[OrderRow]:
    orders = []
    for d in range(days):
        day = first + timedelta(days=d)
        for n in range(rng.randint(0, 6)):
            # Local times, some right before midnight, stored in UTC.
            seconds = rng.choice([rng.randint(0, 86_399), 86_399 - rng.randint(0, 600)])
            local = datetime.combine(day, time()).replace(tzinfo=tz) + timedelta(seconds=seconds)
            created = local.astimezone(UTC)
            total = rng.randint(5_000_000, 250_000_000)
            roll = rng.random()
            lines = [
                OrderLineRow(external_id=f"l{i}", price_micros=total // 2,
                             cogs_micros=rng.randint(1_000_000, 40_000_000))
                for i in range(rng.randint(1, 3))
            ]  # fmt: skip
            orders.append(
                OrderRow(
                    external_id=f"o{d}-{n}",
                    created_at=created,
                    order_date=local.date(),
                    updated_at=created,
                    currency="USD",
                    total_micros=total,
                    refunded_micros=rng.randint(1, total) if 0.15 < roll < 0.30 else 0,
                    cancelled_at=created if 0.30 <= roll < 0.35 else None,
                    is_test=0.35 <= roll < 0.38,
                    financial_status="voided" if 0.38 <= roll < 0.41 else "paid",
                    lines=lines,
                )
            )
    return orders
