"""Daily facts and Shopify orders generated from a workspace plan, in bounded chunks.

Each stream has its own seeded `random.Random`, keyed by seed, workspace and provider, so a
workspace's data does not depend on how many other workspaces are generated or in which
order. Facts come out as plain tuples (cheap to build and to COPY); orders as the writer's
OrderRow. Nothing here touches the database.
"""

# Names use the en dash that ad managers and shops show, on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from metricx.demo.plan import EFFECT_DAYS, ConnectionPlan, Node, WorkspacePlan
from metricx.sync.writer import OrderLineRow, OrderRow

# (entity_id, event_date, spend_micros, impressions, clicks, conversions, revenue_micros)
FactTuple = tuple[int, date, int, int, int, float, int]

# Monday .. Sunday: e-commerce spends and converts a little more towards the weekend.
WEEKDAY = (1.0, 0.97, 0.95, 0.96, 1.02, 1.08, 1.1)
# Orders per local hour, 0..23: quiet at night, peaking in the evening.
HOUR_WEIGHTS: tuple[float, ...] = (1, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.4, 2, 2.4, 2.6, 2.7, 3, 2.8)
HOUR_WEIGHTS += (2.6, 2.6, 2.7, 3, 3.4, 3.8, 4, 3.6, 2.8, 1.8)
HOUR_CUM = list(accumulate(HOUR_WEIGHTS))
CATALOGS = (
    (
        ("Trail Backpack 28L", 89),
        ("Merino Crew Socks 3-Pack", 29),
        ("Packable Down Jacket", 179),
        ("Insulated Bottle 750 ml", 35),
        ("Camp Mug Set", 24),
        ("Rain Shell", 139),
        ("Headlamp 400 lm", 45),
        ("Wool Beanie", 32),
        ("Hiking Pants", 79),
    ),
    (
        ("Linen Lampshade", 65),
        ("Brass Table Lamp", 189),
        ("Scented Candle – Figue", 38),
        ("Ceramic Vase", 54),
        ("Opal Wall Sconce", 149),
        ("Filament Bulb 2-Pack", 19),
        ("Linen Throw", 99),
        ("Marble Coasters", 29),
    ),
)
PAID_SHARE = 0.4
SOURCES = {
    "meta": ("facebook", "paid_social", "https://l.facebook.com/", "fbclid", "IwAR"),
    "google": ("google", "cpc", "https://www.google.com/", "gclid", "Cj0KCQiA"),
    "tiktok": ("tiktok", "paid_social", "https://www.tiktok.com/", "ttclid", "E.C.P."),
}


def day_multipliers(plan: WorkspacePlan) -> list[float]:
    """Weekly seasonality times a gentle growth trend times day-level noise."""
    rng = random.Random(f"{plan.seed}:days:{plan.index}")
    growth = rng.uniform(0.15, 0.45)
    out = []
    for d in range(plan.days):
        day = plan.start_date + timedelta(days=d)
        trend = 1.0 + growth * (d / max(1, plan.days - 1) - 0.5)
        out.append(WEEKDAY[day.weekday()] * trend * rng.uniform(0.94, 1.06))
    return out


