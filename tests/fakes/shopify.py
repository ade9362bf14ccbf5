"""A fake Shopify Admin GraphQL API: shop, paged orders, bulk operations and their JSONL.

It recognises the connector's operations by their root fields rather than executing
GraphQL, and answers in the documented shapes: `{"data", "extensions": {"cost": {...}}}`,
THROTTLED and MAX_COST_EXCEEDED errors, gids for ids, MoneyBags with shopMoney.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes._server import FakeBase
from tests.fakes.shopify_data import ShopData

MAX_COST = 1000  # the single-query ceiling
BUCKET = 2000  # maximumAvailable on a Standard plan


class FakeShopify(ShopData, FakeBase):
    """A shop with `orders` orders spread over the last `days` local days."""

    def __init__(
        self,
        orders: int = 200,
        days: int = 30,
        seed: int = 1,
        *,
        domain: str = "fake-shop.myshopify.com",
        currency: str = "USD",
        timezone: str = "America/Los_Angeles",
        token: str = "shpat_fake",
        end: date | None = None,
        version: str = "2025-10",
        app_key: str = "shopify-app-key",
        app_secret: str = "shopify-app-secret",
    ) -> None:
        super().__init__()
        self.count = orders
        self.days = days
        self.seed = seed
        self.domain = domain
        self.currency = currency
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.token = token
        self.last_day = end or date.today()
        self.first_day = self.last_day - timedelta(days=days - 1)
        self.available: float | None = None  # reported currentlyAvailable (None: full)
        self.restore_rate = 100.0
        self.throttled = 0
        self.bulk_polls_before_done = 0  # polls answering RUNNING first
        self.bulk_busy = False  # another bulk query of this app is running
        self.bulk: dict[str, dict[str, Any]] = {}
        self.changes: dict[int, dict[str, Any]] = {}
        # OAuth: the app, issued codes, and the scopes granted (None: what was requested).
        self.app_key = app_key
        self.app_secret = app_secret
        self.codes: dict[str, str] = {}
        self.granted_scope: str | None = None
        self.app = Starlette(
            routes=[
                Route("/admin/oauth/authorize", self.authorize, methods=["GET"]),
                Route("/admin/oauth/access_token", self.access_token, methods=["POST"]),
                Route(f"/admin/api/{version}/graphql.json", self.graphql, methods=["POST"]),
                Route("/bulk/{op}.jsonl", self.download, methods=["GET"]),
            ]
        )

    def app_settings(self) -> dict[str, str]:
        """Settings overrides that point the OAuth flow and syncs at this fake."""
        return {
            "shopify_base_url_override": self.url,
            "shopify_app_key": self.app_key,
            "shopify_app_secret": self.app_secret,
        }

    def sign(self, params: dict[str, str]) -> str:
        """Shopify's redirect hmac: hex HMAC-SHA256 of the sorted `k=v` pairs."""
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return hmac.new(self.app_secret.encode(), message.encode(), hashlib.sha256).hexdigest()

    # oauth ----------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """The install screen, as if the merchant approved: a signed redirect with a code."""
        self.record("authorize")
        q = request.query_params
        if q.get("client_id") != self.app_key:
            return Response("Oauth error invalid_request: The client_id is invalid", 400)
        code = secrets.token_hex(16)
        self.codes[code] = q.get("scope", "")
        host = base64.b64encode(f"admin.shopify.com/store/{self.domain.split('.')[0]}".encode())
        params = {
            "code": code,
            "host": host.decode().rstrip("="),
            "shop": self.domain,
            "state": q.get("state", ""),
            "timestamp": str(int(time.time())),
        }
        query = urlencode({**params, "hmac": self.sign(params)})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def access_token(self, request: Request) -> JSONResponse:
        """Code -> an offline access token (the one the GraphQL API accepts)."""
        self.record("oauth_token")
        body = await request.json()
        if body.get("client_id") != self.app_key or body.get("client_secret") != self.app_secret:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status_code=400,
            )
        if body.get("code") not in self.codes:
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was already used",
                },
                status_code=400,
            )
        scope = self.codes.pop(body["code"])
        granted = scope if self.granted_scope is None else self.granted_scope
        return JSONResponse({"access_token": self.token, "scope": granted})

    # wire -----------------------------------------------------------------------

    def _cost(self, requested: int, actual: int | None = None) -> dict[str, Any]:
        # No bucket is simulated over time (tests do not pass real time): a full bucket
        # minus this query's actual cost, unless a test pins `available`.
        spent = requested if actual is None else actual
        available = BUCKET - spent if self.available is None else self.available
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": spent,
                "throttleStatus": {
                    "maximumAvailable": float(BUCKET),
                    "currentlyAvailable": available,
                    "restoreRate": self.restore_rate,
                },
            }
        }

    def _ok(self, data: Any, requested: int = 1, actual: int | None = None) -> JSONResponse:
        return JSONResponse({"data": data, "extensions": self._cost(requested, actual)})

    def _filter(self, search: str) -> tuple[datetime, datetime]:
        lo = re.search(r"updated_at:>='([^']+)'", search)
        hi = re.search(r"updated_at:<'([^']+)'", search)
        assert lo and hi, search
        parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
        return parse(lo.group(1)), parse(hi.group(1))

    async def graphql(self, request: Request) -> Response:
        body = await request.json()
        query, variables = body["query"], body.get("variables") or {}
        kind = next(
            k
            for k, marker in (
                ("bulk_run", "bulkOperationRunQuery"),
                ("bulk_poll", "BulkOperation {"),
                ("shop", "shop {"),
                ("order_lines", "order(id:"),
                ("orders", "orders("),
            )
            if marker in query
        )
        self.record(kind)
        if request.headers.get("x-shopify-access-token") != self.token or (
            self.faults.token_expired
        ):
            return JSONResponse(
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
                status_code=401,
            )
        requested = 1
        if kind == "orders":
            requested = 2 + variables["first"] * (22 + variables["lines"] * 6)
            if requested > MAX_COST:
                return JSONResponse(
                    {
                        "errors": [
                            {
                                "message": f"Query cost is {requested}, which exceeds the "
                                f"single query max cost limit ({MAX_COST}).",
                                "extensions": {
                                    "code": "MAX_COST_EXCEEDED",
                                    "cost": requested,
                                    "maxCost": MAX_COST,
                                },
                            }
                        ]
                    }
                )
        elif kind == "order_lines":
            requested = 2 + 50 * 6
        fault = await self.injected(kind)
        if fault == "rate" or self.throttled > 0:
            self.throttled = max(0, self.throttled - 1)
            cost = self._cost(requested)
            cost["cost"]["throttleStatus"]["currentlyAvailable"] = (
                self.available if self.available is not None else 52.0
            )
            cost["cost"]["actualQueryCost"] = None
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": cost,
                }
            )
        if fault == "5xx":
            return Response("Bad Gateway", status_code=502)
        if kind == "shop":
            return self._ok(
                {
                    "shop": {
                        "name": "Fake Shop",
                        "currencyCode": self.currency,
                        "ianaTimezone": self.timezone,
                        "myshopifyDomain": self.domain,
                    }
                }
            )
        if kind == "orders":
            data = self._orders(variables)
            nodes = data["orders"]["nodes"]
            actual = 2 + sum(22 + 6 * len(n["lineItems"]["nodes"]) for n in nodes)
            return self._ok(data, requested, actual)
        if kind == "order_lines":
            k = int(variables["id"].rsplit("/", 1)[1]) - 5_000_000
            offset = int(variables.get("after") or 0)
            lines = self.lines(k)
            page = lines[offset : offset + 50]
            more = offset + 50 < len(lines)
            return self._ok(
                {
                    "order": {
                        "lineItems": {
                            "nodes": page,
                            "pageInfo": {"hasNextPage": more, "endCursor": str(offset + 50)},
                        }
                    }
                },
                requested,
            )
        if kind == "bulk_run" and self.bulk_busy:
            message = "A bulk query operation for this app and shop is already in progress: x."
            return self._ok(
                {
                    "bulkOperationRunQuery": {
                        "bulkOperation": None,
                        "userErrors": [{"field": None, "message": message}],
                    }
                },
                10,
            )
        if kind == "bulk_run":
            inner = variables["query"]
            op = f"gid://shopify/BulkOperation/{len(self.bulk) + 1}"
            self.bulk[op] = {
                "filter": self._filter(
                    re.search(r'query: "(.*)"\)', inner).group(1).replace('\\"', '"')
                ),
                "polls": 0,
            }
            return self._ok(
                {
                    "bulkOperationRunQuery": {
                        "bulkOperation": {"id": op, "status": "CREATED"},
                        "userErrors": [],
                    }
                },
                10,
            )
        op = self.bulk[variables["id"]]
        op["polls"] += 1
        done = op["polls"] > self.bulk_polls_before_done
        ks = self.matching(*op["filter"])
        number = variables["id"].rsplit("/", 1)[1]
        return self._ok(
            {
                "node": {
                    "id": variables["id"],
                    "status": "COMPLETED" if done else "RUNNING",
                    "errorCode": None,
                    "objectCount": str(len(ks)) if done else "0",
                    "url": f"{self.url}/bulk/{number}.jsonl" if done and ks else None,
                    "partialDataUrl": None,
                }
            }
        )

    def _orders(self, variables: dict[str, Any]) -> dict[str, Any]:
        ks = self.matching(*self._filter(variables["query"]))
        offset = int(variables.get("after") or 0)
        page = ks[offset : offset + variables["first"]]
        nodes = []
        for k in page:
            lines = self.lines(k)
            first = variables["lines"]
            nodes.append(
                {
                    **self.node(k),
                    "lineItems": {
                        "nodes": lines[:first],
                        "pageInfo": {"hasNextPage": len(lines) > first, "endCursor": str(first)},
                    },
                }
            )
        return {
            "orders": {
                "nodes": nodes,
                "pageInfo": {
                    "hasNextPage": offset + len(page) < len(ks),
                    "endCursor": str(offset + len(page)),
                },
            }
        }

    async def download(self, request: Request) -> Response:
        """The bulk result: children after their parent, but not right after it."""
        self.record("bulk_download")
        op = self.bulk[f"gid://shopify/BulkOperation/{request.path_params['op']}"]
        out: list[str] = []
        pending: list[str] = []
        for k in self.matching(*op["filter"]):
            out.append(json.dumps(self.node(k)))
            out.extend(pending)
            parent = f"gid://shopify/Order/{5_000_000 + k}"
            pending = [json.dumps({**line, "__parentId": parent}) for line in self.lines(k)]
        out.extend(pending)
        return Response("\n".join(out) + "\n", media_type="application/jsonl")
