"""The parser's vocabulary: metric synonyms, platforms, breakdown phrases and small numbers.

Patterns are regular expressions matched on the lower-cased question at word boundaries,
longest first, and each match consumes its span so "cost per click" never also reads as
"cost" or "clicks".

Ambiguities, decided once:
- "revenue", "sales", "conversion value" are platform-reported revenue; "store revenue",
  "shopify sales", "order revenue" (or revenue mentioned with "shopify"/"store") are
  order_revenue.
- "purchases" and "conversions" are platform-reported conversions; "orders" are store orders.
  "How many sales" counts conversions.
- "cost" alone is spend; "cost per order", "ROI", "CAC" and "margin" are not mapped, since
  none of them equals a registry metric.
"""

from __future__ import annotations

METRIC_SYNONYMS: tuple[tuple[str, str], ...] = (
    # derived ratios and costs first: they contain base words
    (r"blended roas|marketing efficiency(?: ratio)?|mer", "mer"),
    (r"profit on ad spend|poas", "poas"),
    (
        r"return on (?:ad |advertising )?spend|return on ads?|roas|return|efficien(?:t|cy)",
        "roas",
    ),
    (
        r"cost per (?:purchase|acquisition|conversion|result|sale)s?|cpa|cost of acquisition",
        "cpa",
    ),
    (r"cost per click|cpc|cost-per-click", "cpc"),
    (r"cost per (?:thousand|1000|1,000|mille)(?: impressions)?|cpm", "cpm"),
    (r"click[- ]?through[- ]rate|ctr", "ctr"),
    (r"conversion rate|cvr|conv(?:ersion)? rate|converting", "cvr"),
    (r"average order value|average order|avg order value|basket size|aov", "aov"),
    (r"store revenue|shopify (?:revenue|sales)|store sales|order revenue", "order_revenue"),
    (r"how many sales|number of sales", "conversions"),
    (
        r"revenue|sales|conversion value|purchase value|income|earnings|brought in|bring in"
        r"|(?:did|do|have|has) (?:we|i|it) (?:make|made|earn|earned|generate|generated)",
        "revenue",
    ),
    (r"(?:shopify |store )?orders", "orders"),
    (r"purchases|conversions|purchased|converted", "conversions"),
    (r"cost of goods(?: sold)?|cogs", "cogs"),
    (r"manual costs?|other costs|fixed costs", "manual_costs"),
    (r"net profit|profits?", "profit"),
    (r"impressions|impr", "impressions"),
    (r"clicks|clicked", "clicks"),
    (
        r"ad spend|advertising spend|spend(?:ing)?|spent|costs?|burn(?:ed|t)?|invest(?:ed)?"
        r"|money (?:went|go|goes|going|put|poured) into",
        "spend",
    ),
)

# Questions about overall performance with no metric named get this summary set.
SUMMARY_WORDS = (
    r"perform(?:ance|ing|ed)?|how (?:are|is|did|were) (?:we|my|our|it|things)|doing|overview"
    r"|summary|results|kpis|numbers|underperform(?:ing|ed)?"
)
SUMMARY_METRICS = ("spend", "revenue", "roas")
RANKING_SUMMARY_METRICS = ("roas", "spend", "revenue")

PLATFORMS: tuple[tuple[str, str], ...] = (
    (r"meta|facebook|fb|instagram|insta|ig", "meta"),
    (r"google|adwords|youtube|pmax|performance max", "google"),
    (r"tik ?tok", "tiktok"),
)
UNSUPPORTED_PLATFORMS = (
    r"snapchat|snap|pinterest|bing|microsoft ads|linkedin|twitter|reddit|amazon ads|x ads"
)

BREAKDOWN_NOUNS: tuple[tuple[str, str], ...] = (
    (r"platforms?|channels?|networks?|providers?|sources?", "provider"),
    (r"ad ?sets?|ad ?groups?", "adset"),
    (r"campaigns?", "campaign"),
    (r"ads|ad|creatives?", "ad"),
)
TIME_BREAKDOWNS: tuple[tuple[str, str], ...] = (
    (r"daily|by day|per day|each day|day by day|over time|trend|day-by-day|which day", "day"),
    (r"weekly|by week|per week|each week|week over week|which week", "week"),
)
UNSUPPORTED_BREAKDOWNS = (
    r"(?:by|per|each|which) (?:country|countries|region|city|device|age|gender|hour|placement"
    r"|keyword|audience|product|sku|month|quarter|year)"
)

BEST_WORDS = r"top|best|strongest|winning|leading"
WORST_WORDS = r"worst|bottom|weakest|poorest|underperforming|losing"
HIGH_WORDS = r"highest|most|biggest|largest|greatest|max(?:imum)?|higher"
LOW_WORDS = r"lowest|least|smallest|min(?:imum)?|fewest|lower|cheapest"

COMPARE_WORDS = (
    r"change[ds]?|changing|drop(?:ped|s)?|declined?|decreased?|fell|fall(?:en)?|increased?"
    r"|gr[eo]w(?:n|th)?|rose|rise|rising|falling|up or down|differ(?:ence)?|trending"
    r"|(?:go|goes|went|gone|going) (?:up|down)|improv(?:e|ed|ing)|worsen(?:ed|ing)?"
    r"|jump(?:ed)?|spike[ds]?|plummet(?:ed)?|dip(?:ped)?|slump(?:ed)?"
)
COMPARE_WORDS_RE = rf"\b(?:{COMPARE_WORDS})\b"

NUMBER_WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
NUMBER = r"\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))


def to_int(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]
