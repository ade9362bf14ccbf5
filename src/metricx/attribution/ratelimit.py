"""A fixed-window request limit per pixel key: Redis when configured, in-process otherwise.

Redis makes the limit shared by every API process; when Redis fails the limiter falls back
to the in-process window for that call (a pixel must never get a 500 because Redis blinked).
"""

from __future__ import annotations

import time
from typing import Any

import structlog

log = structlog.get_logger("metricx.pixel")

WINDOW_SECONDS = 60
MAX_LOCAL_KEYS = 50_000


class RateLimiter:
    """allow(key) -> seconds to wait (0 means allowed)."""

    def __init__(self, limit: int, redis_url: str | None = None) -> None:
        self.limit = limit
        self._local: dict[str, tuple[int, int]] = {}
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(
                redis_url, socket_connect_timeout=0.25, socket_timeout=0.25
            )

    async def retry_after(self, key: str) -> int:
        """0 when the request may proceed, else seconds until the window resets."""
        now = int(time.time())
        window = now // WINDOW_SECONDS
        wait = (window + 1) * WINDOW_SECONDS - now
        if self._redis is not None:
            try:
                name = f"mx:pixel:rl:{key}:{window}"
                pipe = self._redis.pipeline(transaction=False)
                pipe.incr(name)
                pipe.expire(name, WINDOW_SECONDS + 5)
                count, _ = await pipe.execute()
                return wait if int(count) > self.limit else 0
            except Exception as exc:  # degrade to the local window, never to an error
                log.warning("pixel.ratelimit_redis_failed", error=type(exc).__name__)
        return wait if self._local_hit(key, window) > self.limit else 0

    def _local_hit(self, key: str, window: int) -> int:
        seen_window, count = self._local.get(key, (window, 0))
        count = count + 1 if seen_window == window else 1
        if len(self._local) >= MAX_LOCAL_KEYS and key not in self._local:
            self._local.clear()  # bounded memory beats perfect accounting under key floods
        self._local[key] = (window, count)
        return count

    async def close(self) -> None:
        """Release the Redis connection."""
        if self._redis is not None:
            await self._redis.aclose()
