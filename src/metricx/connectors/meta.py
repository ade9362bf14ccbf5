"""Meta Marketing API (Graph): ad account, entity tree and daily ad-level insights.

How actions become conversions and revenue is documented in meta_parse. Rate limits: the
usage headers are read on every answer, errors included; close to the limit the client
pauses before Meta refuses; rate-limit errors wait the estimated time to regain access
(bounded, then ProviderRateLimited for the job to reschedule).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
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
    parse_json,
)
from metricx.connectors.base import (
    AccountInfo,
    AuthExpired,
    ConnectorError,
    RawFact,
    TransientProviderError,
)
from metricx.connectors.meta_parse import (
    ALL_EFFECTIVE,
    INSIGHT_FIELDS,
    map_status,
    parse_insight,
    read_usage,
)
from metricx.sync.writer import EntityRow

RATE_LIMIT_CODES = {4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008}
RATE_LIMIT_SUBCODES = {2446079, 1487742, 1504022, 1504039}
AUTH_CODES = {102, 190}
AUTH_SUBCODES = {458, 459, 460, 463, 464, 467, 492}


class ReduceData(ConnectorError):
    """Error 1 "Please reduce the amount of data": the window goes through a report run."""


ASYNC_DONE = "Job Completed"
ASYNC_FAILED = {"Job Failed", "Job Skipped"}


class MetaConnector:
    """One Meta ad account over the Graph API."""

    provider = "meta"

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        access_token: str,
        ad_account_id: str,
        *,
        sleep: Sleep | None = None,
        policy: RetryPolicy | None = None,
        page_limit: int = 500,
        window_days: int = 14,
        async_threshold_days: int = 90,
        async_window_days: int = 31,
        poll_interval: float = 5.0,
        max_poll_seconds: float = 1800.0,
        slowdown_pct: float = 90.0,
        slowdown_seconds: float = 30.0,
    ) -> None:
        self.http = http
        self.base = settings.meta_graph_url.rstrip("/")
        self.token = access_token
        self.account_id = ad_account_id.removeprefix("act_")
        self.retrier = Retrier("meta", sleep=sleep, policy=policy)
        self.page_limit = page_limit
        self.window_days = window_days
        self.async_threshold_days = async_threshold_days
        self.async_window_days = async_window_days
        self.poll_interval = poll_interval
        self.max_poll_seconds = max_poll_seconds
        self.slowdown_pct = slowdown_pct
        self.slowdown_seconds = slowdown_seconds
        self.usage_pct = 0.0
        self.regain_seconds = 0.0
        self.requests = 0

    # --- transport -------------------------------------------------------------

    def _read_usage(self, headers: httpx.Headers) -> None:
        """Remember the highest usage percentage and regain time from any response."""
        self.usage_pct, self.regain_seconds = read_usage(headers)

    async def _call(
        self, method: str, path: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One Graph call with usage-aware pacing and bounded retries."""

        async def once() -> dict[str, Any]:
            if self.usage_pct >= self.slowdown_pct:
                # Close to the limit: pause before Meta starts refusing, not after.
                wait = self.regain_seconds or self.slowdown_seconds
                self.usage_pct = 0.0
                await self.retrier.pause(wait)
            self.requests += 1
            response = await self.http.request(
                method,
                f"{self.base}/{path.lstrip('/')}",
                params=params,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            self._read_usage(response.headers)
            return self._interpret(response)

        return await self.retrier.run(once)

    def _interpret(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code < 400 and error is None and isinstance(body, dict):
            return body
        if not isinstance(error, dict):
            if response.status_code >= 500 or response.status_code == 429:
                raise Transient(f"HTTP {response.status_code}")
            if response.status_code == 401:
                raise AuthExpired("meta: access token rejected")
            parse_json(response)
            raise ConnectorError(f"meta: HTTP {response.status_code}")
        code = int(error.get("code") or 0)
        subcode = int(error.get("error_subcode") or 0)
        message = f"meta error {code}/{subcode}: {error.get('message', '')}"
        if code in RATE_LIMIT_CODES or subcode in RATE_LIMIT_SUBCODES:
            # The retrier waits the regain time; the pacing check must not wait it again.
            self.usage_pct = 0.0
            raise RetryAfter(self.regain_seconds, message)
        if code in AUTH_CODES or subcode in AUTH_SUBCODES or response.status_code == 401:
            raise AuthExpired(message)
        if code == 1 and "reduce the amount of data" in message.lower():
            raise ReduceData(message)
        if code in {1, 2} or error.get("is_transient") or response.status_code >= 500:
            raise Transient(message)
        raise ConnectorError(message)

    async def _pages(
        self, path: str, params: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Follow cursor paging; re-issuing with `after` keeps calls on our base URL."""
        params = {**params, "limit": self.page_limit}
        while True:
            body = await self._call("GET", path, params)
            yield body.get("data") or []
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            params = {**params, "after": after}

    # --- contract --------------------------------------------------------------

    async def account(self) -> AccountInfo:
        """Name, currency and timezone of the ad account."""
        body = await self._call(
            "GET",
            f"act_{self.account_id}",
            {"fields": "name,currency,timezone_name,account_status"},
        )
        return AccountInfo(
            external_id=self.account_id,
            name=body.get("name") or f"act_{self.account_id}",
            currency=body.get("currency") or "USD",
            timezone=body.get("timezone_name") or "UTC",
        )

    async def entities(self) -> list[EntityRow]:
        """Campaigns, ad sets and ads (with creatives) in bulk: a few paged calls in all."""
        status_filter = json.dumps(ALL_EFFECTIVE)
        rows: list[EntityRow] = []
        async for page in self._pages(
            f"act_{self.account_id}/campaigns",
            {"fields": "id,name,effective_status,objective", "effective_status": status_filter},
        ):
            rows.extend(
                EntityRow(
                    level="campaign",
                    external_id=str(c["id"]),
                    name=c.get("name") or str(c["id"]),
                    status=map_status(c.get("effective_status")),
                    goal=c.get("objective"),
                )
                for c in page
            )
        async for page in self._pages(
            f"act_{self.account_id}/adsets",
            {
                "fields": "id,name,effective_status,campaign_id,optimization_goal",
                "effective_status": status_filter,
            },
        ):
            rows.extend(
                EntityRow(
                    level="adset",
                    external_id=str(s["id"]),
                    name=s.get("name") or str(s["id"]),
                    status=map_status(s.get("effective_status")),
                    parent_level="campaign",
                    parent_external_id=str(s["campaign_id"]),
                    goal=s.get("optimization_goal"),
                )
                for s in page
            )
        async for page in self._pages(
            f"act_{self.account_id}/ads",
            {
                "fields": "id,name,effective_status,adset_id,campaign_id,"
                "creative{id,name,thumbnail_url,image_url,url_tags,object_type}",
                "effective_status": status_filter,
            },
        ):
            for ad in page:
                creative = ad.get("creative") or {}
                rows.append(
                    EntityRow(
                        level="ad",
                        external_id=str(ad["id"]),
                        name=ad.get("name") or str(ad["id"]),
                        status=map_status(ad.get("effective_status")),
                        parent_level="adset",
                        parent_external_id=str(ad["adset_id"]),
                        tracking_params=creative.get("url_tags"),
                        thumbnail_url=creative.get("thumbnail_url") or creative.get("image_url"),
                        extra={
                            k: v
                            for k, v in {
                                "creative_id": creative.get("id"),
                                "creative_name": creative.get("name"),
                                "creative_type": creative.get("object_type"),
                            }.items()
                            if v
                        },
                    )
                )
        return rows

    def _insight_params(self, since: date, until: date) -> dict[str, Any]:
        return {
            "level": "ad",
            "time_increment": 1,
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
            "fields": ",".join(INSIGHT_FIELDS),
            "action_breakdowns": "action_type",
            "use_unified_attribution_setting": "true",
        }

    async def facts(self, start: date, end: date) -> AsyncIterator[list[RawFact]]:
        """Daily ad-level facts, one batch per page; long ranges go through async runs."""
        use_async = (end - start).days + 1 > self.async_threshold_days
        size = self.async_window_days if use_async else self.window_days
        for since, until in date_windows(start, end, size):
            params = self._insight_params(since, until)
            if use_async:
                run_id = await self._start_report(params)
                pages = self._pages(f"{run_id}/insights", {})
            else:
                pages = self._pages(f"act_{self.account_id}/insights", params)
            yielded = False
            try:
                async for page in pages:
                    if page:
                        yielded = True
                        yield [parse_insight(row) for row in page]
            except ReduceData:
                if use_async or yielded:
                    raise
                # Too big to read synchronously: the same window as an async report run.
                run_id = await self._start_report(params)
                async for page in self._pages(f"{run_id}/insights", {}):
                    if page:
                        yield [parse_insight(row) for row in page]

    async def _start_report(self, params: dict[str, Any]) -> str:
        """Create an async report run and wait until Meta says it is complete."""
        body = await self._call("POST", f"act_{self.account_id}/insights", params)
        run_id = str(body.get("report_run_id") or body.get("id") or "")
        if not run_id:
            raise ConnectorError("meta: async insights returned no report_run_id")
        waited = 0.0
        while True:
            status = await self._call(
                "GET",
                run_id,
                {
                    "fields": "async_status,async_percent_completion,error_code,"
                    "error_subcode,error_message,error_user_title,error_user_msg"
                },
            )
            state = status.get("async_status")
            if state == ASYNC_DONE and int(status.get("async_percent_completion") or 0) >= 100:
                return run_id
            if state in ASYNC_FAILED:
                detail = status.get("error_user_msg") or status.get("error_message") or ""
                code = status.get("error_code")
                # Failed runs are usually Meta-side and succeed later: let the job retry.
                raise TransientProviderError(
                    f"meta: report run {run_id} {state} ({code}): {detail}"
                )
            if waited >= self.max_poll_seconds:
                raise ConnectorError(f"meta: report run {run_id} still {state} after {waited}s")
            waited += self.poll_interval
            await self.retrier.pause(self.poll_interval)
