"""Timeframes: local days, equal-length previous periods, validation; and the registry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.errors import ValidationFailed
from metricx.metrics import registry
from metricx.metrics.timeframes import MAX_DAYS, PRESETS, resolve

ZONES = ["UTC", "Pacific/Tongatapu", "Pacific/Apia", "Pacific/Honolulu", "Asia/Kolkata"]


@settings(max_examples=300, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    tz=st.sampled_from(ZONES),
    key=st.sampled_from(PRESETS),
)
def test_previous_period_has_equal_length_and_ends_the_day_before(
    now: datetime, tz: str, key: str
) -> None:
    tf = resolve(key, tz=tz, clock=lambda: now.replace(tzinfo=UTC))
    assert tf.start <= tf.end
    assert (tf.previous_end - tf.previous_start) == (tf.end - tf.start)
    assert tf.previous_end == tf.start - timedelta(days=1)
    assert len(tf.dates()) == len(tf.previous_dates()) == tf.days


def test_today_is_the_workspace_local_day() -> None:
    near_midnight = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)
    assert resolve("today", tz="UTC", clock=lambda: near_midnight).start == date(2026, 3, 15)
    tonga = resolve("today", tz="Pacific/Tongatapu", clock=lambda: near_midnight)
    assert tonga.start == date(2026, 3, 16)
    early = datetime(2026, 3, 16, 5, 0, tzinfo=UTC)
    assert resolve("today", tz="Pacific/Honolulu", clock=lambda: early).start == date(2026, 3, 15)


def test_presets_at_a_fixed_day() -> None:
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    got = {k: resolve(k, clock=lambda: now) for k in PRESETS}
    assert (got["last_7_days"].start, got["last_7_days"].end) == (
        date(2026, 3, 8),
        date(2026, 3, 14),
    )
    assert got["this_month"].start == date(2026, 3, 1) and got["this_month"].end == date(
        2026, 3, 15
    )
    assert (got["last_month"].start, got["last_month"].end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert got["last_month"].previous_start == date(2026, 1, 4)


@pytest.mark.parametrize(
    "key,start,end,field",
    [
        ("fortnight", None, None, "timeframe"),
        (None, "2026-03-02", "2026-03-01", "start"),
        (None, "2026-03-01", None, "end"),
        (None, None, "2026-03-01", "start"),
        (None, "2026-13-01", "2026-12-01", "start"),
        (None, "2020-01-01", "2026-01-01", "end"),
        ("last_7_days", "2026-01-01", "2026-01-02", "timeframe"),
    ],
)
def test_bad_timeframes_name_the_field(key, start, end, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as err:
        resolve(key, start, end)
    assert err.value.fields == [field]


def test_custom_span_limit_is_inclusive() -> None:
    start = date(2024, 1, 1)
    assert resolve(None, start, start + timedelta(days=MAX_DAYS - 1)).days == MAX_DAYS
    with pytest.raises(ValidationFailed):
        resolve(None, start, start + timedelta(days=MAX_DAYS))


def test_registry_sums_then_divides_and_rounds_at_the_edge() -> None:
    sums = {"spend": 3_333_333, "revenue": 10_000_000, "conversions": 0.0, "clicks": 7}
    assert registry.value("roas", sums) == 3.0
    assert registry.value("cpa", sums) is None  # zero conversions
    assert registry.value("cpc", sums) == 0.48  # 0.476190... to the cent
    assert registry.value("spend", sums) == 3.33
    assert registry.micros_to_amount(5_000) == 0.01  # half a cent rounds up
    assert registry.delta_pct(110, 100) == 10.0 and registry.delta_pct(1, 0) is None
    for metric in registry.METRICS.values():
        assert metric.unit in ("currency", "count", "ratio", "percent")
        assert metric.direction in ("higher", "lower")
        assert all(registry.METRICS[b].is_base for b in metric.base_keys())
