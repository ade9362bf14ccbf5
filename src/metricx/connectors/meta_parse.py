"""Meta answers → rows: insights parsing, status mapping and usage headers.

Choices that change numbers, made once here:
- Clicks are `inline_link_clicks` (clicks that lead to the advertiser's destination),
  which is what CPC and CTR mean for a shop; Meta's all-clicks `clicks` (likes, profile
  taps, expansions) is kept in `extra["clicks_all"]`.
- Conversions and revenue come from ONE purchase action family per row: `omni_purchase`
  (which already contains pixel, app and on-Meta purchases), and only when it is absent
  `offsite_conversion.fb_pixel_purchase`, then `purchase`. The families overlap, so
  adding them would count a purchase two or three times.
- `use_unified_attribution_setting=true`, so conversions follow the ad set's own
  attribution setting, as Ads Manager shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import httpx

from metricx.connectors._http import to_float, to_int, to_micros
from metricx.connectors.base import RawFact

PURCHASE_FAMILIES = ("omni_purchase", "offsite_conversion.fb_pixel_purchase", "purchase")
LEAD_FAMILIES = ("lead", "offsite_conversion.fb_pixel_lead")
INSIGHT_FIELDS = (
    "ad_id",
    "date_start",
    "spend",
    "impressions",
    "clicks",
    "inline_link_clicks",
    "actions",
    "action_values",
)
ALL_EFFECTIVE = [
    "ACTIVE",
    "PAUSED",
    "DELETED",
    "PENDING_REVIEW",
    "DISAPPROVED",
    "PREAPPROVED",
    "PENDING_BILLING_INFO",
    "CAMPAIGN_PAUSED",
    "ARCHIVED",
    "ADSET_PAUSED",
    "IN_PROCESS",
    "WITH_ISSUES",
]


def map_status(effective_status: str | None) -> str:
    """Meta's effective_status → active | paused | archived | deleted."""
    status = (effective_status or "").upper()
    if status in {"ACTIVE", "IN_PROCESS", "PENDING_REVIEW", "PREAPPROVED"}:
        return "active"
    if status == "ARCHIVED":
        return "archived"
    if status == "DELETED":
        return "deleted"
    return "paused"


def pick_action(items: Iterable[dict[str, Any]] | None, families: tuple[str, ...]) -> str | None:
    """The first family present in an actions list (the priority order is the contract)."""
    present = {item.get("action_type") for item in items or ()}
    return next((f for f in families if f in present), None)


def action_value(items: Iterable[dict[str, Any]] | None, action_type: str | None) -> str | None:
    """The value of one action type, or None."""
    if action_type is None:
        return None
    for item in items or ():
        if item.get("action_type") == action_type:
            return item.get("value")
    return None


def parse_insight(row: dict[str, Any]) -> RawFact:
    """One ad-day insights row → RawFact (money exactly, via Decimal)."""
    actions = row.get("actions")
    family = pick_action(actions, PURCHASE_FAMILIES)
    conversions = to_float(action_value(actions, family))
    lead_family = pick_action(actions, LEAD_FAMILIES)
    return RawFact(
        level="ad",
        external_id=str(row["ad_id"]),
        event_date=date.fromisoformat(row["date_start"]),
        spend_micros=to_micros(row.get("spend")),
        impressions=to_int(row.get("impressions")),
        clicks=to_int(row.get("inline_link_clicks")),
        conversions=conversions,
        revenue_micros=to_micros(action_value(row.get("action_values"), family)),
        purchases=conversions if family else None,
        leads=to_float(action_value(actions, lead_family)) if lead_family else None,
        extra={"clicks_all": float(to_int(row.get("clicks")))},
    )


def read_usage(headers: httpx.Headers) -> tuple[float, float]:
    """(highest usage %, seconds until access is regained) from Meta's usage headers."""
    pct = 0.0
    regain = 0.0
    buc = json_header(headers.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, dict):
                    continue
                for key in ("call_count", "total_cputime", "total_time"):
                    pct = max(pct, float(entry.get(key) or 0))
                minutes = float(entry.get("estimated_time_to_regain_access") or 0)
                regain = max(regain, 60.0 * minutes)
    app = json_header(headers.get("x-app-usage"))
    if isinstance(app, dict):
        for key in ("call_count", "total_cputime", "total_time"):
            pct = max(pct, float(app.get(key) or 0))
    account = json_header(headers.get("x-ad-account-usage"))
    if isinstance(account, dict):
        pct = max(pct, float(account.get("acc_id_util_pct") or 0))
        regain = max(regain, float(account.get("reset_time_duration") or 0))
    throttle = json_header(headers.get("x-fb-ads-insights-throttle"))
    if isinstance(throttle, dict):
        for key in ("app_id_util_pct", "acc_id_util_pct"):
            pct = max(pct, float(throttle.get(key) or 0))
    return pct, regain


def json_header(value: str | None) -> Any:
    """A JSON header value, or None when absent or garbled."""
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
