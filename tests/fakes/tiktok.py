"""A fake TikTok Business API (v1.3): advertiser info, entity lists, integrated report.

Every answer is the envelope `{"code", "message", "request_id", "data"}` with HTTP 200,
lists paged by page/page_size with `page_info.total_page`, numbers as strings.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes._data import AdDataset, money
from tests.fakes._server import FakeBase

CAMPAIGN_BASE = 1_700_000_000_000
ADGROUP_BASE = 1_710_000_000_000
AD_BASE = 1_720_000_000_000
OPERATION = {"active": "ENABLE", "paused": "DISABLE", "archived": "DISABLE", "deleted": "DISABLE"}


class FakeTikTok(FakeBase):
    """TikTok with `ads` ads over the last `days` days."""

    def __init__(
        self,
        ads: int = 50,
        days: int = 30,
        seed: int = 1,
        *,
        advertiser_id: str = "7000000000001",
        currency: str = "GBP",
        timezone: str = "Europe/London",
        token: str = "tiktok-token",
        end: date | None = None,
        max_report_days: int = 30,
    ) -> None:
        super().__init__()
        self.data = AdDataset(ads, days, seed, end)
        self.advertiser_id = advertiser_id
        self.currency = currency
        self.timezone = timezone
        self.token = token
        self.max_report_days = max_report_days
        self.report_windows: list[tuple[str, str]] = []
        prefix = "/open_api/v1.3"
        self.app = Starlette(
            routes=[
                Route(f"{prefix}/advertiser/info/", self.advertiser, methods=["GET"]),
                Route(f"{prefix}/campaign/get/", self.campaigns, methods=["GET"]),
                Route(f"{prefix}/adgroup/get/", self.adgroups, methods=["GET"]),
                Route(f"{prefix}/ad/get/", self.ads, methods=["GET"]),
                Route(f"{prefix}/report/integrated/get/", self.report, methods=["GET"]),
            ]
        )

    def restate(self, days: list[date]) -> None:
        """Change every ad's values on these days."""
        self.data.restate(days)

    def expected(self, start: date, end: date) -> dict[str, float]:
        """Totals the client should load for [start, end]."""
        return self.data.expected(start, end)

    # wire --------------------------------------------------------------------

    @staticmethod
    def _envelope(code: int, message: str, data: Any = None) -> JSONResponse:
        return JSONResponse(
            {"code": code, "message": message, "request_id": "2026fake", "data": data or {}}
        )

    async def _guard(self, request: Request, kind: str) -> JSONResponse | None:
        self.record(kind)
        if request.headers.get("access-token") != self.token or self.faults.token_expired:
            return self._envelope(40105, "Access token is incorrect or has been revoked.")
        fault = await self.injected(kind)
        if fault == "rate":
            return self._envelope(40100, "Too many requests. Please retry in some time.")
        if fault == "5xx":
            return self._envelope(60001, "Service maintenance, please retry later.")
        if request.query_params.get("advertiser_id", self.advertiser_id) != self.advertiser_id:
            return self._envelope(40002, "No permission to operate advertiser")
        return None

    def _paged(self, request: Request, total: int, build: Any) -> JSONResponse:
        page = int(request.query_params.get("page", 1))
        size = min(int(request.query_params.get("page_size", 10)), 1000)
        start, stop = (page - 1) * size, min(total, page * size)
        return self._envelope(
            0,
            "OK",
            {
                "list": [build(i) for i in range(start, stop)],
                "page_info": {
                    "page": page,
                    "page_size": size,
                    "total_number": total,
                    "total_page": -(-total // size),
                },
            },
        )

    # routes ------------------------------------------------------------------

    async def advertiser(self, request: Request) -> JSONResponse:
        if denied := await self._guard(request, "advertiser"):
            return denied
        ids = json.loads(request.query_params["advertiser_ids"])
        assert ids == [self.advertiser_id]
        return self._envelope(
            0,
            "OK",
            {
                "list": [
                    {
                        "advertiser_id": self.advertiser_id,
                        "name": "Fake TikTok Advertiser",
                        "currency": self.currency,
                        "timezone": "Etc/GMT",
                        "display_timezone": self.timezone,
                    }
                ]
            },
        )

    def _status(self, index: int) -> dict[str, str]:
        status = self.data.status_of(index)
        secondary = "STATUS_DELETE" if status == "deleted" else f"STATUS_{OPERATION[status]}"
        return {"operation_status": OPERATION[status], "secondary_status": secondary}

    async def campaigns(self, request: Request) -> JSONResponse:
        if denied := await self._guard(request, "campaign"):
            return denied
        return self._paged(
            request,
            self.data.campaigns,
            lambda c: {
                "campaign_id": str(CAMPAIGN_BASE + c),
                "campaign_name": f"Campaign {c}",
                "objective_type": "WEB_CONVERSIONS",
                **self._status(c),
            },
        )

    async def adgroups(self, request: Request) -> JSONResponse:
        if denied := await self._guard(request, "adgroup"):
            return denied
        d = self.data
        return self._paged(
            request,
            d.adsets,
            lambda s: {
                "adgroup_id": str(ADGROUP_BASE + s),
                "adgroup_name": f"Ad group {s}",
                "campaign_id": str(CAMPAIGN_BASE + d.campaign_of_adset(s)),
                "optimization_goal": "CONVERT",
                **self._status(s),
            },
        )

    async def ads(self, request: Request) -> JSONResponse:
        if denied := await self._guard(request, "ad"):
            return denied
        d = self.data
        return self._paged(
            request,
            d.ads,
            lambda i: {
                "ad_id": str(AD_BASE + i),
                "ad_name": f"Ad {i}",
                "adgroup_id": str(ADGROUP_BASE + d.adset_of(i)),
                "campaign_id": str(CAMPAIGN_BASE + d.campaign_of_adset(d.adset_of(i))),
                "landing_page_url": f"https://shop.example/p/{i}?utm_source=tiktok&utm_content=ad{i}",
                **self._status(i),
            },
        )

    async def report(self, request: Request) -> JSONResponse:
        if denied := await self._guard(request, "report"):
            return denied
        q = request.query_params
        assert q["data_level"] == "AUCTION_AD" and q["report_type"] == "BASIC"
        assert json.loads(q["dimensions"]) == ["ad_id", "stat_time_day"]
        start, end = date.fromisoformat(q["start_date"]), date.fromisoformat(q["end_date"])
        if (end - start).days + 1 > self.max_report_days:
            return self._envelope(40067, "The query is too large, please narrow the range.")
        if q.get("page", "1") == "1":
            self.report_windows.append((q["start_date"], q["end_date"]))
        days = self.data.dates(start, end)
        ads = self.data.ads
        return self._paged(request, len(days) * ads, lambda k: self._row(k % ads, days[k // ads]))

    def _row(self, ad: int, day: date) -> dict[str, Any]:
        v = self.data.values(ad, day)
        return {
            "dimensions": {"ad_id": str(AD_BASE + ad), "stat_time_day": f"{day} 00:00:00"},
            "metrics": {
                "spend": money(v.spend_cents),
                "impressions": str(v.impressions),
                "clicks": str(v.clicks),
                "conversion": str(v.purchases + 1),
                "complete_payment": str(v.purchases),
                "total_complete_payment_rate": money(v.revenue_cents),
            },
        }
