"""The shape of the demo: workspaces, their sizes, connections and entity trees.

Everything here is decided by seeded `random.Random` instances (one per workspace), so the
same options always give the same plan. Facts and orders are generated from a plan in
`metricx.demo.generator`.
"""

# Names use the en dash that ad managers and shops show, on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from metricx.demo.names import (
    AD_FORMATS,
    ADSET_NAMES,
    ANGLES,
    CAMPAIGN_NAMES,
    CREATORS,
    DROP_CAMPAIGN_NAME,
)

# Later issues (insights) look for DROP_CAMPAIGN_NAME and STAR_CAMPAIGN_NAME: in every demo
# workspace, over the last 7 days against the 7 before, the first one's ROAS halves and the
# second one's rises about 60%.
DROP_FACTOR = 0.5
STAR_FACTOR = 1.6
EFFECT_DAYS = 7

# (name, timezone, currency, market) of the first workspaces; later ones rotate through
# REGIONS with generated names. The first is non-UTC, the second non-USD.
NAMED_WORKSPACES = (
    ("Northwind Outdoor", "America/New_York", "USD", "US"),
    ("Maison Lumière", "Europe/Paris", "EUR", "FR"),
    ("Harbour & Hide", "Europe/London", "GBP", "UK"),
    ("Southern Cross Surf", "Australia/Sydney", "AUD", "AU"),
)
REGIONS = (
    ("America/New_York", "USD", "US"),
    ("America/Los_Angeles", "USD", "US"),
    ("America/Chicago", "USD", "US"),
    ("Europe/Berlin", "EUR", "DE"),
    ("Europe/London", "GBP", "UK"),
    ("America/Toronto", "CAD", "CA"),
)
NAME_PARTS = (
    ("Juniper", "Copper", "Atlas", "Ember", "Linden", "Polar", "Saffron", "Willow", "Cobalt"),
    ("Goods", "Supply", "Studio", "Labs", "Outfitters", "Collective", "Co.", "Works"),
)
# How much one US dollar buys, to keep money plausible in every currency.
CURRENCY_SCALE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "AUD": 1.52, "CAD": 1.36}

# Per-platform unit economics in USD: (CTR, CPC, CVR, value per conversion factor).
ECONOMICS = {
    "meta": ((0.008, 0.018), (0.6, 1.6), (0.015, 0.035), (0.9, 1.1)),
    "google": ((0.03, 0.07), (0.8, 2.2), (0.03, 0.06), (0.95, 1.15)),
    "tiktok": ((0.006, 0.012), (0.3, 0.9), (0.008, 0.02), (0.8, 1.0)),
}
PLATFORM_SHARE = {"meta": 0.55, "google": 0.45}
PLATFORM_SHARE_TIKTOK = {"meta": 0.5, "google": 0.33, "tiktok": 0.17}
SKEW = 0.7  # workspace i (0-based) gets ads in proportion to (i + 1) ** -SKEW
MIN_ADS = 12


@dataclass(slots=True)
class Node:
    """One entity of a tree; leaves carry their lifespan and unit economics."""

    level: str
    external_id: str
    name: str
    status: str
    parent: Node | None = None
    goal: str | None = None
    thumbnail: str | None = None
    start: int = 0  # first and last day index with facts (leaves only)
    end: int = -1
    weight: float = 0.0  # share of the workspace's daily spend
    ctr: float = 0.0
    cpc: float = 0.0
    cvr: float = 0.0
    value: float = 0.0  # revenue per conversion, workspace currency
    effect: float = 1.0  # conversion-rate multiplier over the last EFFECT_DAYS days
    campaign: Node | None = None


@dataclass(slots=True)
class ConnectionPlan:
    """One ad account and its entity tree (parents before children)."""

    provider: str
    external_account_id: str
    name: str
    nodes: list[Node] = field(default_factory=list)
    leaves: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class WorkspacePlan:
    """Everything the generator needs to produce one workspace's data."""

    index: int
    seed: int
    name: str
    timezone: str
    currency: str
    market: str
    start_date: date
    days: int
    order_days: int
    daily_spend: float  # workspace currency, before seasonality and trend
    order_ratio: float  # shop revenue / platform-reported revenue
    aov: float
    connections: list[ConnectionPlan] = field(default_factory=list)

    @property
    def end_date(self) -> date:
        """The last day with data."""
        return self.start_date + timedelta(days=self.days - 1)

    @property
    def fact_rows(self) -> int:
        """How many metric_facts rows this workspace gets."""
        return sum(leaf.end - leaf.start + 1 for c in self.connections for leaf in c.leaves)

    @property
    def ads(self) -> int:
        """How many ads (level 'ad') the workspace has."""
        return sum(1 for c in self.connections for leaf in c.leaves if leaf.level == "ad")


