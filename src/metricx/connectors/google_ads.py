"""Google Ads API over REST: GAQL through `googleAds:searchStream`.

Facts stay at the leaf of each entity tree: ad-level rows from `ad_group_ad`, plus
campaign-level rows for Performance Max campaigns only, which have no ads to report on.
Entity ids: campaigns and ad groups by their ids; ads as "{ad_group_id}~{ad_id}" (the
ad_group_ad key, since one ad id may sit in several ad groups); PMax asset groups as
"assetgroup~{id}" at the ad set level, without facts of their own.

Conversions are `metrics.conversions` and revenue `metrics.conversions_value`, both
credited to the interaction date (re-read the conversion window on every sync).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
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
    iter_json_array,
    to_float,
    to_int,
    to_micros,
)
from metricx.connectors.base import (
    AccountInfo,
    AuthExpired,
    ConnectorError,
    ProviderRateLimited,
    RawFact,
    TransientProviderError,
)
from metricx.sync.writer import EntityRow

STATUS = {"ENABLED": "active", "PAUSED": "paused", "REMOVED": "deleted"}
METRICS = (
    "metrics.cost_micros, metrics.impressions, metrics.clicks, "
    "metrics.conversions, metrics.conversions_value"
)
TRANSIENT_STATUSES = {"UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED", "UNKNOWN"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class _Unauthenticated(Exception):
    """The access token was refused: refresh once, then give up."""


def map_status(value: str | None) -> str:
    """ENABLED/PAUSED/REMOVED → active/paused/deleted."""
    return STATUS.get((value or "").upper(), "paused")


def parse_duration(value: Any) -> float | None:
    """A protobuf Duration in JSON ("30s", "1.5s") → seconds."""
    if isinstance(value, dict):  # {"seconds": "30", "nanos": 0}
        return float(value.get("seconds") or 0) + float(value.get("nanos") or 0) / 1e9
    match = _DURATION.match(str(value or ""))
    return float(match.group(1)) if match else None


def retry_delay(error: dict[str, Any]) -> float | None:
    """The retry delay from google.rpc.RetryInfo or GoogleAdsFailure quotaErrorDetails."""
    best: float | None = None
    for detail in error.get("details") or []:
        candidates = [detail.get("retryDelay")]
        for item in detail.get("errors") or []:
            quota = (item.get("details") or {}).get("quotaErrorDetails") or {}
            candidates.append(quota.get("retryDelay"))
        for candidate in candidates:
            seconds = parse_duration(candidate) if candidate is not None else None
            if seconds is not None:
                best = max(best or 0.0, seconds)
    return best


def _error_of(body: Any) -> dict[str, Any] | None:
    """The google.rpc.Status of an answer: an object, or inside a searchStream array."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    if isinstance(body, list):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("error"), dict):
                return item["error"]
    return None


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    m = row.get("metrics") or {}
    # proto3 JSON leaves out zero values, so a missing metric is 0.
    return {
        "spend_micros": to_int(m.get("costMicros")),
        "impressions": to_int(m.get("impressions")),
        "clicks": to_int(m.get("clicks")),
        "conversions": to_float(m.get("conversions")),
        "revenue_micros": to_micros(m.get("conversionsValue")),
    }


def _final_error(error: dict[str, Any]) -> ConnectorError:
    """A typed error for a failure reported inside a stream that has already begun."""
    status = str(error.get("status") or "")
    message = f"google {status}: {error.get('message', '')}"
    if status == "UNAUTHENTICATED":
        return AuthExpired(message)
    if status == "RESOURCE_EXHAUSTED":
        return ProviderRateLimited(message, retry_after=retry_delay(error) or 60.0)
    if status in TRANSIENT_STATUSES:
        return TransientProviderError(message)
    return ConnectorError(message)


