"""Money units and deflation, checked against numbers worked out by hand."""

import math

import pandas as pd
import pytest

from consortia.money import (
    PriceIndexGap,
    conversion_factor,
    deflate,
    to_currency,
    unit_factor,
)


@pytest.mark.parametrize(
    "unit, currency, factor",
    [
        ("CNY", "CNY", 1),
        ("10k CNY", "CNY", 10_000),
        (" 10K  cny ", "CNY", 10_000),
        ("万元", "CNY", 10_000),
        ("100M CNY", "CNY", 100_000_000),
        ("亿元", "CNY", 100_000_000),
        ("EUR", "EUR", 1),
        ("k EUR", "EUR", 1_000),
        ("M EUR", "EUR", 1_000_000),
        ("m eur", "EUR", 1_000_000),
        ("USD", "USD", 1),
        ("k USD", "USD", 1_000),
        ("M USD", "USD", 1_000_000),
    ],
)
def test_unit_factors(unit, currency, factor):
    assert unit_factor(unit) == (currency, factor)


def test_to_currency_multiplies_by_the_unit():
    values = pd.Series([1.5, None, 0.25])
    converted = to_currency(values, "万元", "CNY")
    assert converted.iloc[0] == 15_000
    assert math.isnan(converted.iloc[1])
    assert converted.iloc[2] == 2_500
    assert to_currency(pd.Series([2.0]), "M EUR", "eur").iloc[0] == 2_000_000


def test_unknown_unit_is_an_error_listing_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown money unit 'thousand yuan'; known units: CNY"):
        to_currency(pd.Series([1.0]), "thousand yuan", "CNY")


def test_unit_of_another_currency_is_an_error_saying_there_is_no_fx():
    with pytest.raises(ValueError) as error:
        conversion_factor("M EUR", "CNY")
    message = str(error.value)
    assert "'M EUR' is in EUR but the clean data are in CNY" in message
    assert "does not convert between currencies" in message


def test_deflate_to_base_year_prices():
    index = {2019: 100.1, 2020: 100.0, 2021: 104.5}
    values = pd.Series([100.1, 50.0, 209.0])
    years = pd.Series([2019, 2020, 2021])
    deflated = deflate(values, years, index, base_year=2020)
    # 100.1 * 100 / 100.1 = 100; 50 at base prices; 209 * 100 / 104.5 = 200
    assert deflated.tolist() == pytest.approx([100.0, 50.0, 200.0])


def test_deflate_accepts_years_as_strings_and_nullable_years():
    deflated = deflate(
        pd.Series([90.0, None]),
        pd.Series([2015, None], dtype="Int64"),
        {"2015": 90.0, "2020": 100.0},
        base_year=2020,
    )
    assert deflated.iloc[0] == pytest.approx(100.0)
    assert math.isnan(deflated.iloc[1])


def test_deflate_names_the_years_missing_from_the_index():
    # a PriceIndexGap (a ValueError), which `consortia validate` reports as a dataset fault
    with pytest.raises(
        PriceIndexGap, match=r"no entry for year\(s\) 2012, 2025 \(index covers 2019-2020\)"
    ):
        deflate(
            pd.Series([1.0, 2.0, 3.0, None]),
            pd.Series([2012, 2025, 2019, 2030]),  # 2030 has no value: not needed
            {2019: 100.0, 2020: 101.0},
            base_year=2020,
        )


def test_deflate_needs_the_base_year_in_the_index():
    with pytest.raises(ValueError, match="base year 2020 is not in the price index"):
        deflate(pd.Series([1.0]), pd.Series([2019]), {2019: 100.0}, base_year=2020)
