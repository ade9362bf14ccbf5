"""Where a visit came from: URL parsing, channel classification and touch confidence.

Pure functions, shared by pixel journeys, Shopify order landing sites and the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

CHANNELS = (
    "meta",
    "google",
    "tiktok",
    "email",
    "organic_search",
    "organic_social",
    "referral",
    "direct",
)
UNATTRIBUTED = "unattributed"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
CLICK_KEYS = ("fbclid", "gclid", "ttclid")
# Query parameters that carry platform ids once an ad's URL macros are filled in, e.g.
# Meta `ad_id={{ad.id}}`, Google ValueTrack `hsa_ad={creative}`, generic `utm_id`.
ID_KEYS = (
    "ad_id",
    "adset_id",
    "campaign_id",
    "utm_id",
    "hsa_ad",
    "hsa_grp",
    "hsa_cam",
    "mx_ad",
)

SEARCH_HOSTS = ("google.", "bing.", "duckduckgo.", "yahoo.", "yandex.", "baidu.", "ecosia.")
SOCIAL_HOSTS = (
    "facebook.",
    "instagram.",
    "fb.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "pinterest.",
    "reddit.",
    "youtube.",
    "tiktok.",
    "snapchat.",
    "threads.",
)
EMAIL_HOSTS = ("mail.", "outlook.", "klaviyo", "mailchimp")
PAID_MEDIUMS = ("cpc", "ppc", "paid", "paidsocial", "paid_social", "paid-social", "cpm", "ads")
META_SOURCES = ("facebook", "fb", "meta", "instagram", "ig", "an", "messenger")
GOOGLE_SOURCES = ("google", "adwords", "youtube", "gads")
TIKTOK_SOURCES = ("tiktok", "tt")


@dataclass(slots=True)
class Landing:
    """What a landing URL says about the visit."""

    utm: dict[str, str] = field(default_factory=dict)
    clicks: dict[str, str] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)


def host_of(url: str | None) -> str:
    """The lower-case host of a URL ('' when there is none)."""
    if not url:
        return ""
    try:
        return (urlsplit(url if "//" in url else "//" + url).hostname or "").lower()
    except ValueError:
        return ""


def parse_landing(url: str | None) -> Landing:
    """UTMs, click ids and ad ids from a landing URL or a bare path with a query."""
    landing = Landing()
    if not url or "?" not in url:
        return landing
    try:
        query = urlsplit(url).query or url.split("?", 1)[1]
    except ValueError:
        return landing
    for key, value in parse_qsl(query, keep_blank_values=False):
        key = key.lower()
        value = value.strip()[:255]
        if not value or value.startswith("{{") or value.startswith("{"):
            continue  # an unfilled macro is no evidence
        if key in UTM_KEYS:
            landing.utm.setdefault(key, value)
        elif key in CLICK_KEYS:
            landing.clicks.setdefault(key, value)
        if key in ID_KEYS and value not in landing.ids:
            landing.ids.append(value)
    return landing


def _host_matches(host: str, needles: tuple[str, ...]) -> bool:
    return any(host.startswith(n) or f".{n}" in host or host == n.rstrip(".") for n in needles)


def classify(
    *,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    fbclid: str | None = None,
    gclid: str | None = None,
    ttclid: str | None = None,
    referrer: str | None = None,
    site_host: str = "",
) -> str:
    """The channel of one visit: click ids first, then UTMs, then the referrer host."""
    if fbclid:
        return "meta"
    if gclid:
        return "google"
    if ttclid:
        return "tiktok"
    source = (utm_source or "").strip().lower()
    medium = (utm_medium or "").strip().lower()
    if source or medium:
        if medium in ("email", "e-mail", "newsletter") or source in ("klaviyo", "mailchimp"):
            return "email"
        if source in META_SOURCES:
            return "meta"
        if source in GOOGLE_SOURCES:
            return "google" if medium in PAID_MEDIUMS or not medium else "organic_search"
        if source in TIKTOK_SOURCES:
            return "tiktok"
        if medium in ("organic", "seo"):
            return "organic_search"
        if medium in ("social", "organic_social", "social-organic"):
            return "organic_social"
        # A UTM from a source we do not know is still a referral we can name.
        return "referral"
    host = host_of(referrer)
    if not host or (site_host and (host == site_host or host.endswith("." + site_host))):
        return "direct"
    if _host_matches(host, SEARCH_HOSTS):
        return "organic_search"
    if _host_matches(host, SOCIAL_HOSTS):
        return "organic_social"
    if _host_matches(host, EMAIL_HOSTS):
        return "email"
    return "referral"


def confidence(*, has_click_id: bool, entity_exact: bool, has_utm: bool, channel: str) -> str:
    """high (click id or exact entity), medium (UTM), low (referrer or direct only)."""
    if has_click_id or entity_exact:
        return "high"
    if has_utm:
        return "medium"
    if channel == UNATTRIBUTED:
        return "none"
    return "low"


def match_type(*, click_key: str | None, entity_exact: bool, has_utm: bool, channel: str) -> str:
    """How a touch was recognised, for the feed and for debugging."""
    if entity_exact:
        return "entity_id"
    if click_key:
        return click_key
    if has_utm:
        return "utm"
    if channel == "direct":
        return "direct"
    return "referrer"