def iter_fact_chunks(
    plan: WorkspacePlan,
    conn: ConnectionPlan,
    ids: dict[tuple[str, str], int],
    day_mult: list[float],
    revenue_by_day: list[float],
    chunk_rows: int = 20_000,
) -> Iterator[list[FactTuple]]:
    """Facts of one connection's leaves, chunk by chunk; adds revenue into revenue_by_day."""
    rng = random.Random(f"{plan.seed}:facts:{plan.index}:{conn.provider}")
    r = rng.random
    dates = [plan.start_date + timedelta(days=d) for d in range(plan.days)]
    effect_from = plan.days - EFFECT_DAYS
    chunk: list[FactTuple] = []
    for leaf in conn.leaves:
        entity_id = ids[(leaf.level, leaf.external_id)]
        base = plan.daily_spend * leaf.weight
        cpc, ctr, value = leaf.cpc, leaf.ctr, leaf.value
        for d in range(leaf.start, leaf.end + 1):
            spend = base * day_mult[d] * (0.8 + 0.4 * r())
            clicks = int(spend / cpc * (0.85 + 0.3 * r()) + r())
            impressions = int(clicks / ctr * (0.85 + 0.3 * r())) + int(r() * 20)
            cvr = leaf.cvr * (leaf.effect if d >= effect_from else 1.0)
            # Platforms report modelled, fractional conversions; fractions also keep small
            # campaigns from swinging wildly week to week, so the named ones stand out.
            conversions = round(clicks * cvr * (0.8 + 0.4 * r()), 2)
            revenue = conversions * value * (0.9 + 0.2 * r())
            revenue_by_day[d] += revenue
            chunk.append(
                (
                    entity_id,
                    dates[d],
                    int(spend * 1_000_000),
                    impressions,
                    clicks,
                    conversions,
                    int(revenue * 1_000_000),
                )
            )
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def shop_domain(plan: WorkspacePlan) -> str:
    """The demo shop's myshopify domain."""
    slug = "".join(ch for ch in plan.name.lower() if ch.isascii() and ch.isalnum())
    return f"{slug or 'demo'}-{plan.index + 1}.myshopify.com"


class _Picker:
    """Chooses the ad a paid order came from, in proportion to spend, among live ads."""

    def __init__(self, plan: WorkspacePlan) -> None:
        self.providers = [c.provider for c in plan.connections]
        self.leaves = {c.provider: c.leaves for c in plan.connections}
        self.cum = {
            c.provider: list(accumulate(leaf.weight for leaf in c.leaves)) for c in plan.connections
        }
        totals = [self.cum[p][-1] if self.cum[p] else 0.0 for p in self.providers]
        self.provider_cum = list(accumulate(totals))

    def pick(self, rng: random.Random, day: int) -> tuple[str, Node] | None:
        provider = rng.choices(self.providers, cum_weights=self.provider_cum)[0]
        leaves = self.leaves[provider]
        for _ in range(4):
            leaf = rng.choices(leaves, cum_weights=self.cum[provider])[0]
            if leaf.start <= day <= leaf.end:
                return provider, leaf
        return None


