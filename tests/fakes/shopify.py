"""A fake Shopify Admin GraphQL API: shop, paged orders, bulk operations and their JSONL.

It recognises the connector's operations by their root fields rather than executing
GraphQL, and answers in the documented shapes: `{"data", "extensions": {"cost": {...}}}`,
THROTTLED and MAX_COST_EXCEEDED errors, gids for ids, MoneyBags with shopMoney.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes._data import money
from tests.fakes._server import FakeBase, mix

MAX_COST = 1000  # the single-query ceiling
BUCKET = 2000  # maximumAvailable on a Standard plan


def _bag(cents: int, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": money(cents), "currencyCode": currency}}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeShopify(FakeBase):
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
        self.bulk_polls_before_done = 1
        self.bulk: dict[str, dict[str, Any]] = {}
        self.changes: dict[int, dict[str, Any]] = {}
        self.app = Starlette(
            routes=[
                Route(f"/admin/api/{version}/graphql.json", self.graphql, methods=["POST"]),
                Route("/bulk/{op}.jsonl", self.download, methods=["GET"]),
            ]
        )

    # data ---------------------------------------------------------------------

    def created_at(self, k: int) -> datetime:
        """Orders are spread evenly over the shop's local days."""
        seconds = int(k * self.days * 86_400 / self.count) + 60
        local = datetime.combine(self.first_day, time.min, self.tz) + timedelta(seconds=seconds)
        return local.astimezone(UTC)

    def updated_at(self, k: int) -> datetime:
        """When the order last changed (a refund moves it)."""
        return self.changes.get(k, {}).get("updated_at") or self.created_at(k) + timedelta(
            minutes=30
        )

    def lines(self, k: int) -> list[dict[str, Any]]:
        """Line items (12 for every 17th order, so they overflow one page)."""
        n = 12 if k % 17 == 0 else k % 3 + 1
        out = []
        for j in range(n):
            h = mix(self.seed, k, j)
            price = 500 + h % 5000
            out.append(
                {
                    "id": f"gid://shopify/LineItem/{k * 100 + j}",
                    "title": f"Product {h % 40}",
                    "quantity": 1 + (h >> 8) % 3,
                    "sku": f"SKU-{h % 40}",
                    "variant": {
                        "id": f"gid://shopify/ProductVariant/{h % 40}",
                        "inventoryItem": {
                            "unitCost": {
                                "amount": money(price * 4 // 10),
                                "currencyCode": self.currency,
                            }
                        },
                    },
                    "originalUnitPriceSet": _bag(price, self.currency),
                }
            )
        return out

    def amounts(self, k: int) -> dict[str, int]:
        """Order money in cents: subtotal, discounts, shipping, tax, total, refunded, cogs."""
        lines = self.lines(k)
        subtotal = sum(
            int(float(li["originalUnitPriceSet"]["shopMoney"]["amount"]) * 100 + 0.5)
            * li["quantity"]
            for li in lines
        )
        cogs = sum(
            int(float(li["variant"]["inventoryItem"]["unitCost"]["amount"]) * 100 + 0.5)
            * li["quantity"]
            for li in lines
        )
        discounts = subtotal // 10 if k % 5 == 0 else 0
        tax = (subtotal - discounts) * 8 // 100
        total = subtotal - discounts + 499 + tax
        refunded = self.changes.get(k, {}).get("refunded", 0)
        return {
            "subtotal": subtotal,
            "discounts": discounts,
            "shipping": 499,
            "tax": tax,
            "total": total,
            "refunded": refunded,
            "cogs": cogs,
        }

    def node(self, k: int) -> dict[str, Any]:
        """The GraphQL order node (without line items)."""
        a = self.amounts(k)
        c = self.currency
        journey: dict[str, Any] | None = None
        attributes = [{"key": "_metricx_vid", "value": f"vid-{k}"}] if k % 2 == 0 else []
        if k % 4 == 0:
            journey = {
                "ready": True,
                "firstVisit": None,
                "lastVisit": {
                    "landingPage": f"https://shop.example/?fbclid=FB{k}",
                    "referrerUrl": "https://facebook.com/",
                    "source": "facebook",
                    "sourceType": "SOCIAL",
                    "utmParameters": {
                        "source": "facebook",
                        "medium": "paid",
                        "campaign": "spring",
                        "content": f"ad{k % 50}",
                        "term": None,
                    },
                },
            }
        elif k % 4 == 1:
            journey = {
                "ready": True,
                "lastVisit": None,
                "firstVisit": {
                    "landingPage": "/products/x?utm_source=google&utm_medium=cpc&utm_campaign=brand"
                    f"&gclid=G{k}",
                    "referrerUrl": "https://www.google.com/",
                    "source": "google",
                    "sourceType": "SEARCH",
                    "utmParameters": None,
                },
            }
        elif k % 4 == 2:
            attributes.append({"key": "ttclid", "value": f"TT{k}"})
        return {
            "id": f"gid://shopify/Order/{5_000_000 + k}",
            "name": f"#{1001 + k}",
            "createdAt": _iso(self.created_at(k)),
            "updatedAt": _iso(self.updated_at(k)),
            "processedAt": _iso(self.created_at(k)),
            "cancelledAt": _iso(self.created_at(k) + timedelta(hours=2)) if k % 29 == 28 else None,
            "test": k % 31 == 30,
            "displayFinancialStatus": "PARTIALLY_REFUNDED" if a["refunded"] else "PAID",
            "currencyCode": c,
            "email": f"  Buyer{k}@Example.COM " if k % 3 != 2 else None,
            "sourceName": "web",
            "totalPriceSet": _bag(a["total"], c),
            "subtotalPriceSet": _bag(a["subtotal"], c),
            "totalTaxSet": _bag(a["tax"], c),
            "totalShippingPriceSet": _bag(a["shipping"], c),
            "totalDiscountsSet": _bag(a["discounts"], c),
            "totalRefundedSet": _bag(a["refunded"], c),
            "customAttributes": attributes,
            "customerJourneySummary": journey,
        }

    # knobs & expectations -------------------------------------------------------

    def refund(self, k: int, cents: int, at: datetime | None = None) -> None:
        """Refund part of order k; it is updated now (or at `at`)."""
        self.changes[k] = {"refunded": cents, "updated_at": at or datetime.now(UTC)}

    def matching(self, lo: datetime, hi: datetime) -> list[int]:
        """Order indexes with lo <= updated_at < hi, by updated_at."""
        ks = [k for k in range(self.count) if lo <= self.updated_at(k) < hi]
        return sorted(ks, key=self.updated_at)

    def local_range(self, start: date, end: date) -> tuple[datetime, datetime]:
        """UTC bounds of the shop-local days [start, end]."""
        lo = datetime.combine(start, time.min, self.tz)
        hi = datetime.combine(end + timedelta(days=1), time.min, self.tz)
        return lo.astimezone(UTC), hi.astimezone(UTC)

    def expected(self, start: date, end: date) -> dict[str, int]:
        """Orders updated in the local days [start, end] and their money, in micros."""
        ks = self.matching(*self.local_range(start, end))
        sums = {
            "orders": len(ks),
            "total_micros": 0,
            "refunded_micros": 0,
            "cogs_micros": 0,
            "lines": 0,
        }
        for k in ks:
            a = self.amounts(k)
            sums["total_micros"] += a["total"] * 10_000
            sums["refunded_micros"] += a["refunded"] * 10_000
            sums["cogs_micros"] += a["cogs"] * 10_000
            sums["lines"] += len(self.lines(k))
        return sums

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
