"""The golden set: questions with the semantic query they must become, on a fixed `today`.

TODAY is Saturday 2026-11-28, so this week is Mon 2026-11-23..today and last week is
2026-11-16..2026-11-22. `numbers` holds expected figures keyed by path into the results
("totals.roas", "previous_totals.spend", "rows[0].label", "rows[0].spend");
test_golden_numbers.py attaches them to every entry with a numeric answer, recomputed in
plain Python from the raw rows of the fixed generated dataset (golden_data.py).
`query=None` means the parser must refuse the question (Unmapped), never guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

TODAY = date(2026, 11, 28)

LW = ("2026-11-16", "2026-11-22")  # last week
TW = ("2026-11-23", "2026-11-28")  # this week
L14 = ("2026-11-14", "2026-11-27")  # last 14 days


@dataclass(frozen=True)
class Golden:
    question: str
    query: dict[str, Any] | None
    numbers: dict[str, Any] | None = None
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def resolve(results: dict[str, Any], path: str) -> Any:
    """A value of the answer payload's `results` by path: "totals.roas", "rows[0].label"."""
    node: Any = results
    for part in path.replace("]", "").split("."):
        name, _, index = part.partition("[")
        if name in ("totals", "previous_totals") or (name not in node and "values" in node):
            node = node[name] if name in node else node["values"][name]
        else:
            node = node[name]
        if index:
            node = node[int(index)]
    return node


def number_mismatches(golden: Golden, results: dict[str, Any]) -> list[str]:
    """Paths whose value differs from the golden expectation (to the cent for floats)."""
    bad = []
    for path, expected in (golden.numbers or {}).items():
        actual = resolve(results, path)
        if isinstance(expected, float) and isinstance(actual, int | float):
            if abs(actual - expected) > 0.005:
                bad.append(f"{path}: {actual} != {expected}")
        elif actual != expected:
            bad.append(f"{path}: {actual!r} != {expected!r}")
    return bad


def tf(key_or_start: str, end: str | None = None) -> dict[str, str]:
    return {"key": key_or_start} if end is None else {"start": key_or_start, "end": end}


def q(
    metrics: list[str] | str,
    timeframe: dict[str, str] | tuple[str, str] | str = "last_7_days",
    by: str | None = None,
    limit: int | None = None,
    order: str | None = None,
    compare: bool = False,
    **filters: Any,
) -> dict[str, Any]:
    if isinstance(timeframe, tuple):
        timeframe = tf(*timeframe)
    elif isinstance(timeframe, str):
        timeframe = tf(timeframe)
    breakdown = None
    if by is not None:
        entity = by not in ("day", "week")
        breakdown = {"by": by}
        if limit is not None or entity:
            breakdown["limit"] = limit if limit is not None else 10
        if order is not None or entity:
            breakdown["order"] = order or "desc"
    return {
        "metrics": [metrics] if isinstance(metrics, str) else metrics,
        "timeframe": timeframe,
        "breakdown": breakdown,
        "filters": {k: v for k, v in filters.items() if v},
        "compare": compare,
    }


SUMMARY = ["spend", "revenue", "roas"]
RANKED = ["roas", "spend", "revenue"]

