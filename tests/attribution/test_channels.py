"""Channel classification and landing-URL parsing."""

from __future__ import annotations

import pytest

from metricx.attribution.channels import classify, parse_landing


@pytest.mark.parametrize(
    ("kwargs", "channel"),
    [
        ({"fbclid": "x"}, "meta"),
        ({"gclid": "x"}, "google"),
        ({"ttclid": "x"}, "tiktok"),
        ({"utm_source": "facebook", "utm_medium": "paid_social"}, "meta"),
        ({"utm_source": "ig"}, "meta"),
        ({"utm_source": "google", "utm_medium": "cpc"}, "google"),
        ({"utm_source": "google", "utm_medium": "organic"}, "organic_search"),
        ({"utm_source": "tiktok"}, "tiktok"),
        ({"utm_source": "klaviyo", "utm_medium": "email"}, "email"),
        ({"utm_source": "newsletter", "utm_medium": "email"}, "email"),
        ({"utm_source": "partner"}, "referral"),
        ({"referrer": "https://www.google.com/"}, "organic_search"),
        ({"referrer": "https://l.facebook.com/"}, "organic_social"),
        ({"referrer": "https://t.co/abc"}, "organic_social"),
        ({"referrer": "https://blog.example.org/post"}, "referral"),
        ({"referrer": "https://shop.test/cart", "site_host": "shop.test"}, "direct"),
        ({}, "direct"),
    ],
)
def test_classify(kwargs: dict, channel: str) -> None:
    assert classify(**kwargs) == channel


def test_parse_landing_reads_utms_click_ids_and_filled_macros() -> None:
    landing = parse_landing(
        "/products/a?utm_source=facebook&utm_campaign=123&fbclid=F1&ad_id=999&adset_id={{adset.id}}"
    )
    assert landing.utm == {"utm_source": "facebook", "utm_campaign": "123"}
    assert landing.clicks == {"fbclid": "F1"}
    assert landing.ids == ["999"]  # the unfilled macro is ignored
    assert parse_landing(None).utm == {}