def workspace_sizes(workspaces: int, ads: int, total_ads: int | None) -> list[int]:
    """Ads per workspace: skewed so a few are large and most are small."""
    if workspaces == 1:
        return [max(MIN_ADS, total_ads or ads)]
    total = total_ads or ads * workspaces
    weights = [(i + 1) ** -SKEW for i in range(workspaces)]
    scale = total / sum(weights)
    return [max(MIN_ADS, round(w * scale)) for w in weights]


def identity(index: int) -> tuple[str, str, str, str]:
    """(name, timezone, currency, market) of the index-th demo workspace."""
    if index < len(NAMED_WORKSPACES):
        return NAMED_WORKSPACES[index]
    first, second = NAME_PARTS
    name = (
        f"{first[index % len(first)]} {second[index // len(first) % len(second)]} {index + 1:03d}"
    )
    tz, currency, market = REGIONS[index % len(REGIONS)]
    return name, tz, currency, market


def default_end_date(timezone: str) -> date:
    """Yesterday in the workspace's timezone."""
    return datetime.now(ZoneInfo(timezone)).date() - timedelta(days=1)


def plan_workspace(
    index: int,
    *,
    seed: int,
    ads: int,
    days: int,
    campaigns: int | None,
    with_tiktok: bool,
    end_date: date | None,
    order_days: int | None,
) -> WorkspacePlan:
    """The full plan of one workspace, from its own seeded random stream."""
    rng = random.Random(f"{seed}:workspace:{index}")
    name, tz, currency, market = identity(index)
    end = end_date or default_end_date(tz)
    fx = CURRENCY_SCALE.get(currency, 1.0)
    plan = WorkspacePlan(
        index=index,
        seed=seed,
        name=name,
        timezone=tz,
        currency=currency,
        market=market,
        start_date=end - timedelta(days=days - 1),
        days=days,
        order_days=min(days, order_days or days),
        # Bigger accounts spread their budget over more ads: spend grows sublinearly.
        daily_spend=22.0 * ads**0.7 * fx * rng.uniform(0.8, 1.25),
        order_ratio=rng.uniform(1.35, 1.9),
        aov=rng.uniform(55, 120) * fx,
    )
    shares = PLATFORM_SHARE_TIKTOK if with_tiktok else PLATFORM_SHARE
    for n, (provider, share) in enumerate(shares.items()):
        provider_ads = max(2, round(ads * share))
        n_campaigns = campaigns or max(2, min(40, round(provider_ads / 18)))
        account_id = f"{9_000_000 + index * 10 + n}"
        conn = ConnectionPlan(provider, account_id, f"{name} – {provider.title()} Ads")
        _build_tree(rng, plan, conn, provider_ads, n_campaigns, share)
        plan.connections.append(conn)
    _normalise_weights(plan)
    return plan


def _thumbnail(rng: random.Random) -> str:
    hue = rng.randrange(360)
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        f'<rect width="64" height="64" fill="hsl({hue},55%,55%)"/>'
        f'<circle cx="32" cy="28" r="14" fill="hsl({(hue + 180) % 360},60%,85%)"/></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _campaign_name(provider: str, i: int, market: str) -> str:
    names = CAMPAIGN_NAMES[provider]
    base = names[i % len(names)].replace("{geo}", market)
    return base if i < len(names) else f"{base} #{i // len(names) + 1}"


