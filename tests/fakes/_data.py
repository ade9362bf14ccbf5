"""Deterministic ad data shared by the ad-platform fakes: N ads x D days, restatable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tests.fakes._server import mix

ADS_PER_ADSET = 5
ADSETS_PER_CAMPAIGN = 4


@dataclass(frozen=True, slots=True)
class DayValues:
    """One ad-day as a provider would report it (money in cents of account currency)."""

    spend_cents: int
    impressions: int
    clicks: int  # link clicks
    clicks_all: int
    purchases: int
    revenue_cents: int


class AdDataset:
    """Ads x days of deterministic values; restating a day changes every ad on it."""

    def __init__(self, ads: int, days: int, seed: int = 1, end: date | None = None) -> None:
        self.ads = ads
        self.days = days
        self.seed = seed
        self.end = end or date.today()
        self.start = self.end - timedelta(days=days - 1)
        self.versions: dict[date, int] = {}

    # tree ------------------------------------------------------------------

    @property
    def adsets(self) -> int:
        """Number of ad sets (ad groups)."""
        return -(-self.ads // ADS_PER_ADSET)

    @property
    def campaigns(self) -> int:
        """Number of campaigns."""
        return -(-self.adsets // ADSETS_PER_CAMPAIGN)

    @staticmethod
    def adset_of(ad: int) -> int:
        """Index of the ad set holding ad `ad`."""
        return ad // ADS_PER_ADSET

    @staticmethod
    def campaign_of_adset(adset: int) -> int:
        """Index of the campaign holding ad set `adset`."""
        return adset // ADSETS_PER_CAMPAIGN

    @staticmethod
    def status_of(index: int) -> str:
        """active | paused | archived | deleted, deterministically."""
        if index % 50 == 49:
            return "archived"
        if index % 97 == 96:
            return "deleted"
        if index % 7 == 6:
            return "paused"
        return "active"

    # facts -----------------------------------------------------------------

    def restate(self, days: list[date]) -> None:
        """Change the values of every ad on these days (late conversions, corrections)."""
        for day in days:
            self.versions[day] = self.versions.get(day, 0) + 1

    def dates(self, start: date, end: date) -> list[date]:
        """Days of the dataset inside [start, end]."""
        lo, hi = max(start, self.start), min(end, self.end)
        return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)] if lo <= hi else []

    def values(self, ad: int, day: date) -> DayValues:
        """The values of one ad-day."""
        h = mix(self.seed, ad, day.toordinal(), self.versions.get(day, 0))
        impressions = 200 + (h >> 16) % 5000
        clicks_all = impressions // (20 + (h >> 8) % 30)
        purchases = (h >> 24) % 4
        return DayValues(
            spend_cents=50 + h % 20000,
            impressions=impressions,
            clicks=clicks_all * 2 // 3,
            clicks_all=clicks_all,
            purchases=purchases,
            revenue_cents=purchases * (1500 + (h >> 32) % 8000),
        )

    def expected(self, start: date, end: date) -> dict[str, float]:
        """Totals a client should load for [start, end] (micros for money)."""
        totals = {
            "rows": 0,
            "spend_micros": 0,
            "impressions": 0,
            "clicks": 0,
            "conversions": 0.0,
            "revenue_micros": 0,
        }
        for day in self.dates(start, end):
            for ad in range(self.ads):
                v = self.values(ad, day)
                totals["rows"] += 1
                totals["spend_micros"] += v.spend_cents * 10_000
                totals["impressions"] += v.impressions
                totals["clicks"] += v.clicks
                totals["conversions"] += v.purchases
                totals["revenue_micros"] += v.revenue_cents * 10_000
        return totals


def money(cents: int) -> str:
    """Cents as a decimal string, the way APIs send amounts ("12.34")."""
    return f"{cents // 100}.{cents % 100:02d}"
