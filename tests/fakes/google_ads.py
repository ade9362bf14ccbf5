"""A fake Google Ads REST API: `customers/{id}/googleAds:searchStream` and the OAuth token URL.

Understands just enough GAQL for the connector's queries (the FROM resource, a
`segments.date BETWEEN` range and the Performance Max filter) and answers in the REST JSON
shape: an array of batches `{"results": [...], "fieldMask", "requestId"}`, camelCase
fields, int64 as strings, zero metrics left out; errors as google.rpc.Status with a
GoogleAdsFailure detail (quotaErrorDetails.retryDelay on RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from tests.fakes._data import AdDataset
from tests.fakes._server import FakeBase

CAMPAIGN_BASE = 500_000
PMAX_BASE = 800_000
ADGROUP_BASE = 600_000
AD_BASE = 7_000_000
ASSET_GROUP_BASE = 900_000
STATUS = {"active": "ENABLED", "paused": "PAUSED", "archived": "PAUSED", "deleted": "REMOVED"}
FAILURE_TYPE = "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure"


def _error(code: int, status: str, message: str, errors: list[dict[str, Any]] | None = None):
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if errors:
        error["details"] = [{"@type": FAILURE_TYPE, "errors": errors, "requestId": "req"}]
    return JSONResponse([{"error": error}], status_code=code)


class FakeGoogleAds(FakeBase):
    """Google Ads with `ads` search ads and `pmax_campaigns` Performance Max campaigns."""

    def __init__(
        self,
        ads: int = 50,
        days: int = 30,
        seed: int = 1,
        *,
        pmax_campaigns: int = 2,
        customer_id: str = "1234567890",
        currency: str = "USD",
        timezone: str = "America/New_York",
        developer_token: str = "dev-token",
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        refresh_token: str = "refresh-token",
        login_customer_id: str | None = None,
        token_ttl: int = 3599,
        batch_size: int = 10_000,
        end: date | None = None,
        other_customers: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.data = AdDataset(ads, days, seed, end)
        self.pmax = AdDataset(pmax_campaigns, days, seed + 1000, end)
        self.customer_id = customer_id
        self.currency = currency
        self.timezone = timezone
        self.developer_token = developer_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.login_customer_id = login_customer_id
        self.token_ttl = token_ttl
        self.batch_size = batch_size
        self.retry_delay = "37s"
        self.refresh_revoked = False
        self.midstream_error = False  # 200, first batch, then an error element
        self.tokens: dict[str, float] = {}
        self.queries: list[str] = []
        # OAuth: issued codes (code -> redirect_uri); other accessible customers cannot be
        # queried directly (PERMISSION_DENIED), like client accounts seen through a manager.
        self.codes: dict[str, str] = {}
        self.used_codes: set[str] = set()
        self.other_customers = other_customers
        self.omit_refresh_token = False
        self.app = Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route("/o/oauth2/v2/auth", self.authorize, methods=["GET"]),
                Route(
                    "/{version}/customers:listAccessibleCustomers",
                    self.list_accessible,
                    methods=["GET"],
                ),
                Route(
                    "/{version}/customers/{cid}/googleAds:searchStream",
                    self.search_stream,
                    methods=["POST"],
                ),
            ]
        )

    # knobs -------------------------------------------------------------------

    def expire_token(self, expired: bool = True) -> None:
        """Every access token issued so far stops working (refresh still works)."""
        self.tokens.clear()

    def issue_token(self) -> str:
        """An access token valid for token_ttl (for tests that start with one)."""
        token = "ya29." + secrets.token_urlsafe(8)
        self.tokens[token] = time.time() + self.token_ttl
        return token

    def restate(self, days: list[date]) -> None:
        """Change every ad's and PMax campaign's values on these days."""
        self.data.restate(days)
        self.pmax.restate(days)

    def expected(self, start: date, end: date) -> dict[str, float]:
        """Totals the client should load: ads plus Performance Max campaigns."""
        a, b = self.data.expected(start, end), self.pmax.expected(start, end)
        return {k: a[k] + b[k] for k in a}

    def app_settings(self) -> dict[str, str]:
        """Settings overrides that point the OAuth flow and syncs at this fake."""
        return {
            "google_ads_url": self.url + "/v22",
            "google_oauth_url": self.url + "/token",
            "google_oauth_authorize_url": self.url + "/o/oauth2/v2/auth",
            "google_client_id": self.client_id,
            "google_client_secret": self.client_secret,
            "google_developer_token": self.developer_token,
        }

    # routes ------------------------------------------------------------------

    async def authorize(self, request: Request) -> JSONResponse | RedirectResponse:
        """The consent screen, as if the user allowed: back to redirect_uri with a code."""
        self.record("authorize")
        q = request.query_params
        if q.get("client_id") != self.client_id:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if q.get("response_type") != "code" or "auth/adwords" not in q.get("scope", ""):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = "4/0A" + secrets.token_urlsafe(12)
        self.codes[code] = q["redirect_uri"]
        query = urlencode({"state": q.get("state", ""), "code": code, "scope": q["scope"]})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def list_accessible(self, request: Request) -> JSONResponse:
        """customers:listAccessibleCustomers: resource names the token's user can reach."""
        self.record("list_accessible")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.time():
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication.")
        if request.headers.get("developer-token") != self.developer_token:
            return _error(
                401,
                "UNAUTHENTICATED",
                "developer token invalid",
                [{"errorCode": {"authenticationError": "DEVELOPER_TOKEN_INVALID"}}],
            )
        ids = [self.customer_id, *self.other_customers]
        return JSONResponse({"resourceNames": [f"customers/{c}" for c in ids]})

    async def token(self, request: Request) -> JSONResponse:
        self.record("token")
        form = await request.form()
        if (
            form.get("grant_type") not in ("refresh_token", "authorization_code")
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(str(form.get("code")), str(form.get("redirect_uri")))
        if form.get("refresh_token") != self.refresh_token or self.refresh_revoked:
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
                status_code=400,
            )
        token = self.issue_token()
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": self.token_ttl,
                "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/adwords",
            }
        )

    def _exchange_code(self, code: str, redirect_uri: str) -> JSONResponse:
        if code not in self.codes or code in self.used_codes:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Bad Request"}, status_code=400
            )
        if self.codes[code] != redirect_uri:
            return JSONResponse(
                {"error": "redirect_uri_mismatch", "error_description": "Bad Request"},
                status_code=400,
            )
        self.used_codes.add(code)
        body: dict[str, Any] = {
            "access_token": self.issue_token(),
            "expires_in": self.token_ttl,
            "scope": "https://www.googleapis.com/auth/adwords",
            "token_type": "Bearer",
        }
        if not self.omit_refresh_token:
            body["refresh_token"] = self.refresh_token
        return JSONResponse(body)

    async def search_stream(self, request: Request) -> JSONResponse:
        query = (await request.json())["query"]
        resource = re.search(r"\bFROM\s+(\w+)", query, re.I).group(1)  # type: ignore[union-attr]
        kind = f"search:{resource}"
        self.record(kind)
        self.queries.append(query)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.time():
            return _error(
                401,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential.",
                [
                    {
                        "errorCode": {"authenticationError": "OAUTH_TOKEN_EXPIRED"},
                        "message": "The OAuth token in the header has expired.",
                    }
                ],
            )
        if request.headers.get("developer-token") != self.developer_token:
            return _error(
                401,
                "UNAUTHENTICATED",
                "developer token invalid",
                [{"errorCode": {"authenticationError": "DEVELOPER_TOKEN_INVALID"}}],
            )
        if self.login_customer_id and request.headers.get("login-customer-id") != (
            self.login_customer_id
        ):
            return _error(403, "PERMISSION_DENIED", "login-customer-id required")
        if request.path_params["cid"] != self.customer_id:
            return _error(403, "PERMISSION_DENIED", "The caller does not have permission")
        fault = await self.injected(kind)
        if fault == "rate":
            return _error(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                [
                    {
                        "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                        "message": f"Too many requests. Retry in {self.retry_delay}.",
                        "details": {
                            "quotaErrorDetails": {
                                "rateScope": "DEVELOPER",
                                "rateName": "Number of operations",
                                "retryDelay": self.retry_delay,
                            }
                        },
                    }
                ],
            )
        if fault == "5xx":
            return _error(503, "UNAVAILABLE", "The service is currently unavailable.")
        rows = self._rows(resource, query)
        batches = [
            {"results": rows[i : i + self.batch_size], "fieldMask": "...", "requestId": "req"}
            for i in range(0, len(rows), self.batch_size)
        ] or [{"fieldMask": "...", "requestId": "req"}]
        if self.midstream_error:
            batches = [
                *batches[:1],
                {"error": {"code": 503, "status": "UNAVAILABLE", "message": "backend went away"}},
            ]
        return JSONResponse(batches)

    # data --------------------------------------------------------------------

    def _rows(self, resource: str, query: str) -> list[dict[str, Any]]:
        d = self.data
        between = re.search(r"BETWEEN '([\d-]+)' AND '([\d-]+)'", query)
        if resource == "customer":
            return [
                {
                    "customer": {
                        "resourceName": f"customers/{self.customer_id}",
                        "id": self.customer_id,
                        "descriptiveName": "Fake Google Customer",
                        "currencyCode": self.currency,
                        "timeZone": self.timezone,
                    }
                }
            ]
        if resource == "campaign" and between is None:
            rows = [
                {
                    "campaign": {
                        "id": str(CAMPAIGN_BASE + c),
                        "name": f"Search {c}",
                        "status": STATUS[d.status_of(c)],
                        "advertisingChannelType": "SEARCH",
                    }
                }
                for c in range(d.campaigns)
            ]
            rows += [
                {
                    "campaign": {
                        "id": str(PMAX_BASE + p),
                        "name": f"PMax {p}",
                        "status": "ENABLED",
                        "advertisingChannelType": "PERFORMANCE_MAX",
                    }
                }
                for p in range(self.pmax.ads)
            ]
            return rows
        if resource == "ad_group":
            return [
                {
                    "adGroup": {
                        "id": str(ADGROUP_BASE + s),
                        "name": f"Ad group {s}",
                        "status": STATUS[d.status_of(s)],
                    },
                    "campaign": {"id": str(CAMPAIGN_BASE + d.campaign_of_adset(s))},
                }
                for s in range(d.adsets)
            ]
        if resource == "asset_group":
            return [
                {
                    "assetGroup": {
                        "id": str(ASSET_GROUP_BASE + p),
                        "name": f"Asset group {p}",
                        "status": "ENABLED",
                    },
                    "campaign": {"id": str(PMAX_BASE + p)},
                }
                for p in range(self.pmax.ads)
            ]
        if resource == "ad_group_ad" and between is None:
            return [
                {
                    "adGroupAd": {
                        "status": STATUS[d.status_of(i)],
                        "ad": {
                            "id": str(AD_BASE + i),
                            "name": f"Ad {i}",
                            "type": "RESPONSIVE_SEARCH_AD",
                            "finalUrls": [f"https://shop.example/p/{i}"],
                            "finalUrlSuffix": f"utm_source=google&utm_content=ad{i}",
                        },
                    },
                    "adGroup": {"id": str(ADGROUP_BASE + d.adset_of(i))},
                }
                for i in range(d.ads)
            ]
        assert between is not None, query
        days = d.dates(date.fromisoformat(between.group(1)), date.fromisoformat(between.group(2)))
        if resource == "ad_group_ad":
            return [
                {
                    "adGroup": {"id": str(ADGROUP_BASE + d.adset_of(i))},
                    "adGroupAd": {"ad": {"id": str(AD_BASE + i)}},
                    "segments": {"date": day.isoformat()},
                    "metrics": self._metrics(d, i, day),
                }
                for day in days
                for i in range(d.ads)
            ]
        if resource == "campaign":
            assert "PERFORMANCE_MAX" in query, query
            return [
                {
                    "campaign": {"id": str(PMAX_BASE + p)},
                    "segments": {"date": day.isoformat()},
                    "metrics": self._metrics(self.pmax, p, day),
                }
                for day in days
                for p in range(self.pmax.ads)
            ]
        raise AssertionError(f"unexpected query: {query}")

    @staticmethod
    def _metrics(data: AdDataset, index: int, day: date) -> dict[str, Any]:
        v = data.values(index, day)
        metrics: dict[str, Any] = {
            "costMicros": str(v.spend_cents * 10_000),
            "impressions": str(v.impressions),
            "clicks": str(v.clicks),
        }
        if v.purchases:  # proto3 JSON leaves zero values out
            metrics["conversions"] = float(v.purchases)
            metrics["conversionsValue"] = v.revenue_cents / 100
        return metrics
