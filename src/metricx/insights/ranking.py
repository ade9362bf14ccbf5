"""The dashboard's two insights, as pure functions over per-entity current/previous measures.

- Biggest performance drop: ranked by money impact, not percent: the revenue lost at the
  previous efficiency (current spend x ROAS fall), or the extra spend paid at the previous
  efficiency (current conversions x CPA rise), whichever is larger. An entity must have
  spent at least `min_spend` in both periods (a paused campaign is not a "drop").
- Best performing area: the entity whose revenue beyond the account's average efficiency
  (current spend x (ROAS - account ROAS)) is largest, with the same guard in the current
  period. Scores within 5% of each other prefer campaigns, then ads, then platforms: a
  platform mostly inherits its best campaign's lead.
- A ROAS change is explained by its drivers, ROAS = CTR x CVR x AOV / CPM (x 1000): each
  factor's share of the change in log ROAS; a parent's change can also come from spend mix
  (shares shifting between children with different ROAS).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from metricx.insights.numbers import format_pct, format_value

Level = Literal["provider", "campaign", "adset", "ad"]
_LEVEL_WORD = {"provider": "platform", "campaign": "campaign", "adset": "ad set", "ad": "ad"}
_PREFERENCE = {"campaign": 0, "ad": 1, "adset": 2, "provider": 3}
TIE_TOLERANCE = 0.05


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


@dataclass(frozen=True)
class Measures:
    spend: float = 0.0
    revenue: float = 0.0
    impressions: float = 0.0
    clicks: float = 0.0
    conversions: float = 0.0

    @property
    def roas(self) -> float | None:
        return _div(self.revenue, self.spend)

    @property
    def cpa(self) -> float | None:
        return _div(self.spend, self.conversions)

    @property
    def cpm(self) -> float | None:
        return _div(self.spend * 1000, self.impressions)

    @property
    def ctr(self) -> float | None:
        return _div(self.clicks, self.impressions)

    @property
    def cvr(self) -> float | None:
        return _div(self.conversions, self.clicks)

    @property
    def aov(self) -> float | None:
        return _div(self.revenue, self.conversions)


@dataclass(frozen=True)
class EntityPerformance:
    level: Level
    key: str
    label: str
    current: Measures
    previous: Measures
    children: tuple[EntityPerformance, ...] = ()


@dataclass(frozen=True)
class Insight:
    kind: Literal["warning", "opportunity"]
    title: str
    text: str
    metric: str
    entity: dict[str, str]
    value: float | None
    previous: float | None
    delta_pct: float | None
    impact: float
    drivers: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Driver:
    name: str
    label: str
    change_pct: float
    share: float  # signed share of the change in log ROAS


def _pct(cur: float | None, prev: float | None) -> float | None:
    if cur is None or prev is None or prev == 0:
        return None
    return (cur - prev) / abs(prev) * 100


def roas_drivers(entity: EntityPerformance) -> list[Driver]:
    """Drivers of the ROAS change, largest absolute share first; empty when not computable."""
    cur, prev = entity.current, entity.previous
    if cur.roas is None or prev.roas is None or cur.roas <= 0 or prev.roas <= 0:
        return []
    total = math.log(cur.roas / prev.roas)
    if total == 0:
        return []
    factors = [("cpm", "CPM", -1), ("ctr", "CTR", 1), ("cvr", "conversion rate", 1)]
    factors.append(("aov", "AOV", 1))
    drivers = []
    for name, label, sign in factors:
        c, p = getattr(cur, name), getattr(prev, name)
        if not c or not p or c <= 0 or p <= 0:
            return []  # funnel incomplete: no decomposition rather than a partial one
        drivers.append(Driver(name, label, _pct(c, p) or 0.0, sign * math.log(c / p) / total))
    mix = _mix_effect(entity)
    if mix is not None:
        drivers.append(Driver("spend_mix", "spend mix", mix * 100, mix / total))
    return sorted(drivers, key=lambda d: -abs(d.share))


def _mix_effect(entity: EntityPerformance) -> float | None:
    """Change in log ROAS explained by children's spend shares moving, at previous ROAS."""
    kids = [k for k in entity.children if k.previous.roas is not None]
    cur_total = sum(k.current.spend for k in kids)
    prev_total = sum(k.previous.spend for k in kids)
    if len(kids) < 2 or not cur_total or not prev_total or not entity.previous.roas:
        return None
    mixed = sum(k.current.spend / cur_total * (k.previous.roas or 0) for k in kids)
    if mixed <= 0:
        return None
    return math.log(mixed / entity.previous.roas)


def _drivers_text(drivers: list[Driver]) -> str:
    moving = [d for d in drivers if d.share > 0.15][:2]
    if not moving:
        return ""
    parts = []
    for d in moving:
        if d.name == "spend_mix":
            parts.append("spend shifting toward less efficient areas")
        else:
            verb = "rose" if d.change_pct > 0 else "fell"
            parts.append(f"{d.label} {verb} {format_pct(d.change_pct)}")
    return " Mostly because " + " and ".join(parts) + "."