class GoogleAdsConnector:
    """One Google Ads customer (optionally through a manager account)."""

    provider = "google"

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        *,
        customer_id: str,
        developer_token: str,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        access_token_expires_at: float | None = None,
        login_customer_id: str | None = None,
        sleep: Sleep | None = None,
        policy: RetryPolicy | None = None,
        window_days: int = 31,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.base = settings.google_ads_url.rstrip("/")
        self.oauth_url = settings.google_oauth_url
        self.customer_id = customer_id.replace("-", "")
        self.login_customer_id = login_customer_id.replace("-", "") if login_customer_id else None
        self.developer_token = developer_token
        self.refresh_token = refresh_token
        self.client_id = client_id
        self.client_secret = client_secret
        # Exposed so the caller may persist a refreshed token with its expiry.
        self.access_token = access_token
        self.access_token_expires_at = access_token_expires_at or (
            float("inf") if access_token else 0.0
        )
        self.retrier = Retrier("google", sleep=sleep, policy=policy)
        self.window_days = window_days
        self.clock = clock
        self.refreshes = 0

    # --- OAuth -----------------------------------------------------------------

    async def _refresh(self) -> str:
        """Exchange the refresh token for a new access token (cached until expiry)."""
        if not (self.refresh_token and self.client_id and self.client_secret):
            raise AuthExpired("google: access token expired and no refresh token to renew it")

        async def once() -> tuple[str, float]:
            response = await self.http.post(
                self.oauth_url,
                data={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "refresh_token": self.refresh_token,
                    "grant_type": "refresh_token",
                },
            )
            if response.status_code >= 500 or response.status_code == 429:
                raise Transient(f"oauth HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            if response.status_code == 200 and not isinstance(body.get("access_token"), str):
                # A garbled 200 (a proxy's page, a truncated body) says nothing about the
                # credentials: asking the user to reconnect would stop the syncs for nothing.
                raise ConnectorError("google: unreadable token answer (HTTP 200)")
            if response.status_code != 200:
                # invalid_grant: revoked or expired refresh token — the user must reconnect.
                raise AuthExpired(f"google: token refresh failed: {body.get('error', '')}")
            return str(body["access_token"]), float(body.get("expires_in") or 3600)

        token, expires_in = await self.retrier.run(once)
        self.refreshes += 1
        self.access_token = token
        # Renew a minute early so a token never expires between check and use.
        self.access_token_expires_at = self.clock() + expires_in - 60
        return token

    async def _token(self) -> str:
        if self.access_token and self.clock() < self.access_token_expires_at:
            return self.access_token
        return await self._refresh()

    # --- transport -------------------------------------------------------------

    async def search(self, query: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Run one GAQL query through searchStream; yields each batch's `results`.

        The answer is decoded batch by batch as it streams, so a long window never sits
        in memory whole.
        """
        url = f"{self.base}/customers/{self.customer_id}/googleAds:searchStream"
        refreshed = False
        while True:
            token = await self._token()
            headers = {"developer-token": self.developer_token, "Authorization": f"Bearer {token}"}
            if self.login_customer_id:
                headers["login-customer-id"] = self.login_customer_id

            async def open_stream(headers: dict[str, str] = headers) -> httpx.Response:
                request = self.http.build_request(
                    "POST", url, json={"query": query}, headers=headers
                )
                response = await self.http.send(request, stream=True)
                if response.status_code != 200:
                    await response.aread()
                    await response.aclose()
                    self._interpret(response)
                return response

            try:
                response = await self.retrier.run(open_stream)
            except _Unauthenticated as exc:
                if refreshed or not self.refresh_token:
                    raise AuthExpired(f"google: {exc}") from exc
                refreshed = True
                self.access_token = None
                continue
            try:
                async for batch in iter_json_array(response.aiter_bytes()):
                    error = _error_of([batch])
                    if error is not None:
                        raise _final_error(error)
                    results = batch.get("results") if isinstance(batch, dict) else None
                    if results:
                        yield results
            except (httpx.TransportError, ValueError) as exc:
                # Rows may already have been yielded, so the job (idempotent) retries it.
                raise TransientProviderError(f"google: stream broken: {exc}") from exc
            finally:
                await response.aclose()
            return

    def _interpret(self, response: httpx.Response) -> list[Any]:
        try:
            body = response.json()
        except ValueError as exc:
            if response.status_code >= 500:
                raise Transient(f"HTTP {response.status_code}") from exc
            raise ConnectorError(f"google: unreadable answer HTTP {response.status_code}") from exc
        error = _error_of(body)
        if response.status_code == 200 and error is None:
            return body if isinstance(body, list) else [body]
        error = error or {}
        status = str(error.get("status") or "")
        message = f"google {response.status_code} {status}: {error.get('message', '')}"
        if response.status_code == 401 or status == "UNAUTHENTICATED":
            raise _Unauthenticated(message)
        if response.status_code == 429 or status == "RESOURCE_EXHAUSTED":
            raise RetryAfter(retry_delay(error) or 0.0, message)
        if response.status_code >= 500 or status in TRANSIENT_STATUSES:
            raise Transient(message)
        raise ConnectorError(message)

    async def _all(self, query: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async for batch in self.search(query):
            rows.extend(batch)
        return rows

    # --- contract --------------------------------------------------------------

    async def account(self) -> AccountInfo:
        """Customer name, currency and time zone."""
        rows = await self._all(
            "SELECT customer.id, customer.descriptive_name, customer.currency_code, "
            "customer.time_zone FROM customer LIMIT 1"
        )
        if not rows:
            raise ConnectorError("google: customer not found")
        c = rows[0].get("customer") or {}
        return AccountInfo(
            external_id=self.customer_id,
            name=c.get("descriptiveName") or self.customer_id,
            currency=c.get("currencyCode") or "USD",
            timezone=c.get("timeZone") or "UTC",
        )

    async def entities(self) -> list[EntityRow]:
        """Campaigns, ad groups, ads and Performance Max asset groups: four queries."""
        rows: list[EntityRow] = []
        for r in await self._all(
            "SELECT campaign.id, campaign.name, campaign.status, "
            "campaign.advertising_channel_type FROM campaign"
        ):
            c = r["campaign"]
            channel = c.get("advertisingChannelType")
            rows.append(
                EntityRow(
                    level="campaign",
                    external_id=str(c["id"]),
                    name=c.get("name") or str(c["id"]),
                    status=map_status(c.get("status")),
                    goal=channel,
                    extra={"channel": channel} if channel else {},
                )
            )
        for r in await self._all(
            "SELECT ad_group.id, ad_group.name, ad_group.status, campaign.id FROM ad_group"
        ):
            g = r["adGroup"]
            rows.append(
                EntityRow(
                    level="adset",
                    external_id=str(g["id"]),
                    name=g.get("name") or str(g["id"]),
                    status=map_status(g.get("status")),
                    parent_level="campaign",
                    parent_external_id=str(r["campaign"]["id"]),
                )
            )
        for r in await self._all(
            "SELECT ad_group_ad.ad.id, ad_group_ad.ad.name, ad_group_ad.ad.type, "
            "ad_group_ad.status, ad_group_ad.ad.final_urls, ad_group_ad.ad.final_url_suffix, "
            "ad_group_ad.ad.tracking_url_template, ad_group.id FROM ad_group_ad"
        ):
            aga = r["adGroupAd"]
            ad = aga.get("ad") or {}
            group_id = str(r["adGroup"]["id"])
            tracking = ad.get("finalUrlSuffix") or ad.get("trackingUrlTemplate")
            extra = {"ad_type": ad.get("type"), "final_urls": ad.get("finalUrls")}
            rows.append(
                EntityRow(
                    level="ad",
                    external_id=f"{group_id}~{ad['id']}",
                    name=ad.get("name") or f"Ad {ad['id']}",
                    status=map_status(aga.get("status")),
                    parent_level="adset",
                    parent_external_id=group_id,
                    tracking_params=tracking,
                    extra={k: v for k, v in extra.items() if v},
                )
            )
        for r in await self._all(
            "SELECT asset_group.id, asset_group.name, asset_group.status, campaign.id "
            "FROM asset_group"
        ):
            g = r["assetGroup"]
            rows.append(
                EntityRow(
                    level="adset",
                    external_id=f"assetgroup~{g['id']}",
                    name=g.get("name") or str(g["id"]),
                    status=map_status(g.get("status")),
                    parent_level="campaign",
                    parent_external_id=str(r["campaign"]["id"]),
                    extra={"kind": "asset_group"},
                )
            )
        return rows

    async def facts(self, start: date, end: date) -> AsyncIterator[list[RawFact]]:
        """Ad-level daily facts plus campaign-level ones for Performance Max."""
        for since, until in date_windows(start, end, self.window_days):
            between = f"segments.date BETWEEN '{since.isoformat()}' AND '{until.isoformat()}'"
            async for batch in self.search(
                f"SELECT ad_group.id, ad_group_ad.ad.id, segments.date, {METRICS} "
                f"FROM ad_group_ad WHERE {between}"
            ):
                yield [
                    RawFact(
                        level="ad",
                        external_id=f"{r['adGroup']['id']}~{r['adGroupAd']['ad']['id']}",
                        event_date=date.fromisoformat(r["segments"]["date"]),
                        **_metrics(r),
                    )
                    for r in batch
                ]
            async for batch in self.search(
                f"SELECT campaign.id, segments.date, {METRICS} FROM campaign "
                f"WHERE campaign.advertising_channel_type = 'PERFORMANCE_MAX' AND {between}"
            ):
                yield [
                    RawFact(
                        level="campaign",
                        external_id=str(r["campaign"]["id"]),
                        event_date=date.fromisoformat(r["segments"]["date"]),
                        **_metrics(r),
                    )
                    for r in batch
                ]