GOLDEN: list[Golden] = [
    # --- single metrics and synonyms -------------------------------------------------
    Golden("What was my ROAS last week?", q("roas", LW)),
    Golden("What was our return on ad spend in the last 7 days?", q("roas")),
    Golden("how much did we spend yesterday", q("spend", "yesterday")),
    Golden("total ad spend this month", q("spend", "this_month")),
    Golden("What did we spend today?", q("spend", "today")),
    Golden("cost last 30 days", q("spend", "last_30_days")),
    Golden("CPA last 90 days", q("cpa", "last_90_days")),
    Golden("cost per acquisition last month", q("cpa", "last_month")),
    Golden("What's our cost per conversion this week?", q("cpa", TW)),
    Golden("click-through rate yesterday", q("ctr", "yesterday")),
    Golden("CTR last 14 days", q("ctr", L14)),
    Golden("cost per click last week", q("cpc", LW)),
    Golden("What's the CPM this month?", q("cpm", "this_month")),
    Golden("cost per thousand impressions last 30 days", q("cpm", "last_30_days")),
    Golden("conversion rate last 7 days", q("cvr")),
    Golden("average order value last month", q("aov", "last_month")),
    Golden("AOV this month", q("aov", "this_month")),
    Golden("revenue yesterday", q("revenue", "yesterday")),
    Golden("total sales last 30 days", q("revenue", "last_30_days")),
    Golden("conversion value this week", q("revenue", TW)),
    Golden("store revenue last month", q("order_revenue", "last_month")),
    Golden("shopify sales this month", q("order_revenue", "this_month")),
    Golden("how many orders did we get yesterday", q("orders", "yesterday")),
    Golden("number of purchases last 7 days", q("conversions")),
    Golden("conversions last week", q("conversions", LW)),
    Golden("impressions and clicks yesterday", q(["impressions", "clicks"], "yesterday")),
    Golden("profit last month", q("profit", "last_month")),
    Golden("MER last 30 days", q("mer", "last_30_days")),
    Golden("blended ROAS this month", q("mer", "this_month")),
    Golden("POAS last 90 days", q("poas", "last_90_days")),
    Golden("profit on ad spend this month", q("poas", "this_month")),
    Golden("COGS last month", q("cogs", "last_month")),
    Golden("spend, revenue and ROAS last 7 days", q(["spend", "revenue", "roas"])),
    # --- timeframes ------------------------------------------------------------------
    Golden("ROAS in March", q("roas", ("2026-03-01", "2026-03-31"))),
    Golden("spend in March 2025", q("spend", ("2025-03-01", "2025-03-31"))),
    Golden("revenue during October", q("revenue", ("2026-10-01", "2026-10-31"))),
    Golden("spend in November", q("spend", ("2026-11-01", "2026-11-28")), note="clipped"),
    Golden("spend in December", q("spend", ("2025-12-01", "2025-12-31")), note="last Dec"),
    Golden("revenue since November 1", q("revenue", ("2026-11-01", "2026-11-28"))),
    Golden("spend since 2026-10-15", q("spend", ("2026-10-15", "2026-11-28"))),
    Golden("ROAS past 14 days", q("roas", L14)),
    Golden("spend over the past 60 days", q("spend", ("2026-09-29", "2026-11-27"))),
    Golden("revenue last 3 weeks", q("revenue", ("2026-11-07", "2026-11-27"))),
    Golden("spend this year", q("spend", ("2026-01-01", "2026-11-28"))),
    Golden("revenue last year", q("revenue", ("2025-01-01", "2025-12-31"))),
    Golden(
        "spend from Nov 1 to Nov 15",
        q("spend", ("2026-11-01", "2026-11-15")),
    ),
    Golden("what did we spend on 2026-11-20", q("spend", ("2026-11-20", "2026-11-20"))),
    Golden("month to date revenue", q("revenue", "this_month")),
    Golden("spend in the past month", q("spend", "last_30_days")),
    Golden("ROAS", q("roas"), note="no timeframe: the default, last_7_days"),
    # --- comparisons -----------------------------------------------------------------
    Golden("How did spend change last week?", q("spend", LW, compare=True)),
    Golden("ROAS this month vs previous period", q("roas", "this_month", compare=True)),
    Golden(
        "revenue last 30 days compared to the previous period",
        q("revenue", "last_30_days", compare=True),
    ),
    Golden("did CPA increase yesterday", q("cpa", "yesterday", compare=True)),
    Golden("Why did ROAS drop this week?", q("roas", TW, compare=True)),
    Golden("conversion rate vs last week", q("cvr", compare=True)),
    # --- breakdowns ------------------------------------------------------------------
    Golden("ROAS by platform last 30 days", q("roas", "last_30_days", by="provider")),
    Golden("spend by channel this month", q("spend", "this_month", by="provider")),
    Golden("revenue per campaign last week", q("revenue", LW, by="campaign")),
    Golden("spend by ad set yesterday", q("spend", "yesterday", by="adset")),
    Golden("CPA per ad last 7 days", q("cpa", by="ad", order="desc")),
    Golden("daily spend last 14 days", q("spend", L14, by="day")),
    Golden("revenue by week last 90 days", q("revenue", "last_90_days", by="week")),
    Golden("weekly ROAS this month", q("roas", "this_month", by="week")),
    Golden("spend trend last 30 days", q("spend", "last_30_days", by="day")),
    Golden(
        "Meta vs Google spend last month",
        q("spend", "last_month", by="provider", provider=["google", "meta"]),
    ),
    # --- rankings --------------------------------------------------------------------
    Golden("top 5 campaigns by ROAS", q("roas", by="campaign", limit=5, order="desc")),
    Golden("worst ads last week", q(RANKED, LW, by="ad", order="asc")),
    Golden(
        "lowest CPA campaigns last 30 days", q("cpa", "last_30_days", by="campaign", order="asc")
    ),
    Golden(
        "which campaign had the highest spend yesterday",
        q("spend", "yesterday", by="campaign", limit=1, order="desc"),
    ),
    Golden(
        "best 3 ad sets by conversions this month",
        q("conversions", "this_month", by="adset", limit=3, order="desc"),
    ),
    Golden(
        "top 10 ads by revenue last 30 days",
        q("revenue", "last_30_days", by="ad", limit=10, order="desc"),
    ),
    Golden(
        "which day had the highest revenue this month",
        q("revenue", "this_month", by="day", limit=1, order="desc"),
    ),
    Golden(
        "bottom 5 campaigns by CTR last week", q("ctr", LW, by="campaign", limit=5, order="asc")
    ),
    Golden(
        "which platform has the best CPA this month",
        q("cpa", "this_month", by="provider", limit=1, order="asc"),
    ),
    Golden(
        "best performing campaigns last 30 days",
        q(RANKED, "last_30_days", by="campaign", order="desc"),
    ),
    # --- filters ---------------------------------------------------------------------
    Golden("spend on Meta last week", q("spend", LW, provider=["meta"])),
    Golden("ROAS on Facebook this month", q("roas", "this_month", provider=["meta"])),
    Golden("instagram clicks yesterday", q("clicks", "yesterday", provider=["meta"])),
    Golden("Google Ads CPC last 30 days", q("cpc", "last_30_days", provider=["google"])),
    Golden("TikTok spend this week", q("spend", TW, provider=["tiktok"])),
    Golden(
        "spend on campaigns containing 'Retargeting' this month",
        q("spend", "this_month", name_contains="Retargeting"),
    ),
    Golden(
        'ROAS of campaigns named "Prospecting" last week',
        q("roas", LW, name_contains="Prospecting"),
    ),
    Golden("spend of active campaigns yesterday", q("spend", "yesterday", status=["active"])),
    # --- paraphrases not literally in the parser's lists ------------------------------
    Golden("how much did we burn on facebook ads last week", q("spend", LW, provider=["meta"])),
    Golden(
        "what's my return on spend by channel this month", q("roas", "this_month", by="provider")
    ),
    Golden(
        "which 3 ads had the worst cost per purchase in the past two weeks",
        q("cpa", L14, by="ad", limit=3, order="desc"),
    ),
    Golden(
        "How much money went into TikTok over the last fortnight?",
        q("spend", L14, provider=["tiktok"]),
        note="paraphrase: money went into",
    ),
    Golden(
        "Give me a breakdown of cost per sale per platform for the previous month",
        q("cpa", "last_month", by="provider"),
    ),
    Golden(
        "Are my Google campaigns converting better than last week?",
        q("cvr", by="campaign", compare=True, provider=["google"]),
    ),
    Golden("how are we doing this week", q(SUMMARY, TW)),
    Golden(
        "which creatives are underperforming on meta this month",
        q(RANKED, "this_month", by="ad", order="asc", provider=["meta"]),
    ),
    Golden(
        "What's the cheapest cost per click campaign on google in the last 7 days",
        q("cpc", by="campaign", limit=1, order="asc", provider=["google"]),
    ),
    Golden(
        "Show me how much we invested in ads each day since November 10",
        q("spend", ("2026-11-10", "2026-11-28"), by="day"),
    ),
    Golden("Did store sales grow last month?", q("order_revenue", "last_month", compare=True)),
    Golden(
        "How much have we spent on TikTok so far this month?",
        q("spend", "this_month", provider=["tiktok"]),
    ),
    Golden(
        "Which platform brought in the most revenue last month?",
        q("revenue", "last_month", by="provider", limit=1, order="desc"),
    ),
    Golden("Show me spend per day for the last two weeks", q("spend", L14, by="day")),
    Golden(
        "How many clicks did Facebook get in October?",
        q("clicks", ("2026-10-01", "2026-10-31"), provider=["meta"]),
    ),
    Golden(
        "Which ad set has the lowest cost per click this week?",
        q("cpc", TW, by="adset", limit=1, order="asc"),
    ),
    Golden("How is my Meta ROAS trending?", q("roas", compare=True, provider=["meta"])),
    Golden(
        "How many conversions did we have since Nov 1st?",
        q("conversions", ("2026-11-01", "2026-11-28")),
    ),
    Golden("Compare spend across channels last week", q("spend", LW, by="provider")),
    Golden(
        "Give me revenue and spend by platform for October 2026",
        q(["revenue", "spend"], ("2026-10-01", "2026-10-31"), by="provider"),
    ),
    Golden(
        "What were total impressions last week compared to the week before?",
        q("impressions", LW, compare=True),
    ),
    Golden("what did we make yesterday", q("revenue", "yesterday")),
    Golden(
        "how much revenue did the 'Black Friday' campaigns generate this week",
        q("revenue", TW, name_contains="Black Friday"),
    ),
    Golden("How efficient was our ad spend last month?", q(["roas", "spend"], "last_month")),
    Golden("Did our cost per purchase go up this week?", q("cpa", TW, compare=True)),
    Golden(
        "which week had the lowest ROAS in the last 90 days",
        q("roas", "last_90_days", by="week", limit=1, order="asc"),
    ),
    Golden("how many orders from shopify last week", q("orders", LW)),
    Golden("spend on paused campaigns last month", q("spend", "last_month", status=["paused"])),
    Golden(
        "worst performing platform yesterday",
        q(RANKED, "yesterday", by="provider", limit=1, order="asc"),
    ),
    Golden("What's my CAC?", None, note="customer acquisition cost is not a registry metric"),
    # --- refused, never guessed --------------------------------------------------------
    Golden("what's the weather like", None),
    Golden("spend by country last month", None),
    Golden("ROAS in Q3", None),
    Golden("spend on Snapchat last week", None),
    Golden("campaigns with ROAS above 2", None),
    Golden("revenue in March vs April", None, note="two periods"),
    Golden("revenue tomorrow", None),
    Golden("", None),
]