def _build_tree(
    rng: random.Random,
    plan: WorkspacePlan,
    conn: ConnectionPlan,
    n_ads: int,
    n_campaigns: int,
    share: float,
) -> None:
    provider, days = conn.provider, plan.days
    prefix = {"meta": "2385", "google": "1877", "tiktok": "1789"}[provider]
    serial = iter(range(1, 10**7))

    def ext() -> str:
        return f"{prefix}{plan.index:04d}{next(serial):07d}"

    account = Node("account", conn.external_account_id, conn.name, "active")
    conn.nodes.append(account)
    # Campaign sizes vary a lot; the named drop/star campaigns are among the big ones.
    camp_weights = [rng.lognormvariate(0, 0.6) for _ in range(n_campaigns)]
    camp_weights[0] = max(camp_weights) * 1.2
    total_w = sum(camp_weights)
    # Performance Max campaigns have no ads, so the ads go to the other campaigns.
    camp_names = [_campaign_name(provider, c, plan.market) for c in range(n_campaigns)]
    ad_w = sum(
        w
        for w, n in zip(camp_weights, camp_names, strict=True)
        if not n.startswith("Performance Max")
    )
    ads_left = n_ads
    ctr_r, cpc_r, cvr_r, val_r = ECONOMICS[provider]
    fx = CURRENCY_SCALE.get(plan.currency, 1.0)
    for c in range(n_campaigns):
        cname = camp_names[c]
        special = c == 0 and provider in ("meta", "google")
        pmax = provider == "google" and cname.startswith("Performance Max")
        status, start, end = "active", 0, days - 1
        if not special:
            roll = rng.random()
            if roll < 0.3:
                start = rng.randrange(0, max(1, days * 2 // 3))
            if roll > 0.85:
                status = "paused" if roll < 0.95 else "archived"
                end = rng.randrange(start, days) if status == "paused" else (start + end) // 2
        campaign = Node(
            "campaign",
            ext(),
            cname,
            status,
            parent=account,
            goal="sales" if provider != "google" else ("pmax" if pmax else "sales"),
        )
        campaign.campaign = campaign
        conn.nodes.append(campaign)
        effect = 1.0
        if special:
            effect = DROP_FACTOR if cname == DROP_CAMPAIGN_NAME else STAR_FACTOR
        camp_budget = camp_weights[c] / total_w * share
        if pmax:
            # Performance Max reports at campaign level only: the campaign is the leaf.
            _leaf(rng, campaign, start, end, camp_budget, ctr_r, cpc_r, cvr_r, val_r, fx)
            conn.leaves.append(campaign)
            continue
        c_ads = max(1, min(ads_left, round(n_ads * camp_weights[c] / ad_w)))
        ads_left = max(1, ads_left - c_ads)
        n_sets = max(1, min(6, c_ads // 5))
        for s in range(n_sets):
            names = ADSET_NAMES[provider]
            adset = Node(
                "adset",
                ext(),
                names[(c + s) % len(names)],
                "active" if status == "active" and rng.random() > 0.1 else "paused",
                parent=campaign,
            )
            conn.nodes.append(adset)
            set_ads = c_ads // n_sets + (1 if s < c_ads % n_sets else 0)
            for a in range(set_ads):
                fmt = AD_FORMATS[provider][rng.randrange(len(AD_FORMATS[provider]))]
                ad_name = fmt.format(who=rng.choice(CREATORS), n=a + 1, angle=rng.choice(ANGLES))
                a_start, a_end, a_status = start, end, status
                if not special and rng.random() < 0.35:
                    # Creative refreshes: later launches, some fatigued and paused.
                    a_start = rng.randrange(start, end + 1)
                    if rng.random() < 0.4:
                        a_end = rng.randrange(a_start, end + 1)
                        a_status = "paused" if a_status == "active" else a_status
                if adset.status == "paused" and a_status == "active":
                    a_status = "paused"
                ad = Node("ad", ext(), ad_name, a_status, parent=adset, campaign=campaign)
                ad.thumbnail = _thumbnail(rng)
                _leaf(rng, ad, a_start, a_end, camp_budget / c_ads, ctr_r, cpc_r, cvr_r, val_r, fx)
                ad.effect = effect
                conn.nodes.append(ad)
                conn.leaves.append(ad)


def _leaf(
    rng: random.Random,
    node: Node,
    start: int,
    end: int,
    budget: float,
    ctr_r: tuple[float, float],
    cpc_r: tuple[float, float],
    cvr_r: tuple[float, float],
    val_r: tuple[float, float],
    fx: float,
) -> None:
    node.start, node.end = start, end
    node.weight = budget * rng.lognormvariate(0, 0.5)
    node.ctr = rng.uniform(*ctr_r)
    node.cpc = rng.uniform(*cpc_r) * fx
    node.cvr = rng.uniform(*cvr_r)
    node.value = rng.uniform(*val_r)  # scaled by the workspace AOV in _normalise_weights


def _normalise_weights(plan: WorkspacePlan) -> None:
    leaves = [leaf for c in plan.connections for leaf in c.leaves]
    total = sum(leaf.weight for leaf in leaves) or 1.0
    for leaf in leaves:
        leaf.weight /= total
        leaf.value *= plan.aov
