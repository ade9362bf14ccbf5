"""TikTok Business API: advertiser info, entity lists and the ad-level daily report.

Purchases: conversions are `complete_payment` (web purchase events) and revenue is
`total_complete_payment_rate`, which despite its name is the total value of those
purchases. That keeps TikTok's conversions the same kind of thing as Meta's and Google's
purchases; TikTok's optimisation-event `conversion` count is kept in `extra`.

Every answer is an envelope `{"code": 0, "message": "OK", "data": {...}}`, usually with
HTTP 200 even for errors, so the code decides: 40102/40104/40105 expired or revoked token;
40100 and 51xxx rate limits; 40067 query too large (the window shrinks 30 → 7 → 1 days);
60001 maintenance and 5xxxx server errors are retried.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

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
    to_micros,
)
from metricx.connectors.base import AccountInfo, AuthExpired, ConnectorError, RawFact
from metricx.sync.writer import EntityRow

AUTH_CODES = {40102, 40104, 40105, 40106, 40107}
RATE_CODES = {40100, 40133}
TOO_LARGE = 40067
REPORT_METRICS = [
    "spend",
    "impressions",
    "clicks",
    "conversion",
    "complete_payment",
    "total_complete_payment_rate",
]
WINDOW_STEPS = (30, 7, 1)


class _QueryTooLarge(Exception):
    """40067: ask for fewer days at a time."""


def _number(value: Any) -> Decimal:
    """TikTok sends numbers as strings and "-" for not applicable."""
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def map_status(item: dict[str, Any]) -> str:
    """operation_status / secondary_status → active | paused | archived | deleted."""
    secondary = str(item.get("secondary_status") or "").upper()
    if "DELETE" in secondary:
        return "deleted"
    operation = str(item.get("operation_status") or "").upper()
    if operation == "ENABLE":
        return "active"
    if operation == "FROZEN":
        return "archived"
    return "paused"


def parse_report_row(row: dict[str, Any]) -> RawFact:
    """One report row (one ad-day) → RawFact."""
    dims, m = row.get("dimensions") or {}, row.get("metrics") or {}
    purchases = float(_number(m.get("complete_payment")))
    return RawFact(
        level="ad",
        external_id=str(dims["ad_id"]),
        event_date=date.fromisoformat(str(dims["stat_time_day"])[:10]),
        spend_micros=to_micros(_number(m.get("spend"))),
        impressions=int(_number(m.get("impressions"))),
        clicks=int(_number(m.get("clicks"))),
        conversions=purchases,
        purchases=purchases,
        revenue_micros=to_micros(_number(m.get("total_complete_payment_rate"))),
        extra={"conversion": float(_number(m.get("conversion")))},
    )


class TikTokConnector:
    """One TikTok advertiser account."""

    provider = "tiktok"

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        access_token: str,
        advertiser_id: str,
        *,
        sleep: Sleep | None = None,
        policy: RetryPolicy | None = None,
        page_size: int = 1000,
        rate_limit_base_wait: float = 5.0,
    ) -> None:
        self.http = http
        self.base = settings.tiktok_url.rstrip("/")
        self.token = access_token
        self.advertiser_id = str(advertiser_id)
        self.retrier = Retrier("tiktok", sleep=sleep, policy=policy)
        self.page_size = page_size
        self.rate_limit_base_wait = rate_limit_base_wait
        self._rate_limited = 0

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One GET with the envelope checked; lists and dicts are sent as JSON strings."""
        query = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}

        async def once() -> dict[str, Any]:
            response = await self.http.get(
                f"{self.base}/{path.strip('/')}/",
                params=query,
                headers={"Access-Token": self.token},
            )
            return self._interpret(response)

        data = await self.retrier.run(once)
        self._rate_limited = 0
        return data

    def _rate_wait(self, response: httpx.Response) -> float:
        header = response.headers.get("retry-after")
        if header and header.replace(".", "", 1).isdigit():
            return float(header)
        # No documented wait: grow a bounded backoff per consecutive rate limit.
        self._rate_limited += 1
        return min(60.0, self.rate_limit_base_wait * 2 ** (self._rate_limited - 1))

    def _interpret(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 429:
            raise RetryAfter(self._rate_wait(response), "tiktok HTTP 429")
        if response.status_code >= 500:
            raise Transient(f"tiktok HTTP {response.status_code}")
        body = parse_json(response)
        code = int(body.get("code", -1)) if isinstance(body, dict) else -1
        if code == 0:
            return body.get("data") or {}
        message = (
            f"tiktok error {code}: {body.get('message', '') if isinstance(body, dict) else ''}"
        )
        if code in AUTH_CODES or response.status_code == 401:
            raise AuthExpired(message)
        if code in RATE_CODES or 51000 <= code < 52000:
            raise RetryAfter(self._rate_wait(response), message)
        if code == TOO_LARGE:
            raise _QueryTooLarge(message)
        if code == 60001 or code >= 50000:
            raise Transient(message)
        raise ConnectorError(message)

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[list[Any]]:
        page = 1
        while True:
            data = await self._get(path, {**params, "page": page, "page_size": self.page_size})
            yield data.get("list") or []
            total = int((data.get("page_info") or {}).get("total_page") or 1)
            if page >= total:
                return
            page += 1

    # --- contract --------------------------------------------------------------

    async def account(self) -> AccountInfo:
        """Advertiser name, currency and timezone."""
        data = await self._get(
            "advertiser/info",
            {
                "advertiser_ids": [self.advertiser_id],
                "fields": ["advertiser_id", "name", "currency", "timezone", "display_timezone"],
            },
        )
        items = data.get("list") or []
        if not items:
            raise ConnectorError(f"tiktok: advertiser {self.advertiser_id} not found")
        info = items[0]
        return AccountInfo(
            external_id=self.advertiser_id,
            name=info.get("name") or self.advertiser_id,
            currency=info.get("currency") or "USD",
            timezone=info.get("display_timezone") or info.get("timezone") or "UTC",
        )

    async def entities(self) -> list[EntityRow]:
        """Campaigns, ad groups and ads, deleted ones included, in pages of 1,000."""
        base = {"advertiser_id": self.advertiser_id, "filtering": {"primary_status": "STATUS_ALL"}}
        rows: list[EntityRow] = []
        async for page in self._pages("campaign/get", base):
            rows.extend(
                EntityRow(
                    level="campaign",
                    external_id=str(c["campaign_id"]),
                    name=c.get("campaign_name") or str(c["campaign_id"]),
                    status=map_status(c),
                    goal=c.get("objective_type"),
                )
                for c in page
            )
        async for page in self._pages("adgroup/get", base):
            rows.extend(
                EntityRow(
                    level="adset",
                    external_id=str(g["adgroup_id"]),
                    name=g.get("adgroup_name") or str(g["adgroup_id"]),
                    status=map_status(g),
                    parent_level="campaign",
                    parent_external_id=str(g["campaign_id"]),
                    goal=g.get("optimization_goal"),
                )
                for g in page
            )
        async for page in self._pages("ad/get", base):
            for ad in page:
                url = ad.get("landing_page_url") or ""
                rows.append(
                    EntityRow(
                        level="ad",
                        external_id=str(ad["ad_id"]),
                        name=ad.get("ad_name") or str(ad["ad_id"]),
                        status=map_status(ad),
                        parent_level="adset",
                        parent_external_id=str(ad["adgroup_id"]),
                        tracking_params=url.partition("?")[2] or None,
                        thumbnail_url=ad.get("thumbnail_url"),
                        extra={"landing_page_url": url} if url else {},
                    )
                )
        return rows

    async def facts(self, start: date, end: date) -> AsyncIterator[list[RawFact]]:
        """Ad-level daily facts in windows of at most 30 days, shrinking on 40067."""
        async for batch in self._facts(start, end, 0):
            yield batch

    async def _facts(self, start: date, end: date, step: int) -> AsyncIterator[list[RawFact]]:
        for since, until in date_windows(start, end, WINDOW_STEPS[step]):
            params = {
                "advertiser_id": self.advertiser_id,
                "service_type": "AUCTION",
                "report_type": "BASIC",
                "data_level": "AUCTION_AD",
                "dimensions": ["ad_id", "stat_time_day"],
                "metrics": REPORT_METRICS,
                "start_date": since.isoformat(),
                "end_date": until.isoformat(),
            }
            yielded = False
            try:
                async for page in self._pages("report/integrated/get", params):
                    if page:
                        yielded = True
                        yield [parse_report_row(row) for row in page]
            except _QueryTooLarge as exc:
                # TikTok refuses on the first page, so nothing of this window was yielded.
                if yielded or step + 1 >= len(WINDOW_STEPS):
                    raise ConnectorError(str(exc)) from exc
                async for batch in self._facts(since, until, step + 1):
                    yield batch
