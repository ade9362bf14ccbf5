"""Table-driven credit per touchpoint for every model and window (pure engine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metricx.attribution.engine import (
    MODELS,
    WINDOWS,
    Touch,
    attribute,
    net_revenue,
    split_revenue,
)

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HALF_LIFE = 7.0


def touch(tid: int, days_before: float, channel: str) -> Touch:
    return Touch(tid, T - timedelta(days=days_before), channel)


A = touch(1, 10, "meta")
B = touch(2, 5, "google")
C = touch(3, 1, "email")  # exactly on the 1-day boundary: inside
D = touch(4, 2 / 24, "direct")
JOURNEY = [D, B, A, C]  # unsorted on purpose


def decay(*days: float) -> list[float]:
    raw = [2 ** (-d / HALF_LIFE) for d in days]
    return [w / sum(raw) for w in raw]


def expected(window: int, model: str) -> dict[int, float]:
    """Credit by touch id for JOURNEY (direct D never credited: others exist)."""
    if window == 1:
        return {3: 1.0}
    if window == 7:
        return {
            "last_click": {3: 1.0},
            "first_click": {2: 1.0},
            "linear": {2: 0.5, 3: 0.5},
            "position_based": {2: 0.5, 3: 0.5},
            "time_decay": dict(zip((2, 3), decay(5, 1), strict=True)),
        }[model]
    return {
        "last_click": {3: 1.0},
        "first_click": {1: 1.0},
        "linear": {1: 1 / 3, 2: 1 / 3, 3: 1 / 3},
        "position_based": {1: 0.4, 2: 0.2, 3: 0.4},
        "time_decay": dict(zip((1, 2, 3), decay(10, 5, 1), strict=True)),
    }[model]


CASES = [(w, m) for w in WINDOWS for m in MODELS]


def credits_by_id(touches: list[Touch], model: str, window: int, net: int = 100_000_000):
    result = attribute(
        touches, order_at=T, net_micros=net, model=model, window_days=window, half_life_days=7.0
    )
    assert sum(c.revenue_micros for c in result) == net
    assert sum(c.credit for c in result) == pytest.approx(1.0)
    return {(c.touch.id if c.touch else None): c.credit for c in result}


@pytest.mark.parametrize(("window", "model"), CASES)
def test_credit_per_touch_for_every_model_and_window(window: int, model: str) -> None:
    got = credits_by_id(JOURNEY, model, window)
    want = expected(window, model)
    assert got.keys() == want.keys()
    for tid, share in want.items():
        assert got[tid] == pytest.approx(share)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("model", MODELS)
def test_direct_only_journey_credits_direct(model: str, window: int) -> None:
    direct = [touch(7, 0.01, "direct"), touch(8, 0.02, "direct")]
    result = attribute(direct, order_at=T, net_micros=10, model=model, window_days=window)
    assert {c.touch.channel for c in result if c.touch} == {"direct"}
    assert sum(c.credit for c in result) == pytest.approx(1.0)


TIE = [touch(11, 3, "tiktok"), touch(10, 3, "meta")]
TIE_EXPECTED = {
    "last_click": {11: 1.0},  # same timestamp: arrival order (id) breaks the tie
    "first_click": {10: 1.0},
    "linear": {10: 0.5, 11: 0.5},
    "position_based": {10: 0.5, 11: 0.5},
    "time_decay": {10: 0.5, 11: 0.5},
}


@pytest.mark.parametrize("model", MODELS)
def test_ties_are_deterministic(model: str) -> None:
    assert credits_by_id(TIE, model, 7) == pytest.approx(TIE_EXPECTED[model])


@pytest.mark.parametrize("model", MODELS)
def test_touches_outside_the_window_or_after_the_order_are_ignored(model: str) -> None:
    stale = [touch(20, 91, "meta"), Touch(21, T + timedelta(minutes=1), "google")]
    for window in WINDOWS:
        assert credits_by_id(stale, model, window) == {None: 1.0}
    assert credits_by_id([touch(22, 8, "meta")], model, 7) == {None: 1.0}
    assert credits_by_id([touch(22, 8, "meta")], model, 14) == {22: 1.0}


def test_refunds_reduce_revenue_and_rows_add_up_exactly() -> None:
    net = net_revenue(100_000_001, 30_000_000)
    assert net == 70_000_001
    assert net_revenue(10, 50) == 0
    result = attribute([A, B, C], order_at=T, net_micros=net, model="linear", window_days=30)
    assert sum(c.revenue_micros for c in result) == net
    assert split_revenue(100, [1 / 3] * 3) in ([34, 33, 33], [33, 33, 34], [33, 34, 33])


def test_position_based_with_many_touches_splits_the_middle() -> None:
    many = [touch(30 + i, 10 - i, "meta") for i in range(6)]
    got = credits_by_id(many, "position_based", 30)
    assert got[30] == pytest.approx(0.4)
    assert got[35] == pytest.approx(0.4)
    assert [got[i] for i in range(31, 35)] == pytest.approx([0.05] * 4)


def test_unknown_model_is_an_error() -> None:
    with pytest.raises(ValueError):
        attribute([A], order_at=T, net_micros=1, model="nope", window_days=7)
