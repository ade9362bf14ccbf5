"""The attribution engine: pure functions from (touches, order) to credit per touch.

Decisions (documented here, tested in tests/attribution/test_engine.py):
- Window: a touch counts when `order_at - window_days <= touch_at <= order_at`; touches
  after the order or older than the window are ignored.
- Direct visits get credit only when the window holds no other touch ("non-direct
  last click", the common practice): a paid or referred visit followed by a typed-in
  return visit credits the referred visit. A direct-only journey credits "direct".
- Ties (same timestamp) are ordered by touch id, i.e. by arrival order, so every model is
  deterministic; equal timestamps get equal weights under time_decay.
- position_based: 40 % first, 40 % last, 20 % shared by the middle; with two touches
  50/50; with one touch 100 %.
- time_decay: weight = 2 ** (-(order_at - touch_at) / half_life), normalised to 1.
- An order whose journey has no touch in the window is "unattributed" (confidence none).
- Revenue is net of refunds, never below zero; per-row revenue is rounded so the rows of
  one order add up exactly to its net revenue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MODELS = ("last_click", "first_click", "linear", "time_decay", "position_based")
WINDOWS = (1, 7, 14, 28, 30, 90)
DEFAULT_MODEL = "last_click"
DEFAULT_WINDOW = 7


@dataclass(frozen=True, slots=True)
class Touch:
    """One touchpoint as the engine sees it."""

    id: int
    occurred_at: datetime
    channel: str
    confidence: str = "low"
    entity_id: int | None = None
    match_type: str = "referrer"


@dataclass(frozen=True, slots=True)
class Credit:
    """The share of one order given to one touch (touch None: unattributed)."""

    touch: Touch | None
    credit: float
    revenue_micros: int


def eligible_touches(touches: Sequence[Touch], order_at: datetime, window_days: int) -> list[Touch]:
    """Touches inside the window, direct ones dropped when anything else is there."""
    start = order_at - timedelta(days=window_days)
    inside = sorted(
        (t for t in touches if start <= t.occurred_at <= order_at),
        key=lambda t: (t.occurred_at, t.id),
    )
    non_direct = [t for t in inside if t.channel != "direct"]
    return non_direct or inside


def weights(
    touches: Sequence[Touch], order_at: datetime, model: str, half_life_days: float = 7.0
) -> list[float]:
    """Credit per touch (in time order) under `model`; sums to 1 for a non-empty list."""
    n = len(touches)
    if n == 0:
        return []
    if model == "last_click":
        return [0.0] * (n - 1) + [1.0]
    if model == "first_click":
        return [1.0] + [0.0] * (n - 1)
    if model == "linear":
        return [1.0 / n] * n
    if model == "position_based":
        if n == 1:
            return [1.0]
        if n == 2:
            return [0.5, 0.5]
        middle = 0.2 / (n - 2)
        return [0.4] + [middle] * (n - 2) + [0.4]
    if model == "time_decay":
        half_life = max(half_life_days, 1e-6) * 86_400.0
        raw = [2.0 ** (-(order_at - t.occurred_at).total_seconds() / half_life) for t in touches]
        total = sum(raw)
        return [w / total for w in raw]
    raise ValueError(f"unknown attribution model {model!r}")


def split_revenue(net_micros: int, shares: Sequence[float]) -> list[int]:
    """Integer revenue per share that adds up exactly to net_micros."""
    parts = [round(net_micros * s) for s in shares]
    if parts:
        # Put the rounding remainder on the largest share so totals reconcile exactly.
        biggest = max(range(len(parts)), key=lambda i: (shares[i], i))
        parts[biggest] += net_micros - sum(parts)
    return parts


def net_revenue(total_micros: int, refunded_micros: int) -> int:
    """Order revenue net of refunds, floored at zero."""
    return max(0, total_micros - max(0, refunded_micros))


def attribute(
    touches: Sequence[Touch],
    *,
    order_at: datetime,
    net_micros: int,
    model: str,
    window_days: int,
    half_life_days: float = 7.0,
) -> list[Credit]:
    """Credits for one order; one Credit(touch=None) when nothing in the window qualifies."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    chosen = eligible_touches(touches, order_at, window_days)
    shares = weights(chosen, order_at, model, half_life_days)
    pairs = [(t, s) for t, s in zip(chosen, shares, strict=True) if s > 0]
    if not pairs:
        return [Credit(None, 1.0, net_micros)]
    revenue = split_revenue(net_micros, [s for _, s in pairs])
    return [Credit(t, s, r) for (t, s), r in zip(pairs, revenue, strict=True)]