def _drop_impact(e: EntityPerformance) -> tuple[float, str]:
    cur, prev = e.current, e.previous
    lost_revenue = 0.0
    if cur.roas is not None and prev.roas is not None:
        lost_revenue = cur.spend * (prev.roas - cur.roas)
    extra_spend = 0.0
    if cur.cpa is not None and prev.cpa is not None:
        extra_spend = cur.conversions * (cur.cpa - prev.cpa)
    if extra_spend > lost_revenue:
        return extra_spend, "cpa"
    return lost_revenue, "roas"


def _entity(e: EntityPerformance) -> dict[str, str]:
    return {"level": e.level, "key": e.key, "label": e.label}


def biggest_drop(
    entities: list[EntityPerformance], *, min_spend: float, currency: str = "USD"
) -> Insight | None:
    """The drop that cost the most money, or None when nothing dropped."""
    scored = []
    for e in entities:
        if e.current.spend < min_spend or e.previous.spend < min_spend:
            continue
        impact, metric = _drop_impact(e)
        if impact > 0:
            change = _pct(getattr(e.current, metric), getattr(e.previous, metric)) or 0.0
            scored.append((impact, abs(change), e, metric))
    if not scored:
        return None
    impact, _, e, metric = max(scored, key=lambda s: (s[0], s[1]))
    value, previous = getattr(e.current, metric), getattr(e.previous, metric)
    delta: float | None = _pct(value, previous)
    money = format_value(impact, "currency", currency)
    noun = f"{_LEVEL_WORD[e.level]} {e.label}"
    if metric == "roas":
        unit: Any = "ratio"
        text = (
            f"ROAS of {noun} fell {format_pct(delta or 0)} to "
            f"{format_value(value, unit)} (from {format_value(previous, unit)}): about {money} "
            "of revenue lost compared with its previous efficiency."
        )
    else:
        unit = "currency"
        text = (
            f"CPA of {noun} rose {format_pct(delta or 0)} to {format_value(value, unit, currency)}"
            f" (from {format_value(previous, unit, currency)}): about {money} spent beyond its "
            "previous efficiency."
        )
    drivers = roas_drivers(e) if metric == "roas" else []
    text += _drivers_text(drivers)
    return Insight(
        kind="warning",
        title=f"Biggest drop: {e.label}",
        text=text,
        metric=metric,
        entity=_entity(e),
        value=value,
        previous=previous,
        delta_pct=None if delta is None else round(delta, 1),
        impact=round(impact, 2),
        drivers=[asdict(d) for d in drivers],
    )


def best_area(
    entities: list[EntityPerformance], *, min_spend: float, currency: str = "USD"
) -> Insight | None:
    """The entity earning the most beyond the account's average ROAS, or None."""
    eligible = [e for e in entities if e.current.spend >= min_spend and e.current.roas]
    account_spend = sum(e.current.spend for e in entities if e.level == "provider")
    account_revenue = sum(e.current.revenue for e in entities if e.level == "provider")
    baseline = _div(account_revenue, account_spend)
    if baseline is None:  # no platform rows: fall back to the eligible entities themselves
        baseline = _div(
            sum(e.current.revenue for e in eligible), sum(e.current.spend for e in eligible)
        )
    if not eligible or baseline is None:
        return None
    scored = [(e.current.spend * ((e.current.roas or 0) - baseline), e) for e in eligible]
    top = max(s for s, _ in scored)
    if top <= 0:
        return None
    near = [(s, e) for s, e in scored if s >= top * (1 - TIE_TOLERANCE)]
    impact, e = min(near, key=lambda se: (_PREFERENCE[se[1].level], -se[0]))
    value, previous = e.current.roas, e.previous.roas
    delta = _pct(value, previous)
    text = (
        f"{_LEVEL_WORD[e.level].capitalize()} {e.label} returned {format_value(value, 'ratio')} "
        f"ROAS against {format_value(baseline, 'ratio')} for the account, about "
        f"{format_value(impact, 'currency', currency)} more revenue than average efficiency "
        f"on its {format_value(e.current.spend, 'currency', currency)} spend."
    )
    return Insight(
        kind="opportunity",
        title=f"Best performing: {e.label}",
        text=text,
        metric="roas",
        entity=_entity(e),
        value=value,
        previous=previous,
        delta_pct=None if delta is None else round(delta, 1),
        impact=round(impact, 2),
    )


def dashboard_insights(
    entities: list[EntityPerformance], *, min_spend: float, currency: str = "USD"
) -> list[dict[str, Any]]:
    """The dashboard's two insights (drop, then best area); either may be missing.

    Pass platforms, campaigns and ads; drops are looked for below the platform level, since a
    platform's drop is the sum of its campaigns' and would hide which one to act on.
    """
    below_platform = [e for e in entities if e.level != "provider"]
    found = [
        biggest_drop(below_platform, min_spend=min_spend, currency=currency),
        best_area(entities, min_spend=min_spend, currency=currency),
    ]
    return [i.to_json() for i in found if i is not None]
