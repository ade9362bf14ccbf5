"""Retry and rate-limit handling shared by every provider client.

Each client knows how to read its provider's answers; this module owns what to do about
them: bounded exponential backoff with jitter for transient failures, waits the provider
asked for on rate limits (bounded in total, then ProviderRateLimited so the job can be
rescheduled instead of sleeping for an hour), and typed errors at the end. All sleeping
goes through an injectable `sleep` so tests can record waits without real time passing.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, TypeVar

import httpx
import structlog

from metricx.connectors.base import (
    ConnectorError,
    ProviderRateLimited,
    TransientProviderError,
)

log = structlog.get_logger("metricx.connectors")

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

MICROS = Decimal(1_000_000)


class RetryAfter(Exception):
    """Raised by an interpreter: the provider asked us to wait `seconds`, then retry."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(0.0, float(seconds))
        self.reason = reason


class Transient(Exception):
    """Raised by an interpreter: a 5xx or maintenance answer worth retrying with backoff."""


@dataclass(slots=True)
class RetryPolicy:
    """Bounds on retrying; the defaults suit a background sync job."""

    max_transient_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    # Total seconds one call may spend waiting on rate limits before giving the wait back
    # to the job (ProviderRateLimited) so a worker shared by every tenant is never parked.
    max_rate_limit_wait: float = 300.0
    # A single wait longer than this is not slept at all: the job is rescheduled.
    max_single_wait: float = 120.0
    # Used when a provider signals a rate limit without saying how long to wait.
    default_rate_limit_wait: float = 60.0


class Retrier:
    """Runs one provider call with bounded retries; one instance per connector."""

    def __init__(
        self,
        provider: str,
        *,
        sleep: Sleep | None = None,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.provider = provider
        self.sleep: Sleep = sleep or asyncio.sleep
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.waits: list[float] = []

    async def pause(self, seconds: float) -> None:
        """Sleep through the injected sleep, remembering the wait."""
        if seconds <= 0:
            return
        self.waits.append(seconds)
        await self.sleep(seconds)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the given 1-based attempt."""
        cap = min(self.policy.max_delay, self.policy.base_delay * (2 ** (attempt - 1)))
        return cap / 2 + self.rng.uniform(0, cap / 2)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Call until it returns, raising typed errors when the bounds are spent.

        `call` performs one HTTP request and interprets it, raising RetryAfter or Transient
        for answers worth repeating and ConnectorError subclasses for final ones.
        """
        transient = 0
        waited = 0.0
        while True:
            try:
                return await call()
            except RetryAfter as exc:
                wait = exc.seconds or self.policy.default_rate_limit_wait
                if wait > self.policy.max_single_wait or (
                    waited + wait > self.policy.max_rate_limit_wait
                ):
                    log.warning(
                        "provider.rate_limit_handed_back",
                        provider=self.provider,
                        retry_after=wait,
                        waited=waited,
                        reason=exc.reason,
                    )
                    raise ProviderRateLimited(
                        f"{self.provider}: {exc.reason}", retry_after=wait
                    ) from exc
                waited += wait
                log.info(
                    "provider.rate_limited", provider=self.provider, wait=wait, reason=exc.reason
                )
                await self.pause(wait)
            except (Transient, httpx.TimeoutException, httpx.TransportError) as exc:
                transient += 1
                if transient >= self.policy.max_transient_attempts:
                    log.warning(
                        "provider.transient_gave_up",
                        provider=self.provider,
                        attempts=transient,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    raise TransientProviderError(
                        f"{self.provider}: {type(exc).__name__}: {exc}"
                    ) from exc
                delay = self.backoff(transient)
                log.info(
                    "provider.transient_retry",
                    provider=self.provider,
                    attempt=transient,
                    delay=round(delay, 3),
                    error=type(exc).__name__,
                )
                await self.pause(delay)


def parse_json(response: httpx.Response) -> Any:
    """The body as JSON, or a Transient signal for a garbled answer (proxies, truncation)."""
    try:
        return response.json()
    except ValueError as exc:
        if response.status_code >= 500:
            raise Transient(f"HTTP {response.status_code}") from exc
        raise ConnectorError(f"unreadable answer (HTTP {response.status_code})") from exc


def to_micros(value: Any) -> int:
    """A decimal amount (string or number) in currency units → integer micros, exactly."""
    if value is None or value == "":
        return 0
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConnectorError(f"not an amount: {value!r}") from exc
    return int((amount * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_int(value: Any) -> int:
    """Counts arrive as strings on most APIs."""
    if value is None or value == "":
        return 0
    return int(Decimal(str(value)))


def to_float(value: Any) -> float:
    """Fractional counts (conversions) as float."""
    if value is None or value == "":
        return 0.0
    return float(Decimal(str(value)))


def date_windows(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive inclusive windows of at most `days` days."""
    out = []
    cursor = start
    while cursor <= end:
        stop = min(end, cursor + timedelta(days=days - 1))
        out.append((cursor, stop))
        cursor = stop + timedelta(days=1)
    return out


_STRUCTURE = re.compile(r'["{}\[\]]')
_STRING_END = re.compile(r'(?:[^"\\]|\\.)*"', re.S)


async def iter_json_array(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """Decode a streamed top-level JSON array one element at a time.

    searchStream answers with one array of batches; reading it whole would hold every row
    of a long window in memory at once. Element boundaries are found with C-level regex
    scans (strings skipped whole), and each element is decoded once.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    buf = ""
    pos = 0  # scan position inside buf
    start = -1  # start of the current element, -1 when between elements
    depth = 0
    opened = False
    async for chunk in chunks:
        buf += decoder.decode(chunk)
        while True:
            match = _STRUCTURE.search(buf, pos)
            if match is None:
                pos = len(buf)
                break
            char = match.group()
            if char == '"':
                end = _STRING_END.match(buf, match.end())
                if end is None:  # the string continues in the next chunk
                    pos = match.start()
                    break
                pos = end.end()
                continue
            pos = match.end()
            if not opened:
                if char != "[":
                    raise ValueError("not a JSON array")
                opened = True
                continue
            if char in "{[":
                if depth == 0:
                    start = match.start()
                depth += 1
            elif depth == 0:  # the closing bracket of the outer array
                return
            else:
                depth -= 1
                if depth == 0:
                    yield json.loads(buf[start:pos])
                    buf, pos, start = buf[pos:], 0, -1
        if start > 0:
            buf, pos, start = buf[start:], pos - start, 0
        elif start < 0 and depth == 0 and opened:
            buf, pos = buf[pos:], 0
