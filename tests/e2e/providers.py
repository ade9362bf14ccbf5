"""One spec per source: how to start its fake, connect it from the shell, load and restate it,
and what it should leave in the database and on the dashboard."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.harness import Fact, FactKey, Shell
from tests.fakes import google_ads, meta, tiktok
from tests.fakes._data import AdDataset, money

AD_METRICS = ["spend", "impressions", "clicks", "conversions", "revenue"]
ORDER_METRICS = ["orders", "order_revenue"]


def local_today(timezone: str) -> date:
    """Today in the account's timezone: the last day a sync reads."""
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()


def ad_facts(data: AdDataset, key_of: Callable[[int], tuple[str, str]]) -> dict[FactKey, Fact]:
    """Every ad-day of a fake dataset as the facts a sync should store."""
    out: dict[FactKey, Fact] = {}
    for day in data.dates(data.start, data.end):
        for i in range(data.ads):
            v = data.values(i, day)
            level, ext = key_of(i)
            out[(level, ext, day.isoformat())] = (
                v.spend_cents * 10_000,
                v.impressions,
                v.clicks,
                float(v.purchases),
                v.revenue_cents * 10_000,
            )
    return out


def fact_totals(facts: dict[FactKey, Fact]) -> dict[str, int]:
    """Dashboard totals in cents (money) and counts."""
    sums = [sum(f[i] for f in facts.values()) for i in range(5)]
    return {
        "spend": sums[0] // 10_000,
        "impressions": sums[1],
        "clicks": sums[2],
        "conversions": int(sums[3]),
        "revenue": sums[4] // 10_000,
    }


@dataclass
class Source:
    """A provider under test; `start` returns its fake (or dataset, for CSV)."""

    name: str
    currency: str
    timezone: str
    restated_days_ago: tuple[int, int, int]
    metrics: list[str]
    fixture: str = ""  # the fake's fixture in tests.fakes.fixtures
    size: dict[str, int] = field(default_factory=dict)  # the fake's account size
    table: str = "metric_facts"  # where a committed chunk shows

    def start(self, request: Any, tmp: Path, **overrides: Any) -> Any:
        """The running fake: 90 days ending today in the account's timezone."""
        kwargs = {
            **self.size,
            "days": 90,
            "end": local_today(self.timezone),
            "currency": self.currency,
            "timezone": self.timezone,
            **overrides,
        }
        return request.getfixturevalue(self.fixture)(**kwargs)

    def connect(self, shell: Shell, fake: Any, workspace: int) -> int:
        """`metricx connections add ...` (with the base URL env pointing at the fake)."""
        raise NotImplementedError

    def load(self, shell: Shell, fake: Any, connection: int) -> None:
        """One sync from the shell."""
        out = shell.cli("sync", "--connection", str(connection))
        assert "succeeded" in out, out

    def stored(self, shell: Shell, connection: int) -> dict[Any, tuple[Any, str]]:
        return shell.facts(connection)

    def expected(self, fake: Any) -> dict[Any, Any]:
        raise NotImplementedError

    def restate(self, fake: Any, days: list[date]) -> set[Any]:
        """Change the source on these days; return the keys that must change."""
        fake.restate(days)
        return {k for k in self.expected(fake) if date.fromisoformat(k[2]) in days}

    def totals(self, fake: Any) -> dict[str, int]:
        return fact_totals(self.expected(fake))


@dataclass
class TokenAdSource(Source):
    """An ad platform connected with one access token (Meta, TikTok)."""

    url_env: str = ""  # METRICX_* base URL setting
    url_path: str = ""  # API prefix below the fake's root
    account: str = ""
    token: str = ""
    ad_base: int = 0  # the fake's first ad id

    def connect(self, shell: Shell, fake: Any, workspace: int) -> int:
        shell.setenv(**{self.url_env: fake.url + self.url_path})
        return shell.add_connection(
            self.name, "--workspace", str(workspace), "--account", self.account,
            "--token", "-", stdin=self.token + "\n",
        )  # fmt: skip

    def expected(self, fake: Any) -> dict[Any, Any]:
        return ad_facts(fake.data, lambda i: ("ad", str(self.ad_base + i)))


class GoogleSource(Source):
    def connect(self, shell: Shell, fake: Any, workspace: int) -> int:
        shell.setenv(
            METRICX_GOOGLE_ADS_URL=fake.url + "/v22", METRICX_GOOGLE_OAUTH_URL=fake.url + "/token"
        )
        return shell.add_connection(
            "google", "--workspace", str(workspace), "--account", "123-456-7890",
            "--developer-token", "dev-token", "--refresh-token", "refresh-token",
            "--client-id", "client-id", "--client-secret", "client-secret",
        )  # fmt: skip

    def expected(self, fake: Any) -> dict[Any, Any]:
        d = fake.data
        ads = ad_facts(
            d,
            lambda i: ("ad", f"{google_ads.ADGROUP_BASE + d.adset_of(i)}~{google_ads.AD_BASE + i}"),
        )
        pmax = ad_facts(fake.pmax, lambda p: ("campaign", str(google_ads.PMAX_BASE + p)))
        return {**ads, **pmax}


