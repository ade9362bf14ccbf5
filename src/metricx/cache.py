"""Response cache: Redis when configured, an in-process LRU otherwise.

Keys carry the workspace's data_version, so nothing stale is served after a write;
TTLs only bound memory. A failing Redis degrades to no cache, never to an error.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from metricx.config import Settings
from metricx.observability import CACHE_EVENTS

log = structlog.get_logger("metricx.cache")


class CacheBackend(Protocol):
    """What a cache stores: bytes by key, with a TTL."""

    name: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: int) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def close(self) -> None: ...


class MemoryBackend:
    """A bounded LRU in this process."""

    name = "memory"

    def __init__(self, max_entries: int) -> None:
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._data.pop(key, None)
            return None
        self._data.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self._data[key] = (time.monotonic() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def close(self) -> None:
        self._data.clear()


class RedisBackend:
    """Redis, shared by every API process."""

    name = "redis"

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
        )

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(key)
        return value if value is None else bytes(value)

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        await self._redis.set(key, value, ex=ttl)

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)

    async def ping(self) -> bool:
        """True when Redis answers."""
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()


class Cache:
    """Get-or-compute with single flight and graceful degradation."""

    def __init__(self, backend: CacheBackend | None, *, default_ttl: int = 1800) -> None:
        self.backend = backend
        self.default_ttl = default_ttl
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self.hits = 0
        self.misses = 0
        self.errors = 0

    @property
    def enabled(self) -> bool:
        """False when caching is switched off."""
        return self.backend is not None

    async def get(self, key: str) -> bytes | None:
        """The cached value, or None on a miss or a backend failure."""
        return await self._read(key, count_miss=True)

    async def get_if_present(self, key: str) -> bytes | None:
        """The cached value, counting only a hit: for a caller that hands misses on to
        `get_or_compute` (which counts them)."""
        return await self._read(key, count_miss=False)

    async def _read(self, key: str, *, count_miss: bool) -> bytes | None:
        if self.backend is None:
            return None
        try:
            value = await self.backend.get(key)
        except Exception as exc:  # any backend failure means "not cached"
            self.errors += 1
            CACHE_EVENTS.labels("error").inc()
            log.warning("cache.get_failed", error=str(exc)[:200])
            return None
        if value is not None:
            self.hits += 1
            CACHE_EVENTS.labels("hit").inc()
        elif count_miss:
            self.misses += 1
            CACHE_EVENTS.labels("miss").inc()
        return value

    async def set(self, key: str, value: bytes, ttl: int | None = None) -> None:
        """Store a value; failures are logged and ignored."""
        if self.backend is None:
            return
        try:
            await self.backend.set(key, value, ttl or self.default_ttl)
        except Exception as exc:
            self.errors += 1
            log.warning("cache.set_failed", error=str(exc)[:200])

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[bytes]], ttl: int | None = None
    ) -> tuple[bytes, bool]:
        """Return (value, was_cached); concurrent misses on one key compute once."""
        cached = await self.get(key)
        if cached is not None:
            return cached, True
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self._inflight[key] = future
        try:
            value = await compute()
            future.set_result(value)
        except BaseException as exc:
            future.set_exception(exc)
            # Mark the exception retrieved so an unawaited future does not warn.
            future.exception()
            raise
        finally:
            self._inflight.pop(key, None)
        await self.set(key, value, ttl)
        return value, False

    async def close(self) -> None:
        """Release the backend."""
        if self.backend is not None:
            await self.backend.close()


def create_cache(settings: Settings) -> Cache:
    """Redis when METRICX_REDIS_URL is set, else in-process; None backend when disabled."""
    if not settings.cache_enabled:
        return Cache(None)
    backend: CacheBackend
    if settings.redis_url:
        backend = RedisBackend(settings.redis_url)
    else:
        backend = MemoryBackend(settings.cache_max_entries)
    return Cache(backend, default_ttl=settings.cache_ttl_seconds)
