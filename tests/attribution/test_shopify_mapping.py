"""Pure Shopify helpers and the private timeframe resolver."""

from __future__ import annotations

from datetime import date

import pytest

from metricx.attribution import shopify
from tests.attribution.helpers import OLD_SECRET, SECRET, order_payload, sign


@pytest.mark.parametrize(
    ("raw", "topic"),
    [
        ("orders-create", "orders/create"),
        ("orders/updated", "orders/updated"),
        ("customers-data_request", "customers/data_request"),
        ("customers/redact", "customers/redact"),
        ("shop-redact", "shop/redact"),
        ("refunds_create", "refunds/create"),
        ("products-create", None),
        ("", None),
    ],
)
def test_normalise_topic(raw: str, topic: str | None) -> None:
    assert shopify.normalise_topic(raw) == topic


def test_signature_accepts_current_and_previous_secret_only() -> None:
    body = b'{"id": 1}'
    secrets = shopify.secrets_from(f"{SECRET}, {OLD_SECRET}")
    assert shopify.signature_valid(body, sign(body), secrets)
    assert shopify.signature_valid(body, sign(body, OLD_SECRET), secrets)
    assert not shopify.signature_valid(body + b" ", sign(body), secrets)
    assert not shopify.signature_valid(body, sign(body, "other"), secrets)
    assert not shopify.signature_valid(body, None, secrets)
    assert not shopify.signature_valid(body, sign(body), [])


def test_order_row_maps_money_dates_and_marketing_fields() -> None:
    refunds = [
        {"transactions": [{"kind": "refund", "status": "success", "amount": "7.25"}]},
        {"transactions": [{"kind": "refund", "status": "failure", "amount": "99"}]},
    ]
    row = shopify.order_row(
        order_payload(
            created_at="2026-03-01T02:00:00+00:00",
            refunds=refunds,
            note_attributes=[{"name": "mx_vid", "value": "vid-9"}, {"name": "gclid", "value": "G"}],
        ),
        "America/Los_Angeles",
    )
    assert row.order_date == date(2026, 2, 28)  # the shop's local day
    assert row.total_micros == 120_000_000
    assert row.tax_micros == 10_000_000
    assert row.refunded_micros == 7_250_000
    assert row.visitor_id == "vid-9"
    assert (row.fbclid, row.gclid) == ("FB1", "G")
    assert row.utm_medium == "paid"
    assert row.lines[0].price_micros == 50_000_000 and row.lines[0].quantity == 2
    assert shopify.micros("19.99") == 19_990_000
    assert shopify.micros("junk") == 0