@dataclass
class CsvFile:
    """A CSV "fake": a dataset written to a file on every load."""

    data: AdDataset
    path: Path

    def restate(self, days: list[date]) -> None:
        self.data.restate(days)

    def write(self) -> Path:
        d = self.data
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(
            ["date", "campaign_id", "campaign_name", "adset_id", "ad_id", "ad_name", "spend",
             "impressions", "clicks", "conversions", "revenue"]
        )  # fmt: skip
        for day in d.dates(d.start, d.end):
            for i in range(d.ads):
                v = d.values(i, day)
                s = d.adset_of(i)
                w.writerow(
                    [day.isoformat(), f"c{d.campaign_of_adset(s)}", f"Campaign {s // 4}",
                     f"s{s}", f"a{i}", f"Ad {i}", money(v.spend_cents), v.impressions,
                     v.clicks, v.purchases, money(v.revenue_cents)]
                )  # fmt: skip
        self.path.write_text(buf.getvalue())
        return self.path


class CsvSource(Source):
    def start(self, request: Any, tmp: Path, **overrides: Any) -> Any:
        data = AdDataset(self.size["ads"], 90, seed=7, end=local_today(self.timezone))
        return CsvFile(data, tmp / "ads.csv")

    def connect(self, shell: Shell, fake: Any, workspace: int) -> int:
        return shell.add_connection(
            "csv", "--workspace", str(workspace), "--account", "sheet", "--currency", self.currency
        )

    def load(self, shell: Shell, fake: Any, connection: int) -> None:
        out = shell.cli("import", "csv", "--connection", str(connection), str(fake.write()))
        assert "facts_written" in out, out

    def expected(self, fake: Any) -> dict[Any, Any]:
        return ad_facts(fake.data, lambda i: ("ad", f"a{i}"))


class ShopifySource(Source):
    def connect(self, shell: Shell, fake: Any, workspace: int) -> int:
        shell.setenv(METRICX_SHOPIFY_BASE_URL_OVERRIDE=fake.url)
        return shell.add_connection(
            "shopify", "--workspace", str(workspace), "--account", "fake-shop",
            "--shop-domain", fake.domain, "--token", "-", stdin="shpat_fake\n",
        )  # fmt: skip

    def stored(self, shell: Shell, connection: int) -> dict[Any, tuple[Any, str]]:
        return shell.orders(connection)

    def expected(self, fake: Any) -> dict[Any, Any]:
        out = {}
        for k in range(fake.count):
            a = fake.amounts(k)
            out[str(5_000_000 + k)] = (
                fake.created_at(k).astimezone(fake.tz).date().isoformat(),
                a["total"] * 10_000,
                a["refunded"] * 10_000,
                fake.updated_at(k).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            )
        return out

    def restate(self, fake: Any, days: list[date]) -> set[Any]:
        """Refund every order created on those days, now (so they are updated today)."""
        hit = set()
        for k in range(fake.count):
            if fake.created_at(k).astimezone(fake.tz).date() in days:
                fake.refund(k, 100 + k, at=datetime.now(UTC) - timedelta(seconds=5))
                hit.add(str(5_000_000 + k))
        return hit

    def totals(self, fake: Any) -> dict[str, int]:
        """What the dashboard counts: orders neither cancelled nor test, net of refunds."""
        nodes = [fake.node(k) for k in range(fake.count)]
        kept = [k for k, n in enumerate(nodes) if not (n["cancelledAt"] or n["test"])]
        net = sum(fake.amounts(k)["total"] - fake.amounts(k)["refunded"] for k in kept)
        return {"orders": len(kept), "order_revenue": net}


SOURCES = [
    TokenAdSource(
        "meta", "EUR", "Europe/Berlin", (20, 9, 1), AD_METRICS, "fake_meta", {"ads": 1000},
        url_env="METRICX_META_GRAPH_URL", url_path="/v25.0", account="act_1234567890",
        token="meta-token", ad_base=meta.AD_BASE,
    ),
    GoogleSource(
        "google", "USD", "America/New_York", (12, 5, 1), AD_METRICS, "fake_google_ads",
        {"ads": 100},
    ),
    TokenAdSource(
        "tiktok", "GBP", "Europe/London", (2, 1, 0), AD_METRICS, "fake_tiktok", {"ads": 100},
        url_env="METRICX_TIKTOK_URL", url_path="/open_api/v1.3", account="7000000000001",
        token="tiktok-token", ad_base=tiktok.AD_BASE,
    ),
    ShopifySource(
        "shopify", "USD", "America/Los_Angeles", (25, 10, 1), ORDER_METRICS, "fake_shopify",
        {"orders": 360}, table="shopify_orders",
    ),
    CsvSource("csv", "EUR", "Europe/Paris", (60, 30, 2), AD_METRICS, size={"ads": 100}),
]  # fmt: skip
BY_NAME = {s.name: s for s in SOURCES}
