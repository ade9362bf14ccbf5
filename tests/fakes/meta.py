"""A fake Meta Graph API: ad account, entity edges, insights (sync and async runs).

Speaks the documented shapes: `{"data": [...], "paging": {"cursors": {...}, "next": ...}}`,
errors as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`, usage in
X-Business-Use-Case-Usage / X-Ad-Account-Usage / x-fb-ads-insights-throttle on every answer.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes._data import AdDataset, money
from tests.fakes._server import FakeBase

CAMPAIGN_BASE = 120_000_000
ADSET_BASE = 230_000_000
AD_BASE = 340_000_000
STATUS = {"active": "ACTIVE", "paused": "PAUSED", "archived": "ARCHIVED", "deleted": "DELETED"}


def _cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _offset(cursor: str | None) -> int:
    return int(base64.b64decode(cursor).decode()) if cursor else 0


class FakeMeta(FakeBase):
    """Meta with `ads` ads over the last `days` days (ending `end`, default today)."""

    def __init__(
        self,
        ads: int = 50,
        days: int = 30,
        seed: int = 1,
        *,
        account_id: str = "1234567890",
        currency: str = "EUR",
        timezone: str = "Europe/Berlin",
        token: str = "meta-token",
        end: date | None = None,
        max_page: int = 500,
        app_id: str = "meta-app-id",
        app_secret: str = "meta-app-secret",
        other_accounts: int = 0,
    ) -> None:
        super().__init__()
        self.data = AdDataset(ads, days, seed, end)
        self.account_id = account_id
        self.currency = currency
        self.timezone = timezone
        self.token = token
        self.max_page = max_page
        self.regain_minutes = 2
        self.usage_pct = 10
        self.report_polls_before_done = 0  # polls answering "Job Running" first
        self.fail_reports = False
        self.reduce_data = 0  # answer the next N synchronous insights calls with error 1
        self.runs: dict[str, dict[str, Any]] = {}
        # OAuth: the app, issued codes (code -> redirect_uri), short-lived tokens, and the
        # ad accounts /me/adaccounts lists besides the synced one.
        self.app_id = app_id
        self.app_secret = app_secret
        self.codes: dict[str, str] = {}
        self.used_codes: set[str] = set()
        self.short_tokens: set[str] = set()
        self.other_accounts = other_accounts
        self.app = Starlette(
            routes=[
                Route("/{version}/dialog/oauth", self.dialog, methods=["GET"]),
                Route("/{version}/oauth/access_token", self.access_token, methods=["GET"]),
                Route("/{version}/me/adaccounts", self.adaccounts, methods=["GET"]),
                Route("/{version}/{node}", self.node, methods=["GET"]),
                Route("/{version}/{node}/{edge}", self.edge, methods=["GET", "POST"]),
            ]
        )

    # knobs -------------------------------------------------------------------

    def restate(self, days: list[date]) -> None:
        """Change every ad's values on these days."""
        self.data.restate(days)

    def expected(self, start: date, end: date) -> dict[str, float]:
        """Totals the client should load for [start, end]."""
        return self.data.expected(start, end)

    def app_settings(self) -> dict[str, str]:
        """Settings overrides that point the OAuth flow and syncs at this fake."""
        return {
            "meta_graph_url": self.url + "/v25.0",
            "meta_oauth_dialog_url": self.url + "/v25.0/dialog/oauth",
            "meta_app_id": self.app_id,
            "meta_app_secret": self.app_secret,
        }

    # wire --------------------------------------------------------------------

    def _headers(self, pct: int, regain: int = 0) -> dict[str, str]:
        buc = {
            self.account_id: [
                {
                    "type": "ads_insights",
                    "call_count": pct,
                    "total_cputime": max(1, pct // 2),
                    "total_time": max(1, pct // 2),
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        return {
            "X-Business-Use-Case-Usage": json.dumps(buc),
            "X-Ad-Account-Usage": json.dumps({"acc_id_util_pct": pct // 2}),
            "x-fb-ads-insights-throttle": json.dumps(
                {"app_id_util_pct": 1, "acc_id_util_pct": pct // 2}
            ),
        }

    def _error(self, status: int, code: int, message: str, subcode: int = 0, **extra: Any):
        body = {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "error_subcode": subcode,
                "fbtrace_id": "AbCdEf",
                **extra,
            }
        }
        return JSONResponse(body, status_code=status, headers=self._headers(self.usage_pct))

    async def _guard(self, request: Request, kind: str) -> JSONResponse | None:
        self.record(kind)
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") or request.query_params.get("access_token")
        if token != self.token or self.faults.token_expired:
            return self._error(400, 190, "Error validating access token: Session has expired", 463)
        fault = await self.injected(kind)
        if fault == "rate":
            body = {
                "error": {
                    "message": "(#17) User request limit reached",
                    "type": "OAuthException",
                    "is_transient": True,
                    "code": 17,
                    "error_subcode": 2446079,
                    "fbtrace_id": "AbCdEf",
                }
            }
            return JSONResponse(
                body, status_code=400, headers=self._headers(100, self.regain_minutes)
            )
        if fault == "5xx":
            return JSONResponse(
                {
                    "error": {
                        "message": "An unexpected error has occurred.",
                        "code": 2,
                        "is_transient": True,
                        "type": "OAuthException",
                    }
                },
                status_code=500,
                headers=self._headers(self.usage_pct),
            )
        return None

    def _ok(self, body: Any) -> JSONResponse:
        return JSONResponse(body, headers=self._headers(self.usage_pct))

    def _page(self, request: Request, total: int, build: Any) -> JSONResponse:
        limit = min(int(request.query_params.get("limit", 25)), self.max_page)
        start = _offset(request.query_params.get("after"))
        stop = min(total, start + limit)
        data = [build(i) for i in range(start, stop)]
        paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(stop)}}
        if stop < total:
            paging["next"] = (
                f"https://graph.facebook.com/v25.0{request.url.path}?after={_cursor(stop)}"
            )
        return self._ok({"data": data, "paging": paging})

    # oauth -------------------------------------------------------------------

    async def dialog(self, request: Request) -> Response:
        """The login dialog, as if the user approved: back to redirect_uri with a code."""
        self.record("dialog")
        q = request.query_params
        if q.get("client_id") != self.app_id or q.get("response_type", "code") != "code":
            return self._error(400, 100, "Invalid App ID")
        code = "AQD" + secrets.token_urlsafe(12)
        self.codes[code] = q["redirect_uri"]
        sep = "&" if "?" in q["redirect_uri"] else "?"
        query = urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}{sep}{query}#_=_", status_code=302)

    async def access_token(self, request: Request) -> JSONResponse:
        """Code -> short-lived token; fb_exchange_token -> the long-lived (synced) token."""
        self.record("oauth_token")
        q = request.query_params
        if q.get("client_id") != self.app_id or q.get("client_secret") != self.app_secret:
            return self._error(400, 1, "Error validating client secret.")
        if q.get("grant_type") == "fb_exchange_token":
            if q.get("fb_exchange_token") not in self.short_tokens:
                return self._error(400, 190, "Invalid OAuth access token.")
            return JSONResponse(
                {"access_token": self.token, "token_type": "bearer", "expires_in": 5_183_944}
            )
        code = q.get("code", "")
        if code in self.used_codes:
            return self._error(400, 100, "This authorization code has been used.", 36009)
        if code not in self.codes:
            return self._error(400, 100, "Invalid verification code format.", 36008)
        if self.codes[code] != q.get("redirect_uri"):
            return self._error(
                400,
                100,
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
                36008,
            )
        self.used_codes.add(code)
        short = "EAAshort" + secrets.token_urlsafe(12)
        self.short_tokens.add(short)
        return JSONResponse({"access_token": short, "token_type": "bearer", "expires_in": 5_400})

    async def adaccounts(self, request: Request) -> JSONResponse:
        """The user's ad accounts: the synced one first, then `other_accounts` more."""
        if denied := await self._guard(request, "adaccounts"):
            return denied

        def account(i: int) -> dict[str, Any]:
            number = self.account_id if i == 0 else str(9_000_000_000 + i)
            return {
                "account_id": number,
                "name": "Fake Meta Account" if i == 0 else f"Other account {i}",
                "currency": self.currency,
                "timezone_name": self.timezone,
                "id": f"act_{number}",
            }

        return self._page(request, 1 + self.other_accounts, account)

    # routes ------------------------------------------------------------------

    async def node(self, request: Request) -> JSONResponse:
        node = request.path_params["node"]
        if node == f"act_{self.account_id}":
            if denied := await self._guard(request, "account"):
                return denied
            return self._ok(
                {
                    "id": f"act_{self.account_id}",
                    "name": "Fake Meta Account",
                    "currency": self.currency,
                    "timezone_name": self.timezone,
                    "account_status": 1,
                }
            )
        if node in self.runs:
            if denied := await self._guard(request, "report_status"):
                return denied
            run = self.runs[node]
            run["polls"] += 1
            if self.fail_reports:
                return self._ok(
                    {
                        "id": node,
                        "async_status": "Job Failed",
                        "async_percent_completion": 0,
                        "error_code": 2601,
                        "error_message": "Report job failed",
                        "error_user_msg": "Try a shorter range",
                    }
                )
            done = run["polls"] > self.report_polls_before_done
            return self._ok(
                {
                    "id": node,
                    "async_status": "Job Completed" if done else "Job Running",
                    "async_percent_completion": 100 if done else 50,
                }
            )
        return self._error(400, 100, f"Unsupported get request. Object {node} does not exist")

    async def edge(self, request: Request) -> JSONResponse:
        node, edge = request.path_params["node"], request.path_params["edge"]
        if node in self.runs and edge == "insights":
            if denied := await self._guard(request, "report_insights"):
                return denied
            return self._insights(request, self.runs[node]["params"])
        if node != f"act_{self.account_id}":
            return self._error(400, 100, f"Object {node} does not exist")
        if request.method == "POST" and edge == "insights":
            if denied := await self._guard(request, "report_create"):
                return denied
            run_id = str(900_000_000 + len(self.runs))
            params = dict(request.query_params)
            if not params:
                params = dict(await request.form())
            self.runs[run_id] = {"params": params, "polls": 0}
            return self._ok({"report_run_id": run_id})
        if denied := await self._guard(request, edge):
            return denied
        d = self.data
        if edge == "campaigns":
            return self._page(
                request,
                d.campaigns,
                lambda c: {
                    "id": str(CAMPAIGN_BASE + c),
                    "name": f"Campaign {c}",
                    "effective_status": STATUS[d.status_of(c)],
                    "objective": "OUTCOME_SALES",
                },
            )
        if edge == "adsets":
            return self._page(
                request,
                d.adsets,
                lambda s: {
                    "id": str(ADSET_BASE + s),
                    "name": f"Ad set {s}",
                    "campaign_id": str(CAMPAIGN_BASE + d.campaign_of_adset(s)),
                    "effective_status": STATUS[d.status_of(s)],
                    "optimization_goal": "OFFSITE_CONVERSIONS",
                },
            )
        if edge == "ads":
            return self._page(request, d.ads, self._ad)
        if edge == "insights":
            if self.reduce_data > 0:
                self.reduce_data -= 1
                return self._error(
                    500,
                    1,
                    "Please reduce the amount of data you're asking for, then retry your request",
                )
            return self._insights(request, dict(request.query_params))
        return self._error(400, 100, f"Unknown edge {edge}")

    def _ad(self, i: int) -> dict[str, Any]:
        s = self.data.adset_of(i)
        return {
            "id": str(AD_BASE + i),
            "name": f"Ad {i}",
            "adset_id": str(ADSET_BASE + s),
            "campaign_id": str(CAMPAIGN_BASE + self.data.campaign_of_adset(s)),
            "effective_status": STATUS[self.data.status_of(i)] if i % 11 else "CAMPAIGN_PAUSED",
            "creative": {
                "id": str(450_000_000 + i),
                "name": f"Creative {i}",
                "thumbnail_url": f"https://cdn.example/thumb/{i}.jpg",
                "url_tags": f"utm_source=facebook&utm_medium=paid&utm_content=ad{i}",
            },
        }

    def _insights(self, request: Request, params: dict[str, Any]) -> JSONResponse:
        assert params.get("level") == "ad" and str(params.get("time_increment")) == "1"
        window = json.loads(params["time_range"])
        days = self.data.dates(
            date.fromisoformat(window["since"]), date.fromisoformat(window["until"])
        )
        ads = self.data.ads
        return self._page(request, len(days) * ads, lambda k: self._row(k % ads, days[k // ads]))

    def _row(self, ad: int, day: date) -> dict[str, Any]:
        v = self.data.values(ad, day)
        actions = [{"action_type": "link_click", "value": str(v.clicks)}]
        values = []
        if v.purchases:
            # Overlapping families, as Meta sends them: summing them would triple-count.
            families = ["offsite_conversion.fb_pixel_purchase", "purchase"]
            if ad % 10 != 3:  # some ads only have pixel purchases (no omni)
                families.insert(0, "omni_purchase")
            for fam in families:
                actions.append({"action_type": fam, "value": str(v.purchases)})
                values.append({"action_type": fam, "value": money(v.revenue_cents)})
        row: dict[str, Any] = {
            "ad_id": str(AD_BASE + ad),
            "date_start": day.isoformat(),
            "date_stop": day.isoformat(),
            "spend": money(v.spend_cents),
            "impressions": str(v.impressions),
            "clicks": str(v.clicks_all),
            "inline_link_clicks": str(v.clicks),
            "actions": actions,
        }
        if values:
            row["action_values"] = values
        return row
