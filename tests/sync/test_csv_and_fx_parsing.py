"""CSV and rates parsing: pure functions, no database."""

from __future__ import annotations

from datetime import date

import pytest

from metricx.connectors.csv import CsvInvalid, parse_ad_csv
from metricx.errors import ValidationFailed
from metricx.sync.fx import FxConverter, MissingFxRate, parse_rates_csv


def test_semicolon_bom_and_levels() -> None:
    data = (
        "\ufeffDate;Platform;Campaign_ID;AdSet_ID;Ad_ID;Spend;Clicks;Extra\n"
        "2026-01-01;tiktok;c1;s1;a1;1.234567;3;x\n"
        "2026-01-01;tiktok;c1;s1;a2;2;4;y\n"
        "\n"
        "2026-01-01;google;g9;;;7.5;0;z\n"
    ).encode()
    parsed = parse_ad_csv(data, default_currency="EUR")
    assert [f.level for f in parsed.facts] == ["ad", "ad", "campaign"]
    assert parsed.facts[0].spend_micros == 1_234_567 and parsed.facts[0].currency == "EUR"
    assert sorted(parsed.entities) == ["google", "tiktok"]
    assert {(e.level, e.parent_external_id) for e in parsed.entities["tiktok"]} == {
        ("campaign", None),
        ("adset", "c1"),
        ("ad", "s1"),
    }
    assert parsed.ignored_columns == ["extra"]


def test_cross_row_rules_are_reported_with_lines() -> None:
    data = (
        b"date,platform,campaign_id,adset_id,ad_id,spend,currency\n"
        b"2026-01-01,meta,c1,s1,a1,1,USD\n"
        b"2026-01-02,meta,c1,s2,a1,1,USD\n"  # a1 moved to another ad set
        b"2026-01-01,google,c1,,,1,USD\n"  # c1 is a meta campaign
        b"2026-01-01,meta,c2,,,1,XYZ\n"
    )
    with pytest.raises(CsvInvalid) as info:
        parse_ad_csv(data, default_currency="USD")
    lines = [(e["line"], e["column"]) for e in info.value.errors]
    assert lines == [(3, "ad_id"), (4, "campaign_id"), (5, "currency")]


def test_missing_columns_and_empty_file() -> None:
    with pytest.raises(CsvInvalid) as info:
        parse_ad_csv(b"date,spend\n2026-01-01,1\n", default_currency="USD")
    assert info.value.fields == ["campaign_id"]
    with pytest.raises(CsvInvalid, match="no data rows"):
        parse_ad_csv(b"date,campaign_id,spend\n", default_currency="USD")
    with pytest.raises(CsvInvalid, match="UTF-8"):
        parse_ad_csv(b"date,campaign_id,spend\n\xff\xfe", default_currency="USD")


def test_rates_file_validation() -> None:
    rows = parse_rates_csv(
        "date,base,quote,rate\n2026-01-01,usd,EUR,0.9\n2026-01-01,USD,EUR,0.95\n"
    )
    assert len(rows) == 1 and rows[0].rate == 0.95  # last line for a day wins
    with pytest.raises(ValidationFailed) as info:
        parse_rates_csv("date,base,quote,rate\n2026-01-01,USD,USD,1\n2026-01-02,USD,EUR,abc\n")
    assert "line 2" in info.value.detail and "line 3" in info.value.detail
    with pytest.raises(ValidationFailed):
        parse_rates_csv("day,from,to\n")


def test_converter_uses_lookback_and_inverse_quotes() -> None:
    fx = FxConverter("USD", "EUR", {date(2026, 1, 1): 0.5})
    assert fx.convert(1_000_000, date(2026, 1, 8)) == 500_000
    with pytest.raises(MissingFxRate, match="USD→EUR"):
        fx.convert(1, date(2026, 1, 9))
    assert FxConverter("EUR", "EUR", {}).convert(7, date(2026, 1, 1)) == 7
