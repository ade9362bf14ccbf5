"""Shopify Admin GraphQL API: shop info and orders updated in a window.

Rate limits are cost based: every answer carries `extensions.cost` with the query's
requested cost and the bucket's `throttleStatus` (currentlyAvailable, restoreRate). The
client paces itself from that (waiting (cost - available) / restoreRate before a query the
bucket cannot pay for) and waits the same way on a THROTTLED error. Short windows are
read page by page; long ones (backfills) through a bulk operation per window, whose JSONL
result is downloaded to a temporary file and parsed off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time as _time
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from metricx.config import Settings
from metricx.connectors._http import (
    Retrier,
    RetryAfter,
    RetryPolicy,
    Sleep,
    Transient,
    date_windows,
    parse_json,
)
from metricx.connectors.base import (
    AccountInfo,
    AuthExpired,
    ConnectorError,
    TransientProviderError,
)
from metricx.connectors.shopify_orders import (
    BULK_INNER,
    BULK_POLL,
    BULK_RUN,
    LINES_QUERY,
    ORDERS_QUERY,
    SHOP_QUERY,
    parse_order,
    reassemble_jsonl,
)
from metricx.sync.writer import OrderRow

BULK_DONE = "COMPLETED"
BULK_FAILED = {"FAILED", "CANCELED", "CANCELLED", "EXPIRED"}


class ShopifyConnector:
    """One Shopify shop."""

    provider = "shopify"

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        shop_domain: str,
        access_token: str,
        *,
        sleep: Sleep | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = 10,
        line_items: int = 10,
        bulk_threshold_days: int | None = 45,
        bulk_window_days: int = 30,
        poll_interval: float = 5.0,
        max_poll_seconds: float = 3600.0,
        batch_size: int = 250,
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        self.http = http
        self.shop_domain = shop_domain.removeprefix("https://").strip("/")
        base = settings.shopify_base_url_override or f"https://{self.shop_domain}"
        self.url = f"{base.rstrip('/')}/admin/api/{settings.shopify_api_version}/graphql.json"
        self.token = access_token
        self.retrier = Retrier("shopify", sleep=sleep, policy=policy)
        self.page_size = page_size
        self.line_items = line_items
        self.bulk_threshold_days = bulk_threshold_days
        self.bulk_window_days = bulk_window_days
        self.poll_interval = poll_interval
        self.max_poll_seconds = max_poll_seconds
        self.batch_size = batch_size
        self.available: float | None = None
        self.restore_rate: float = 50.0
        self.last_cost: float = 0.0
        self.maximum: float = 1000.0
        self.clock = clock
        self._read_at = 0.0
        self.requests = 0
        self._info: AccountInfo | None = None

    # --- transport -------------------------------------------------------------

    def _read_cost(self, body: Any) -> dict[str, Any]:
        cost = ((body or {}).get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        if "currentlyAvailable" in status:
            self.available = float(status["currentlyAvailable"])
            self.restore_rate = float(status.get("restoreRate") or self.restore_rate)
            self.maximum = float(status.get("maximumAvailable") or self.maximum)
            self._read_at = self.clock()
        if cost.get("requestedQueryCost") is not None:
            self.last_cost = float(cost["requestedQueryCost"])
        return cost

    def _throttle_wait(self, requested: float) -> float:
        if self.available is None:
            return 0.0
        # The bucket refills while the caller works on the previous page.
        elapsed = max(0.0, self.clock() - self._read_at)
        available = min(self.maximum, self.available + elapsed * self.restore_rate)
        if requested <= available:
            return 0.0
        return (requested - available) / max(self.restore_rate, 1.0)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL call, paced by the cost bucket and retried within bounds."""

        async def once() -> dict[str, Any]:
            # The last query's cost is the best estimate of this one's.
            wait = self._throttle_wait(self.last_cost)
            if wait > 0:
                await self.retrier.pause(wait)
                self.available = None
            self.requests += 1
            response = await self.http.post(
                self.url,
                json={"query": query, "variables": variables or {}},
                headers={"X-Shopify-Access-Token": self.token},
            )
            return self._interpret(response)

        return await self.retrier.run(once)

    def _interpret(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 401:
            raise AuthExpired("shopify: access token rejected (401)")
        if status == 429:
            retry = response.headers.get("retry-after") or "2"
            raise RetryAfter(
                float(retry) if retry.replace(".", "", 1).isdigit() else 2.0, "shopify HTTP 429"
            )
        if status >= 500:
            raise Transient(f"shopify HTTP {status}")
        body = parse_json(response)
        if status != 200:
            raise ConnectorError(f"shopify HTTP {status}: {body}")
        cost = self._read_cost(body)
        errors = body.get("errors") or []
        if isinstance(errors, str):  # REST-style {"errors": "..."}
            raise ConnectorError(f"shopify: {errors}")
        codes = {((e.get("extensions") or {}).get("code")) for e in errors}
        if "THROTTLED" in codes:
            requested = float(cost.get("requestedQueryCost") or self.last_cost or 1)
            wait = self._throttle_wait(requested) or 1.0
            self.available = None  # the retrier sleeps it; do not pace twice
            raise RetryAfter(wait, "shopify THROTTLED")
        if "ACCESS_DENIED" in codes and body.get("data") is None:
            raise ConnectorError(f"shopify: access denied: {errors[0].get('message')}")
        if errors and body.get("data") is None:
            raise ConnectorError(f"shopify: {errors[0].get('message')}")
        return body.get("data") or {}

    # --- contract --------------------------------------------------------------

    async def account(self) -> AccountInfo:
        """Shop name, currency and IANA timezone."""
        shop = (await self.graphql(SHOP_QUERY)).get("shop") or {}
        self._info = AccountInfo(
            external_id=shop.get("myshopifyDomain") or self.shop_domain,
            name=shop.get("name") or self.shop_domain,
            currency=shop.get("currencyCode") or "USD",
            timezone=shop.get("ianaTimezone") or "UTC",
        )
        return self._info

    async def _tz(self) -> ZoneInfo:
        info = self._info or await self.account()
        return ZoneInfo(info.timezone)

    def _filter(self, since: date, until: date, tz: ZoneInfo) -> str:
        """Orders updated during the shop's local days [since, until]."""
        lo = datetime.combine(since, time.min, tz).astimezone(ZoneInfo("UTC"))
        hi = datetime.combine(until + timedelta(days=1), time.min, tz).astimezone(ZoneInfo("UTC"))
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return f"updated_at:>='{lo.strftime(fmt)}' AND updated_at:<'{hi.strftime(fmt)}'"

    async def orders(self, start: date, end: date) -> AsyncIterator[list[OrderRow]]:
        """Orders updated in the shop-local days [start, end], in batches."""
        tz = await self._tz()
        days = (end - start).days + 1
        if self.bulk_threshold_days is not None and days > self.bulk_threshold_days:
            for since, until in date_windows(start, end, self.bulk_window_days):
                rows = await self.bulk_orders(self._filter(since, until, tz), tz)
                for i in range(0, len(rows), self.batch_size):
                    yield rows[i : i + self.batch_size]
            return
        async for batch in self._paged_orders(self._filter(start, end, tz), tz):
            yield batch

    async def _paged_orders(self, search: str, tz: ZoneInfo) -> AsyncIterator[list[OrderRow]]:
        after: str | None = None
        while True:
            data = await self.graphql(
                ORDERS_QUERY,
                {
                    "first": self.page_size,
                    "after": after,
                    "query": search,
                    "lines": self.line_items,
                },
            )
            conn = data.get("orders") or {}
            batch = []
            for node in conn.get("nodes") or []:
                items = node.get("lineItems") or {}
                lines = list(items.get("nodes") or [])
                info = items.get("pageInfo") or {}
                if info.get("hasNextPage"):
                    lines += await self._more_lines(node["id"], info.get("endCursor"))
                batch.append(parse_order(node, tz, lines))
            if batch:
                yield batch
            page = conn.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")

    async def _more_lines(self, order_id: str, after: str | None) -> list[dict[str, Any]]:
        """The rest of an order's line items beyond the first page."""
        lines: list[dict[str, Any]] = []
        while after:
            data = await self.graphql(LINES_QUERY, {"id": order_id, "after": after})
            items = ((data.get("order") or {}).get("lineItems")) or {}
            lines.extend(items.get("nodes") or [])
            info = items.get("pageInfo") or {}
            after = info.get("endCursor") if info.get("hasNextPage") else None
        return lines

    # --- bulk operations ---------------------------------------------------------

    async def bulk_orders(self, search: str, tz: ZoneInfo) -> list[OrderRow]:
        """Run one bulk query for the filter, wait for it, download and reassemble."""
        inner = BULK_INNER.replace("__FILTER__", search.replace('"', '\\"'))
        data = await self.graphql(BULK_RUN, {"query": inner})
        result = data.get("bulkOperationRunQuery") or {}
        if result.get("userErrors"):
            message = str(result["userErrors"][0].get("message"))
            if "in progress" in message.lower():
                # One bulk query per app and shop: another is running, so try again later.
                raise TransientProviderError(f"shopify bulk: {message}")
            raise ConnectorError(f"shopify bulk: {message}")
        op_id = (result.get("bulkOperation") or {}).get("id")
        if not op_id:
            raise ConnectorError("shopify bulk: no operation id")
        waited = 0.0
        while True:
            node = (await self.graphql(BULK_POLL, {"id": op_id})).get("node") or {}
            state = node.get("status")
            if state == BULK_DONE:
                break
            if state in BULK_FAILED:
                raise ConnectorError(f"shopify bulk {op_id} {state}: {node.get('errorCode')}")
            if waited >= self.max_poll_seconds:
                raise ConnectorError(f"shopify bulk {op_id} still {state} after {waited}s")
            waited += self.poll_interval
            await self.retrier.pause(self.poll_interval)
        url = node.get("url")
        if not url:  # no objects matched
            return []
        return await self._download(url, tz)

    async def _download(self, url: str, tz: ZoneInfo) -> list[OrderRow]:
        """Stream the JSONL to a temp file, then parse and reassemble it in a thread."""
        fd, path = tempfile.mkstemp(prefix="metricx-shopify-", suffix=".jsonl")
        os.close(fd)
        try:

            async def fetch() -> None:
                async with self.http.stream("GET", url) as response:
                    if response.status_code >= 500:
                        raise Transient(f"shopify bulk download HTTP {response.status_code}")
                    if response.status_code != 200:
                        raise ConnectorError(f"bulk download HTTP {response.status_code}")
                    handle = await asyncio.to_thread(open, path, "wb")
                    try:
                        async for chunk in response.aiter_bytes(1 << 16):
                            await asyncio.to_thread(handle.write, chunk)
                    finally:
                        await asyncio.to_thread(handle.close)

            await self.retrier.run(fetch)
            return await asyncio.to_thread(_parse_file, path, tz)
        finally:
            await asyncio.to_thread(_unlink, path)


def _parse_file(path: str, tz: ZoneInfo) -> list[OrderRow]:
    with open(path, encoding="utf-8") as handle:
        return reassemble_jsonl(handle.readlines(), tz)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
