"""The shared helpers: streamed JSON arrays, money, backoff bounds."""

from __future__ import annotations

import json
import random

import pytest

from metricx.connectors._http import Retrier, iter_json_array, to_micros


async def chunked(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [1, 3, 7, 64, 100_000])
async def test_iter_json_array_any_chunking(size):
    value = [
        {"results": [{"a": 'x]}"{[', "n": 1}, {"b": [1, 2, {"c": "é€"}]}], "f": "m"},
        {"results": []},
        {"error": {"code": 429, "message": 'q\\"uote'}},
    ]
    data = json.dumps(value, ensure_ascii=False, indent=1).encode()
    out = [item async for item in iter_json_array(chunked(data, size))]
    assert out == value


async def test_iter_json_array_empty_and_invalid():
    assert [x async for x in iter_json_array(chunked(b"[]", 1))] == []
    with pytest.raises(ValueError):
        [x async for x in iter_json_array(chunked(b'{"error": 1}', 4))]


def test_to_micros_exact():
    assert to_micros("0.1") == 100_000
    assert to_micros("123456789.123456") == 123_456_789_123_456
    assert to_micros(19.99) == 19_990_000
    assert to_micros(None) == 0 and to_micros("") == 0


def test_backoff_is_bounded_and_jittered():
    r = Retrier("x", rng=random.Random(1))
    delays = [r.backoff(n) for n in range(1, 12)]
    assert all(0 < d <= r.policy.max_delay for d in delays)
    assert delays[0] <= r.policy.base_delay
