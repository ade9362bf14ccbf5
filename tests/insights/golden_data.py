"""The golden set's fixed dataset, and a plain-Python recomputation of any golden query.

The dataset is seeded and written through metricx.sync.writer: three ad platforms (Meta,
Google, TikTok; five campaigns, one paused; nine ads), Shopify orders (refunds, cancelled,
test and voided ones) and one manual cost, every day from 2025-01-01 to TODAY. Conversions
are multiples of 0.25 so float sums are exact in any order, and every expectation below
follows the documented formulas and rounding (money to the cent half-up, ratios to 4
decimals, percents to 2) on the raw rows, never calling the engine.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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

FIRST = date(2025, 1, 1)
CAMPAIGNS = [  # provider, campaign, status, ad set, ads
    ("meta", "Prospecting - Broad", "active", "Broad 18-65", ["UGC video", "Carousel"]),
    ("meta", "Retargeting 7d", "active", "Site visitors", ["Dynamic product", "Testimonial"]),
    ("google", "Brand Search", "active", "Brand exact", ["Brand RSA one", "Brand RSA two"]),
    ("google", "Black Friday Search", "paused", "BF keywords", ["BF RSA"]),
    ("tiktok", "Black Friday Spark", "active", "Spark creators", ["Spark hook", "Spark demo"]),
]
AD_ONLY = {"spend", "impressions", "clicks", "conversions", "revenue"}
AD_ONLY |= {"roas", "cpa", "cpc", "cpm", "ctr", "cvr"}
PERCENT = {"ctr", "cvr"}


@dataclass(frozen=True)
class Ent:
    id: int
    level: str
    parent: int | None
    provider: str
    name: str
    status: str


@dataclass
class GoldenData:
    tenant: Tenant
    entities: dict[int, Ent] = field(default_factory=dict)
    facts: list[FactRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    costs: list[tuple[date, date, int]] = field(default_factory=list)

    def ancestor(self, entity_id: int, level: str) -> Ent | None:
        current: int | None = entity_id
        while current is not None:
            ent = self.entities[current]
            if ent.level == level:
                return ent
            current = ent.parent
        return None


def _fact(rng: random.Random, entity_id: int, day: date, boost: float) -> FactRow:
    impressions = rng.randint(500, 20_000)
    return FactRow(
        entity_id=entity_id,
        event_date=day,
        spend_micros=rng.randint(1_000_000, 90_000_000),
        impressions=impressions,
        clicks=rng.randint(0, impressions // 25),
        conversions=rng.randint(0, 12) * 0.25,
        revenue_micros=int(rng.randint(0, 300_000_000) * boost),
    )


async def build_golden(
    db: Database, today: date, *, email: str = "golden@example.com", seed: int = 2026
) -> GoldenData:
    """Write the dataset for a new tenant (UTC) whose data runs FIRST..today."""
    rng = random.Random(seed)
    tenant = await make_tenant(db, email)
    data = GoldenData(tenant=tenant)
    ws = tenant.workspace_id
    days = (today - FIRST).days + 1
    async with db.transaction() as s:
        conns: dict[str, int] = {}
        for provider in ("meta", "google", "tiktok", "shopify"):
            conn = Connection(
                workspace_id=ws, provider=provider, external_account_id=f"{provider}-g",
                name=f"{provider} account", last_success_at=datetime(2026, 1, 1, tzinfo=UTC),
            )  # fmt: skip
            s.add(conn)
            await s.flush()
            conns[provider] = conn.id
        for provider in ("meta", "google", "tiktok"):
            rows = [EntityRow("account", f"{provider}-act", f"{provider} account")]
            for i, (p, camp, status, adset, ads) in enumerate(CAMPAIGNS):
                if p != provider:
                    continue
                rows.append(
                    EntityRow("campaign", f"c{i}", camp, status, "account", rows[0].external_id)
                )
                rows.append(EntityRow("adset", f"s{i}", adset, status, "campaign", f"c{i}"))
                rows += [
                    EntityRow("ad", f"a{i}-{j}", ad, status, "adset", f"s{i}")
                    for j, ad in enumerate(ads)
                ]  # fmt: skip
            ids = await upsert_entities(
                s, workspace_id=ws, connection_id=conns[provider], provider=provider, rows=rows
            )
            for row in rows:
                parent = ids.get((row.parent_level, row.parent_external_id))  # type: ignore[arg-type]
                own = ids[(row.level, row.external_id)]
                data.entities[own] = Ent(own, row.level, parent, provider, row.name, row.status)
            leaves = [ids[(r.level, r.external_id)] for r in rows if r.level == "ad"]
            facts = []
            for d in range(days):
                for n, entity_id in enumerate(leaves):
                    if rng.random() < 0.9:
                        boost = 1.0 + 0.3 * ((d + n) % 3)
                        facts.append(_fact(rng, entity_id, FIRST + timedelta(days=d), boost))
            await upsert_facts(
                s, workspace_id=ws, connection_id=conns[provider], provider=provider, rows=facts
            )
            data.facts.extend(facts)
        data.orders = _orders(rng, days)
        await upsert_orders(s, workspace_id=ws, connection_id=conns["shopify"], rows=data.orders)
        cost = (date(2026, 10, 15), date(2026, 11, 20), 2_345_678_901)
        s.add(ManualCost(workspace_id=ws, name="Agency", start_date=cost[0], end_date=cost[1],
                         amount_micros=cost[2]))  # fmt: skip
        data.costs.append(cost)
    return data


def _orders(rng: random.Random, days: int) -> list[OrderRow]:
    orders = []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        for n in range(rng.randint(0, 4)):
            created = datetime.combine(day, time(), tzinfo=UTC) + timedelta(
                seconds=rng.randint(0, 86_399)
            )
            total = rng.randint(5_000_000, 250_000_000)
            roll = rng.random()
            lines = [
                OrderLineRow(external_id=f"l{i}", price_micros=total // 2,
                             cogs_micros=rng.randint(1_000_000, 40_000_000))
                for i in range(rng.randint(1, 2))
            ]  # fmt: skip
            orders.append(
                OrderRow(
                    external_id=f"o{d}-{n}",
                    created_at=created,
                    order_date=day,
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


# --- the plain-Python recomputation ------------------------------------------------------


def resolve_timeframe(spec: dict[str, str], today: date) -> tuple[date, date]:
    """The documented timeframe rules: last_N_days ends yesterday; this_month is to date."""
    if "start" in spec:
        return date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
    key, yesterday = spec["key"], today - timedelta(days=1)
    if key == "today":
        return today, today
    if key == "yesterday":
        return yesterday, yesterday
    if key.startswith("last_") and key.endswith("_days"):
        return yesterday - timedelta(days=int(key.split("_")[1]) - 1), yesterday
    if key == "this_month":
        return today.replace(day=1), today
    assert key == "last_month", key
    month = today.month - 1 or 12
    year = today.year if today.month > 1 else today.year - 1
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def previous_period(start: date, end: date) -> tuple[date, date]:
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def amount(micros: int | float) -> float:
    exact = Decimal(micros) if isinstance(micros, int) else Decimal(repr(float(micros)))
    return float((exact / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return None if not den else num / den * scale


def display(metric: str, s: dict[str, Any]) -> float | None:
    """A metric as the engine reports it from base sums (percent still in percent)."""
    if metric in ("spend", "revenue", "order_revenue", "cogs", "manual_costs"):
        return amount(s[metric])
    if metric in ("impressions", "clicks", "orders"):
        return s[metric]
    if metric == "conversions":
        return round(float(s[metric]), 2)
    money = {
        "cpa": ("spend", "conversions", 1.0),
        "cpc": ("spend", "clicks", 1.0),
        "cpm": ("spend", "impressions", 1000),
        "aov": ("order_revenue", "orders", 1.0),
    }
    if metric in money:
        num, den, scale = money[metric]
        raw = _ratio(s[num], s[den], scale)
        return None if raw is None else amount(raw)
    if metric == "roas":
        raw = _ratio(s["revenue"], s["spend"])
    elif metric == "mer":
        raw = _ratio(s["order_revenue"], s["spend"])
    elif metric == "poas":
        raw = _ratio(s["order_revenue"] - s["cogs"], s["spend"])
    elif metric == "ctr":
        raw = _ratio(s["clicks"], s["impressions"], 100)
        return None if raw is None else round(raw, 2)
    elif metric == "cvr":
        raw = _ratio(s["conversions"], s["clicks"], 100)
        return None if raw is None else round(raw, 2)
    else:
        assert metric == "profit", metric
        return amount(s["order_revenue"] - s["cogs"] - s["spend"] - s["manual_costs"])
    return None if raw is None else round(raw, 4)


def raw_sort_value(metric: str, s: dict[str, Any]) -> float | None:
    """The unrounded value SQL sorts entity rows by."""
    if metric in AD_ONLY - {"roas", "cpa", "cpc", "cpm", "ctr", "cvr"}:
        return s[metric]
    pairs = {
        "roas": ("revenue", "spend", 1.0),
        "cpa": ("spend", "conversions", 1.0),
        "cpc": ("spend", "clicks", 1.0),
        "cpm": ("spend", "impressions", 1000),
        "ctr": ("clicks", "impressions", 100),
        "cvr": ("conversions", "clicks", 100),
    }
    num, den, scale = pairs[metric]
    return _ratio(s[num], s[den], scale)


def insights_unit(metric: str, value: float | None) -> float | None:
    """Percent metrics as the fraction insights use."""
    return value / 100 if value is not None and metric in PERCENT else value


class Expect:
    """Expected results of golden queries over a GoldenData's raw rows."""

    def __init__(self, data: GoldenData, today: date) -> None:
        self.data, self.today = data, today

    def _fact_ok(self, f: FactRow, filters: dict[str, Any], row_level: str | None) -> bool:
        ent = self.data.entities[f.entity_id]
        if filters.get("provider") and ent.provider not in filters["provider"]:
            return False
        if row_level is None and (filters.get("status") or filters.get("name_contains")):
            camp = self.data.ancestor(f.entity_id, "campaign")
            return camp is not None and _entity_ok(camp, filters)
        return True

    def sums(
        self, lo: date, hi: date, filters: dict[str, Any], *, entity: Ent | None = None
    ) -> dict[str, Any]:
        s: dict[str, Any] = {k: 0 for k in ("spend", "impressions", "clicks", "revenue")}
        s["conversions"] = 0.0
        for f in self.data.facts:
            if not lo <= f.event_date <= hi:
                continue
            if entity is not None:
                found = self.data.ancestor(f.entity_id, entity.level)
                if found is None or found.id != entity.id:
                    continue
            if not self._fact_ok(f, filters, entity.level if entity else None):
                continue
            s["spend"] += f.spend_micros
            s["impressions"] += f.impressions
            s["clicks"] += f.clicks
            s["conversions"] += f.conversions
            s["revenue"] += f.revenue_micros
        s["orders"] = s["order_revenue"] = s["cogs"] = 0
        for o in self.data.orders:
            valid = o.cancelled_at is None and not o.is_test and o.financial_status != "voided"
            if valid and lo <= o.order_date <= hi:
                s["orders"] += 1
                s["order_revenue"] += o.total_micros - o.refunded_micros
                s["cogs"] += sum(line.cogs_micros for line in o.lines)
        manual = 0.0
        for c_start, c_end, micros in self.data.costs:
            overlap = (min(c_end, hi) - max(c_start, lo)).days + 1
            if overlap > 0:
                manual += micros * overlap / ((c_end - c_start).days + 1)
        s["manual_costs"] = manual
        return s

    def _values(self, metrics: list[str], s: dict[str, Any], ads_only: bool) -> dict[str, Any]:
        return {m: (display(m, s) if not ads_only or m in AD_ONLY else None) for m in metrics}

    def results(self, query: dict[str, Any]) -> dict[str, Any]:
        """The expected results: totals, previous totals, rows (engine units for percent)."""
        metrics, filters = query["metrics"], query["filters"]
        start, end = resolve_timeframe(query["timeframe"], self.today)
        pstart, pend = previous_period(start, end)
        out: dict[str, Any] = {
            "start": start,
            "end": end,
            "totals": self._values(metrics, self.sums(start, end, filters), False),
            "previous_totals": None,
            "rows": [],
        }
        if query["compare"]:
            out["previous_totals"] = self._values(metrics, self.sums(pstart, pend, filters), False)
            out["previous_start"], out["previous_end"] = pstart, pend
        bd = query["breakdown"]
        if bd is None:
            return out
        by, order, limit = bd["by"], bd.get("order"), bd.get("limit")
        first = metrics[0]
        ad_metrics = [m for m in metrics if m in AD_ONLY]
        sort = first if first in AD_ONLY else next(iter(ad_metrics), "spend")
        rows: list[dict[str, Any]] = []
        lo = pstart if query["compare"] else start
        if by == "provider":
            providers = sorted(
                {
                    self.data.entities[f.entity_id].provider
                    for f in self.data.facts
                    if lo <= f.event_date <= end and self._fact_ok(f, filters, None)
                }
            )
            for p in providers:
                pf = {**filters, "provider": [p]}
                row = {"key": p, "label": p.capitalize() if p != "tiktok" else "TikTok"}
                row["values"] = self._values(metrics, self.sums(start, end, pf), True)
                if query["compare"]:
                    row["previous"] = self._values(metrics, self.sums(pstart, pend, pf), True)
                rows.append(row)
            rows = _sorted(rows, sort, order or "desc")
        elif by in ("campaign", "adset", "ad"):
            ents = [
                e
                for e in sorted(self.data.entities.values(), key=lambda e: e.id)
                if e.level == by
                and (not filters.get("provider") or e.provider in filters["provider"])
                and _entity_ok(e, filters)
            ]
            keyed = []
            for e in ents:
                cur = self.sums(start, end, filters, entity=e)
                row = {"key": str(e.id), "label": e.name}
                row["values"] = self._values(metrics, cur, True)
                if query["compare"]:
                    prev = self.sums(pstart, pend, filters, entity=e)
                    row["previous"] = self._values(metrics, prev, True)
                raw = raw_sort_value(sort, cur)
                desc = order != "asc"
                keyed.append(
                    ((raw is None, 0 if raw is None else (-raw if desc else raw), e.id), row)
                )
            rows = [r for _, r in sorted(keyed, key=lambda kr: kr[0])]
        else:
            buckets: list[tuple[date, date]] = []
            if by == "day":
                buckets = [(d, d) for d in _dates(start, end)]
            else:
                monday = start - timedelta(days=start.weekday())
                while monday <= end:
                    buckets.append((max(monday, start), min(monday + timedelta(days=6), end)))
                    monday += timedelta(days=7)
            for b_lo, b_hi in buckets:
                row = {"key": b_lo.isoformat(), "label": b_lo.isoformat()}
                row["values"] = self._values(metrics, self.sums(b_lo, b_hi, filters), False)
                rows.append(row)
            if order is not None:
                rows = _sorted(rows, first, order)
        out["rows"] = rows[:limit] if limit else rows
        return out


