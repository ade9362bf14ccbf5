"""The cache: single flight, LRU bounds, and Redis failures degrading to no cache."""

from __future__ import annotations

import asyncio

import pytest

from metricx.cache import Cache, MemoryBackend, RedisBackend
from tests.fakes.tcp_proxy import TcpProxy


async def test_concurrent_misses_compute_once() -> None:
    cache = Cache(MemoryBackend(10))
    calls = 0

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return b"value"

    results = await asyncio.gather(*(cache.get_or_compute("k", compute) for _ in range(20)))
    assert calls == 1
    assert all(value == b"value" for value, _ in results)
    value, cached = await cache.get_or_compute("k", compute)
    assert cached and value == b"value" and calls == 1


async def test_failed_compute_is_not_cached_and_propagates() -> None:
    cache = Cache(MemoryBackend(10))

    async def boom() -> bytes:
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError):
        await cache.get_or_compute("k", boom)
    assert await cache.get("k") is None


async def test_lru_evicts_oldest() -> None:
    backend = MemoryBackend(2)
    await backend.set("a", b"1", 60)
    await backend.set("b", b"2", 60)
    await backend.get("a")
    await backend.set("c", b"3", 60)
    assert await backend.get("b") is None
    assert await backend.get("a") == b"1"


@pytest.mark.redis
async def test_redis_cut_mid_run_degrades_to_uncached(redis_url: str) -> None:
    proxy = await TcpProxy("127.0.0.1", 6379).start()
    db = redis_url.rsplit("/", 1)[1]
    cache = Cache(RedisBackend(f"redis://127.0.0.1:{proxy.port}/{db}"))
    computed = 0

    async def compute() -> bytes:
        nonlocal computed
        computed += 1
        return b"fresh"

    try:
        assert (await cache.get_or_compute("k", compute)) == (b"fresh", False)
        assert (await cache.get_or_compute("k", compute)) == (b"fresh", True)
        await proxy.cut()
        for _ in range(3):  # every call still answers, from the compute path
            value, cached = await asyncio.wait_for(cache.get_or_compute("k", compute), 5)
            assert value == b"fresh" and not cached
        assert cache.errors > 0
        proxy.restore()
        await asyncio.sleep(0.1)
        values = [await cache.get_or_compute("k2", compute) for _ in range(2)]
        assert values[-1] == (b"fresh", True)  # back to caching once Redis returns
    finally:
        await cache.close()
        await proxy.close()
