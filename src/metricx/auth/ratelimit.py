"""Fixed-window attempt counters for sign-in and password reset: Redis, or in-process.

Redis (INCR + EXPIRE in one pipeline) makes the limit shared by every API process. If
Redis fails, the counter falls back to this process for a short while: people are never
locked out and never see a 500 because the limiter's backend is down.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import structlog

from metricx.errors import RateLimited

log = structlog.get_logger("metricx.ratelimit")

REDIS_RETRY_AFTER_FAILURE_SECONDS = 5.0
MEMORY_MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Hit:
    """The outcome of counting one attempt."""

    count: int
    retry_after: int


class MemoryCounter:
    """Per-process fixed windows; used without Redis and while Redis is failing."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, window: int) -> Hit:
        now = time.monotonic()
        expires, count = self._windows.get(key, (0.0, 0))
        if expires <= now:
            expires, count = now + window, 0
            if len(self._windows) >= MEMORY_MAX_KEYS:
                self._evict(now)
        count += 1
        self._windows[key] = (expires, count)
        return Hit(count, max(1, math.ceil(expires - now)))

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def _evict(self, now: float) -> None:
        for key in [k for k, (exp, _) in self._windows.items() if exp <= now]:
            del self._windows[key]
        if len(self._windows) >= MEMORY_MAX_KEYS:
            self._windows.clear()


class RateLimiter:
    """Counts attempts per key in fixed windows."""

    def __init__(self, redis_url: str | None, *, prefix: str = "mx:rl:") -> None:
        self._memory = MemoryCounter()
        self._prefix = prefix
        self._redis = None
        self._redis_down_until = 0.0
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url, socket_timeout=0.3, socket_connect_timeout=0.3)

    @property
    def backend(self) -> str:
        """'redis' or 'memory'."""
        return "redis" if self._redis is not None else "memory"

    def _redis_usable(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._redis_down_until

    def _redis_failed(self, exc: Exception) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_FAILURE_SECONDS
        log.warning("ratelimit.redis_failed", error=type(exc).__name__)

    async def hit(self, key: str, window: int) -> Hit:
        """Count one attempt under `key` and return the count in the current window."""
        if self._redis_usable():
            assert self._redis is not None
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(self._prefix + key)
                    pipe.expire(self._prefix + key, window, nx=True)
                    pipe.ttl(self._prefix + key)
                    count, _, ttl = await pipe.execute()
                return Hit(int(count), max(1, int(ttl)) if int(ttl) > 0 else window)
            except Exception as exc:  # any Redis failure degrades to the local counter
                self._redis_failed(exc)
        return self._memory.hit(key, window)

    async def reset(self, key: str) -> None:
        """Forget the attempts under `key`."""
        self._memory.reset(key)
        if self._redis_usable():
            assert self._redis is not None
            try:
                await self._redis.delete(self._prefix + key)
            except Exception as exc:
                self._redis_failed(exc)

    async def close(self) -> None:
        """Release the Redis connection pool."""
        if self._redis is not None:
            await self._redis.aclose()


def _email_key(email: str) -> str:
    # Hashed so Redis never holds email addresses.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


async def guard_attempt(
    limiter: RateLimiter, action: str, email: str, ip: str, *, limit: int, window: int
) -> None:
    """Count an attempt per email and per IP; 429 with Retry-After once either is over."""
    # One IP may front many people (offices, NAT), so it gets a larger allowance.
    by_email = await limiter.hit(f"{action}:email:{_email_key(email)}", window)
    by_ip = await limiter.hit(f"{action}:ip:{ip}", window)
    over = [h for h, cap in ((by_email, limit), (by_ip, limit * 5)) if h.count > cap]
    if over:
        retry_after = max(h.retry_after for h in over)
        log.info("auth.rate_limited", action=action, retry_after=retry_after)
        raise RateLimited(
            f"Too many attempts; try again in {retry_after} seconds.", retry_after=retry_after
        )


async def clear_email(limiter: RateLimiter, action: str, email: str) -> None:
    """Forget an email's attempts (after a successful sign-in)."""
    await limiter.reset(f"{action}:email:{_email_key(email)}")
