"""Step 3 of cleaning within a table: the column rules as a pandera schema, the rules
between columns, money beyond any budget (``value_overflow``) and task dates."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from consortia import money
from consortia.clean.work import TableWork
from consortia.contract import (
    Bound,
    Ordering,
    Rule,
    TableSpec,
)

if TYPE_CHECKING:
    import pandera.pandas as pa


# Money beyond this magnitude in the study's currency is no budget but a typo or a unit
# error; it also overflows float64 once summed over rows or squared (Table 1's SDs,
# regressions), so the row is quarantined (value_overflow) rather than kept as a number.
MAX_MONEY_MAGNITUDE = 1e100


# Task dates after a gap this long in the sorted dates are taken for typos (date_far_beyond_data)
DATE_GAP_YEARS = 10


def _within(values: pd.Series, bound: Bound) -> pd.Series:
    inside = pd.Series(True, index=values.index)
    if bound.low is not None:
        inside &= values >= bound.low
    if bound.high is not None:
        inside &= values <= bound.high
    return inside


def _bound_text(bound: Bound) -> str:
    if bound.high is None:
        return f"below {bound.low:g}" if bound.low else "below zero"
    return f"outside [{bound.low:g}, {bound.high:g}]"


def column_schema(spec: TableSpec, columns: list[str]) -> pa.DataFrameSchema:
    """Pandera schema of the column-level rules for the contract columns present: required
    columns not empty (``not_nullable``) and values within their bounds (check named by
    its rule id)."""
    import pandera.pandas as pa  # here, not at the top: only rule `clean` pays its import

    return pa.DataFrameSchema(
        {
            column: pa.Column(
                nullable=column not in spec.required,
                required=False,
                checks=_bound_checks(spec.bounds.get(column)),
            )
            for column in columns
        }
    )


def _bound_checks(bound: Bound | None) -> list[pa.Check]:
    import pandera.pandas as pa

    return [] if bound is None else [pa.Check(_within, bound=bound, name=str(bound.rule))]


def add_column_rules(work: TableWork) -> None:
    import pandera.pandas as pa

    spec = work.spec
    # Optional columns without bounds have nothing to check: pandera's cost is per column.
    checked = [
        c for c in spec.columns if c in work.typed and (c in spec.required or c in spec.bounds)
    ]
    try:
        with warnings.catch_warnings():
            # pandera's own concat of failure cases trips a pandas deprecation warning.
            warnings.simplefilter("ignore", FutureWarning)
            column_schema(spec, checked).validate(work.typed[checked], lazy=True)
        failures = pd.DataFrame(columns=["column", "check", "index", "failure_case"])
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    for (column, check), cases in failures.groupby(["column", "check"], sort=False):
        rows = pd.Index(cases["index"].astype("int64").unique())
        text = work.text.loc[rows, column]
        if check == "not_nullable":
            # A value that did not parse is empty now but was given: that is a type
            # mismatch, already recorded, not a missing value.
            work.flag(
                text.isna(), Rule.MISSING_REQUIRED, column, f"required column {column} is empty"
            )
            continue
        bound = spec.bounds[column]
        if check != str(bound.rule):
            raise RuntimeError(f"{spec.name}.{column}: unexpected pandera check {check!r}")
        work.flag(
            pd.Series(True, index=rows),
            bound.rule,
            column,
            column + " = " + text + " is " + _bound_text(bound),
        )
    for ordering in spec.orderings:
        if ordering.low not in work.typed or ordering.high not in work.typed:
            continue
        work.flag(
            work.typed[ordering.low] > work.typed[ordering.high],
            ordering.rule,
            ordering.column,
            lambda rows, ordering=ordering: _ordering_detail(work.text.loc[rows], ordering),
        )


def _ordering_detail(text: pd.DataFrame, ordering: Ordering) -> pd.Series:
    low = ordering.low + " " + text[ordering.low]
    high = ordering.high + " " + text[ordering.high]
    if ordering.rule is Rule.END_BEFORE_START:
        return high + " is before " + low
    return low + " exceeds " + high


def add_value_overflow(
    work: TableWork,
    units: dict[str, tuple[str, float]],
    money_cfg: Mapping,
    kept_consortia: pd.DataFrame,
) -> None:
    """Money values that are finite as recorded but not after conversion to the study's
    currency and prices, or so large there that sums and squares of them would overflow."""
    multiplier = pd.Series(1.0, index=work.typed.index)
    deflator = money_cfg.get("deflator")
    if deflator:
        levels = money.price_index(deflator["index"])
        if work.table == "panel":
            years = work.typed["year"]
        else:
            founded = kept_consortia.set_index("consortium_id")["founded_year"]
            years = work.typed["consortium_id"].map(founded)
        base = levels.get(int(deflator["base_year"]), np.nan)
        # a year without a price level is money.deflate's error to report, not an overflow
        multiplier = (base / years.astype("float64").map(levels)).fillna(1.0)
    for column, (unit, factor) in units.items():
        if column not in work.typed:
            continue
        values = work.typed[column].astype("float64")
        with np.errstate(over="ignore", invalid="ignore"):
            converted = values * factor * multiplier
        too_large = values.notna() & ~(converted.abs() <= MAX_MONEY_MAGNITUDE)
        work.flag(
            too_large,
            Rule.VALUE_OVERFLOW,
            column,
            lambda rows, column=column, unit=unit, converted=converted: (
                f"{column} = " + work.text.loc[rows, column] + f" {unit} is "
                + converted.loc[rows].map("{:.3g}".format)
                + f" in {money_cfg['currency']}"
                + (" at constant prices" if deflator else "")
                + f", beyond ±{MAX_MONEY_MAGNITUDE:.0e}: sums and squares of it overflow"
            ),
        )


def check_task_dates(tasks: TableWork, censoring_date) -> list[str]:
    """Task dates that would move the censoring date, or fall after it.

    Without a configured censoring date the cut-off is the tasks' latest date, so one
    mistyped year (2099 for 2019) would censor every running task decades later. A date
    after a gap of more than :data:`DATE_GAP_YEARS` years in the sorted task dates (the
    dates before the gap are the data) is taken for an error: its task is quarantined as
    ``date_far_beyond_data``. With a configured date, tasks dating after it are kept
    (they are censored there) and counted in a warning.
    """
    dates = [tasks.typed[c] for c in ("start_date", "end_date") if c in tasks.typed]
    if not dates:
        return []
    latest = pd.concat(dates, axis=1).max(axis=1)
    if censoring_date is not None:
        cut = pd.Timestamp(censoring_date)
        late = int((latest > cut).sum())
        if not late:
            return []
        return [
            f"tasks: {late} task(s) have a date after the configured censoring date "
            f"{cut.date()}; they are treated as still running then (censored at that date)"
        ]
    observed = np.sort(latest.dropna().unique())
    if len(observed) < 2:
        return []
    gaps = np.diff(observed) > np.timedelta64(int(DATE_GAP_YEARS * 365.25), "D")
    if not gaps.any():
        return []
    last_in_data = pd.Timestamp(observed[np.flatnonzero(gaps)[0]])
    beyond = latest > last_in_data

    def detail(rows: pd.Index) -> pd.Series:
        text = tasks.text.loc[rows]
        parts = [f"{c} " + text[c].fillna("") for c in ("start_date", "end_date") if c in text]
        joined = parts[0] if len(parts) == 1 else parts[0] + ", " + parts[1]
        return (
            joined + f": more than {DATE_GAP_YEARS} years after every other task date "
            f"(latest {last_in_data.date()}); it would move the default censoring date"
        )

    column = "end_date" if "end_date" in tasks.typed else "start_date"
    tasks.flag(beyond, Rule.DATE_FAR_BEYOND_DATA, column, detail)
    return [
        f"tasks: {int(beyond.sum())} task(s) dated more than {DATE_GAP_YEARS} years after the "
        f"rest of the tasks table (latest {last_in_data.date()}) were quarantined as "
        "date_far_beyond_data; set censoring_date in the config to choose the cut-off yourself"
    ]
