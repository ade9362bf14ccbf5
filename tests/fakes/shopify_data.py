"""Deterministic orders for FakeShopify: amounts, line items, journeys and expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes._data import money
from tests.fakes._server import mix


def bag(cents: int, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": money(cents), "currencyCode": currency}}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopData:
    """Order k of `count`, spread over the shop-local days [first_day, last_day]."""

    count: int
    days: int
    seed: int
    currency: str
    tz: ZoneInfo
    first_day: date
    changes: dict[int, dict[str, Any]]

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
                    "originalUnitPriceSet": bag(price, self.currency),
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
            "createdAt": iso(self.created_at(k)),
            "updatedAt": iso(self.updated_at(k)),
            "processedAt": iso(self.created_at(k)),
            "cancelledAt": iso(self.created_at(k) + timedelta(hours=2)) if k % 29 == 28 else None,
            "test": k % 31 == 30,
            "displayFinancialStatus": "PARTIALLY_REFUNDED" if a["refunded"] else "PAID",
            "currencyCode": c,
            "email": f"  Buyer{k}@Example.COM " if k % 3 != 2 else None,
            "sourceName": "web",
            "totalPriceSet": bag(a["total"], c),
            "subtotalPriceSet": bag(a["subtotal"], c),
            "totalTaxSet": bag(a["tax"], c),
            "totalShippingPriceSet": bag(a["shipping"], c),
            "totalDiscountsSet": bag(a["discounts"], c),
            "totalRefundedSet": bag(a["refunded"], c),
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

    def expected_by_order_date(self, start: date, end: date) -> dict[str, int]:
        """Orders whose shop-local created day is in [start, end] (what dashboards sum)."""
        ks = [
            k
            for k in range(self.count)
            if start <= self.created_at(k).astimezone(self.tz).date() <= end
        ]
        return {
            "orders": len(ks),
            "total_micros": sum(self.amounts(k)["total"] * 10_000 for k in ks),
            "refunded_micros": sum(self.amounts(k)["refunded"] * 10_000 for k in ks),
            "cogs_micros": sum(self.amounts(k)["cogs"] * 10_000 for k in ks),
        }
