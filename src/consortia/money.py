"""Money: units as recorded -> one currency -> constant prices of a base year.

There is no exchange-rate conversion: a dataset's money columns must all be in
the currency of the clean panel (in any of its units). Mixing currencies needs
a decision (which rates, which dates) the pipeline should not take silently.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

# Unit as matched (lower-cased, all whitespace removed) -> (currency, factor to one unit).
UNITS: dict[str, tuple[str, float]] = {
    "cny": ("CNY", 1.0),
    "元": ("CNY", 1.0),
    "10kcny": ("CNY", 1e4),
    "万元": ("CNY", 1e4),
    "100mcny": ("CNY", 1e8),
    "亿元": ("CNY", 1e8),
    "eur": ("EUR", 1.0),
    "keur": ("EUR", 1e3),
    "meur": ("EUR", 1e6),
    "usd": ("USD", 1.0),
    "kusd": ("USD", 1e3),
    "musd": ("USD", 1e6),
}

KNOWN_UNITS = "CNY, 元, 10k CNY, 万元, 100M CNY, 亿元, EUR, k EUR, M EUR, USD, k USD, M USD"


class PriceIndexGap(ValueError):
    """Money recorded in a year the price index does not cover: the dataset needs a longer
    index (``money.deflator.index``), which callers report as a fault of the dataset's
    fit to the config rather than a failure of the program."""


def unit_factor(unit: str) -> tuple[str, float]:
    """The currency of ``unit`` and how many currency units one recorded unit is."""
    matched = "".join(str(unit).split()).lower()
    if matched not in UNITS:
        raise ValueError(f"unknown money unit {unit!r}; known units: {KNOWN_UNITS}")
    return UNITS[matched]


def conversion_factor(unit: str, currency: str) -> float:
    """Factor turning values recorded in ``unit`` into ``currency``."""
    unit_currency, factor = unit_factor(unit)
    if unit_currency != currency.strip().upper():
        raise ValueError(
            f"money unit {unit!r} is in {unit_currency} but the clean data are in "
            f"{currency}: the pipeline does not convert between currencies (no exchange "
            f"rates). Convert the column to {currency} before the run, or set "
            f"money.currency to {unit_currency} if every money column is in {unit_currency}."
        )
    return factor


def to_currency(values: pd.Series, unit: str, currency: str) -> pd.Series:
    """Values recorded in ``unit`` expressed in ``currency``.

    E.g. 万元 -> CNY multiplies by 1e4.
    """
    return pd.to_numeric(values) * conversion_factor(unit, currency)


def price_index(index: Mapping) -> dict[int, float]:
    """A price index as year -> level, whether the years came from YAML as ints or strings."""
    return {int(year): float(level) for year, level in index.items()}


def deflate(values: pd.Series, years: pd.Series, index: Mapping, base_year: int) -> pd.Series:
    """Values at prices of ``base_year``: value * index[base_year] / index[year].

    Only years of non-missing values must be in the index; a missing year for a
    given value is an error (there is no price level to deflate it by).
    """
    levels = price_index(index)
    if int(base_year) not in levels:
        raise ValueError(
            f"deflator base year {base_year} is not in the price index "
            f"(index covers {_coverage(levels)})"
        )
    values = pd.to_numeric(values)
    years = pd.Series(years, index=values.index)
    given = values.notna()
    if (given & years.isna()).any():
        raise ValueError(
            f"{int((given & years.isna()).sum())} money values have no year to deflate by"
        )
    needed = pd.Series(years[given].astype("int64").unique())
    missing = sorted(needed[~needed.isin(list(levels))].tolist())
    if missing:
        raise PriceIndexGap(
            f"the price index has no entry for year(s) {', '.join(map(str, missing))} "
            f"(index covers {_coverage(levels)}); extend money.deflator.index"
        )
    year_level = pd.to_numeric(years).astype("float64").map(levels)
    return values * (levels[int(base_year)] / year_level)


def _coverage(levels: dict[int, float]) -> str:
    return f"{min(levels)}-{max(levels)}" if levels else "no years"