def iter_order_chunks(
    plan: WorkspacePlan, revenue_by_day: list[float], chunk_rows: int = 500
) -> Iterator[list[OrderRow]]:
    """Orders for the last plan.order_days days, sized to the platform-reported revenue."""
    rng = random.Random(f"{plan.seed}:orders:{plan.index}")
    r = rng.random
    zone = ZoneInfo(plan.timezone)
    catalog = CATALOGS[plan.index % len(CATALOGS)]
    mean_price = sum(p for _, p in catalog) / len(catalog)
    # About 1.65 items per order: scale prices so the basket matches the planned AOV.
    price_scale = plan.aov / (1.65 * mean_price)
    products = [
        (n, title, int(price * price_scale * 100) * 10_000, rng.uniform(0.3, 0.5))
        for n, (title, price) in enumerate(catalog)
    ]
    picker = _Picker(plan)
    customers: list[int] = []
    serial = 0
    chunk: list[OrderRow] = []
    for d in range(plan.days - plan.order_days, plan.days):
        day = plan.start_date + timedelta(days=d)
        target = revenue_by_day[d] * plan.order_ratio * (0.85 + 0.3 * r())
        for _ in range(int(target / plan.aov + r())):
            serial += 1
            if customers and r() < 0.25:
                customer = customers[rng.randrange(len(customers))]
            else:
                customer = len(customers) + 1
                if len(customers) < 50_000:
                    customers.append(customer)
            chunk.append(
                _order(rng, plan, picker, products, zone, day, d, serial, customer),
            )
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _order(
    rng: random.Random,
    plan: WorkspacePlan,
    picker: _Picker,
    products: list[tuple[int, str, int, float]],
    zone: ZoneInfo,
    day: date,
    day_index: int,
    serial: int,
    customer: int,
) -> OrderRow:
    r = rng.random
    hour = rng.choices(range(24), cum_weights=HOUR_CUM)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone)
    created = local.astimezone(UTC)
    external_id = str(5_000_000_000_000 + plan.index * 100_000_000 + serial)
    n_items = 1 if r() < 0.6 else (2 if r() < 0.75 else 3)
    lines = []
    subtotal = 0
    for k, (pid, title, price, cogs_ratio) in enumerate(rng.sample(products, n_items)):
        qty = 2 if r() < 0.1 else 1
        subtotal += price * qty
        lines.append(
            OrderLineRow(
                external_id=f"{external_id}{k + 1:02d}",
                title=title,
                quantity=qty,
                price_micros=price,
                cogs_micros=int(price * cogs_ratio) * qty,
                product_id=str(7_000_000_000 + plan.index * 100 + pid),
                variant_id=str(4_000_000_000 + plan.index * 100 + pid),
                sku=f"SKU-{plan.index + 1:03d}-{pid:02d}",
            )
        )
    discounts = int(subtotal * 0.15) if r() < 0.2 else 0
    shipping = 0 if subtotal >= int(plan.aov * 1_000_000) else int(plan.aov * 0.07) * 1_000_000
    total = subtotal - discounts + shipping
    # Prices include tax (VAT-style); the tax line is the included part.
    tax = int(total * 0.2 / 1.2) if plan.currency != "USD" else int(total * 0.07 / 1.07)
    order = OrderRow(
        external_id=external_id,
        created_at=created,
        order_date=day,
        updated_at=created + timedelta(minutes=2),
        currency=plan.currency,
        total_micros=total,
        subtotal_micros=subtotal,
        tax_micros=tax,
        shipping_micros=shipping,
        discounts_micros=discounts,
        order_number=f"#{1000 + serial}",
        customer_email_hash=hashlib.sha256(
            f"customer-{plan.index}-{customer}@example.com".encode()
        ).hexdigest(),
        checkout_token=f"{rng.getrandbits(128):032x}",
        source_name="web",
        lines=lines,
    )
    refund = r()
    if refund < 0.05:
        full = refund < 0.02
        order.refunded_micros = total if full else lines[0].price_micros
        order.financial_status = "refunded" if full else "partially_refunded"
        order.updated_at = created + timedelta(days=1 + rng.randrange(14))
    _attach_source(rng, order, picker, day_index)
    return order


def _attach_source(
    rng: random.Random,
    order: OrderRow,
    picker: _Picker,
    day_index: int,
) -> None:
    """Give a share of the orders the UTMs and click id of the ad they came from."""
    slug = (order.lines[0].title if order.lines else "shop").lower().replace(" ", "-")
    roll = rng.random()
    picked = picker.pick(rng, day_index) if roll < PAID_SHARE else None
    if picked is None:
        if roll < PAID_SHARE + 0.08:
            order.utm_source, order.utm_medium, order.utm_campaign = "klaviyo", "email", "weekly"
            order.landing_site = "/?utm_source=klaviyo&utm_medium=email&utm_campaign=weekly"
        elif roll < PAID_SHARE + 0.3:
            order.referring_site = "https://www.google.com/"
            order.landing_site = "/collections/all"
        else:
            order.landing_site = "/"
        return
    provider, leaf = picked
    source, medium, referrer, click_key, click_prefix = SOURCES[provider]
    campaign = leaf.campaign or leaf
    click_id = f"{click_prefix}{rng.getrandbits(160):040x}"
    order.utm_source, order.utm_medium = source, medium
    # Most ads send the campaign id macro; some hand-written links use the name.
    order.utm_campaign = campaign.external_id if rng.random() < 0.7 else campaign.name
    order.utm_content = leaf.external_id if leaf.level == "ad" else None
    setattr(order, click_key, click_id)
    order.referring_site = referrer
    query = f"utm_source={source}&utm_medium={medium}&utm_campaign={campaign.external_id}"
    if order.utm_content:
        query += f"&utm_content={order.utm_content}"
    order.landing_site = f"/products/{slug}?{query}&{click_key}={click_id}"