def _entity_ok(e: Ent, filters: dict[str, Any]) -> bool:
    if filters.get("status") and e.status not in filters["status"]:
        return False
    needle = filters.get("name_contains")
    return not needle or needle.lower() in e.name.lower()


def _sorted(rows: list[dict[str, Any]], metric: str, order: str) -> list[dict[str, Any]]:
    def key(row: dict[str, Any]) -> tuple[bool, float]:
        v = row["values"].get(metric)
        return (v is None, 0 if v is None else (v if order == "asc" else -v))

    return sorted(rows, key=key)


def _dates(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def expected_numbers(expected: dict[str, Any], metrics: list[str], compare: bool) -> dict[str, Any]:
    """Paths into the answer's `results` and their expected values (insights units)."""
    numbers: dict[str, Any] = {}
    for m in metrics:
        numbers[f"totals.{m}"] = insights_unit(m, expected["totals"][m])
        if compare:
            numbers[f"previous_totals.{m}"] = insights_unit(m, expected["previous_totals"][m])
    for i, row in enumerate(expected["rows"]):
        numbers[f"rows[{i}].key"] = row["key"]
        numbers[f"rows[{i}].label"] = row["label"]
        for m in metrics:
            numbers[f"rows[{i}].{m}"] = insights_unit(m, row["values"][m])
            if compare and "previous" in row:
                numbers[f"rows[{i}].previous.{m}"] = insights_unit(m, row["previous"][m])
    return numbers
