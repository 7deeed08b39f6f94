"""From the tables as read to typed tables of kept rows, with every other row accounted for.

Per table, in this order:

1. values are trimmed (an all-blank cell is missing) and rows identical on
   every column are collapsed to their first copy (counted, not quarantined);
2. each contract column is parsed into its type; a value that does not parse
   breaks ``type_mismatch``, an organisation type outside the vocabulary (after
   the contract's and the config's synonyms) ``unknown_org_type``;
3. column rules run as a pandera schema (required columns not empty, counts
   and money not negative, decision weights in [0, 1]), then the rules between
   columns (end before start, transferred > achievements, ...), keys that
   appear more than once (``conflicting_duplicate``: every copy), and the
   rules across tables (``unknown_consortium_key``, ``year_outside_life``,
   ``multiple_leads``), which look only at the consortia that were kept;
4. a row that broke any rule is quarantined once, under the first rule in
   ``contract.Rule`` order, its detail naming the others;
5. kept rows are fixed where the contract says how: industry labels mapped,
   surplus lead flags reconciled with ``consortia.lead_org_id``, missing task
   statuses inferred, money converted to one currency and deflated. Panel money
   is deflated by the panel year; a member's ``funding`` by its consortium's
   ``founded_year`` (a budget is fixed when the consortium is formed).

Everything is vectorised over the whole table: no Python loop runs per row.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype, take

from consortia import money
from consortia.contract import (
    FIX_COLUMNS,
    RULE_PRIORITY,
    TABLES,
    Bound,
    Fix,
    Kind,
    Ordering,
    Rule,
    TableSpec,
    inferred_task_status,
    normalise_label,
    normalise_org_type,
)
from consortia.io import SOURCE_ROW, ContractError, as_text

if TYPE_CHECKING:
    import pandera.pandas as pa

QUARANTINE_COLUMNS = ["table", "source_file", "source_row", "rule", "column", "detail", "record"]

# Flags are matched trimmed and lower-cased; "1.0"/"0.0" are flags stored as numbers by
# tools that turn a column with gaps into floats.
BOOL_WORDS = {
    "true": True, "1": True, "1.0": True, "yes": True, "是": True,
    "false": False, "0": False, "0.0": False, "no": False, "否": False,
}  # fmt: skip

EXPECTED = {
    Kind.INT: "an integer",
    Kind.COUNT: "a whole number",
    Kind.YEAR: "a four-digit year",
    Kind.FLOAT: "a number",
    Kind.MONEY: "a number (no thousands separators or currency signs)",
    Kind.BOOL: "a flag (true/false, 1/0, yes/no, 是/否)",
    Kind.DATE: "a date (YYYY-MM-DD)",
}

DECISION_WEIGHT_TOLERANCE = 0.01
# Money beyond this magnitude in the study's currency is no budget but a typo or a unit
# error; it also overflows float64 once summed over rows or squared (Table 1's SDs,
# regressions), so the row is quarantined (value_overflow) rather than kept as a number.
MAX_MONEY_MAGNITUDE = 1e100
# Task dates after a gap this long in the sorted dates are taken for typos (date_far_beyond_data)
DATE_GAP_YEARS = 10


class AccountingError(Exception):
    """rows read != rows kept + rows quarantined + duplicates collapsed for some table."""


@dataclass
class TableAccount:
    table: str
    source_file: str
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    duplicates_collapsed: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    fixes: dict[str, int] = field(default_factory=dict)

    @property
    def identity_holds(self) -> bool:
        return self.rows_read == self.rows_kept + self.rows_quarantined + self.duplicates_collapsed


@dataclass
class CleanDataset:
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    fixes: pd.DataFrame
    accounting: dict[str, TableAccount]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _TableWork:
    """One table on its way through cleaning; all frames share the raw frame's index."""

    spec: TableSpec
    source_file: str
    raw: pd.DataFrame
    text: pd.DataFrame  # trimmed text of the rows left after collapsing exact duplicates
    typed: pd.DataFrame
    duplicates_collapsed: int
    violations: list[pd.DataFrame] = field(default_factory=list)
    fixes: list[pd.DataFrame] = field(default_factory=list)
    fix_counts: Counter = field(default_factory=Counter)

    @property
    def table(self) -> str:
        return self.spec.name

    def flag(
        self,
        mask: pd.Series,
        rule: Rule,
        column: str,
        detail: str | Callable[[pd.Index], pd.Series],
    ) -> None:
        """Record that the rows in ``mask`` break ``rule``. A per-row detail is a Series or,
        where building text for every row would be wasted, a function of the flagged rows."""
        mask = mask.fillna(False).astype(bool)
        rows = mask.index[mask.to_numpy()]
        if len(rows) == 0:
            return
        if callable(detail):
            detail = detail(rows)
        if isinstance(detail, pd.Series):
            detail = detail.loc[rows].to_numpy()
        self.violations.append(
            pd.DataFrame({"row": rows, "rule": str(rule), "column": column, "detail": detail})
        )

    def violating_rows(self) -> pd.Index:
        if not self.violations:
            return pd.Index([], dtype="int64")
        return pd.Index(pd.concat(self.violations)["row"].unique())

    def passing(self) -> pd.DataFrame:
        """Typed rows that broke no rule so far."""
        return self.typed.drop(index=self.violating_rows())


def clean_dataset(
    raw: Mapping[str, pd.DataFrame], sources: Mapping[str, str], config: Mapping
) -> CleanDataset:
    """Clean the tables read by ``io.read_table``.

    ``config`` holds the study config's ``org_type_synonyms``, ``industry_map``,
    ``money`` (without ``money`` values stay as recorded) and ``censoring_date``
    (None: the tasks' cut-off is their latest date; see :func:`_check_task_dates`).
    """
    unknown_tables = sorted(set(raw) - set(TABLES))
    if unknown_tables:
        raise ValueError(f"not contract tables: {', '.join(unknown_tables)}")
    if "consortia" not in raw:
        raise ValueError("cleaning needs the consortia table (the other tables refer to it)")
    money_cfg = config.get("money")
    money_plan = _money_plan(list(raw), money_cfg)
    synonyms = config.get("org_type_synonyms") or {}

    work = {
        table: _parse_table(TABLES[table], raw[table], str(sources.get(table, "")), synonyms)
        for table in TABLES
        if table in raw
    }
    for item in work.values():
        _add_column_rules(item)
        _add_conflicting_duplicates(item)

    consortia = work["consortia"]
    kept_consortia = consortia.passing()
    quarantined_consortia = _resolve(consortia)
    for item in work.values():
        if item.spec.references_consortia:
            _add_unknown_consortium(item, kept_consortia, quarantined_consortia, consortia)
    if "panel" in work:
        _add_year_outside_life(work["panel"], kept_consortia)
    if "members" in work:
        _add_multiple_leads(work["members"], kept_consortia)
    if money_cfg:
        for table, units in money_plan.items():
            _add_value_overflow(work[table], units, money_cfg, kept_consortia)
    date_warnings = []
    if "tasks" in work:
        date_warnings = _check_task_dates(work["tasks"], config.get("censoring_date"))

    kept = {table: _kept_rows(item) for table, item in work.items()}
    kept["consortia"] = _apply_industry_map(
        consortia, kept["consortia"], config.get("industry_map")
    )
    for item in work.values():
        _count_org_type_synonyms(item, kept[item.table])
    if "tasks" in kept:
        kept["tasks"] = _infer_task_status(work["tasks"], kept["tasks"])
    if money_cfg:
        for table, units in money_plan.items():
            kept[table] = _convert_money(work[table], kept[table], units, money_cfg["currency"])
        if money_cfg.get("deflator"):
            kept = _deflate_money(work, kept, money_plan, money_cfg["deflator"])

    weight_warnings = _decision_weight_warnings(kept["members"]) if "members" in kept else []
    quarantine = _frame([_quarantine_rows(item) for item in work.values()], QUARANTINE_COLUMNS)
    fixes = _frame([fix for item in work.values() for fix in item.fixes], FIX_COLUMNS)
    accounting = {table: _account(item, kept[table], quarantine) for table, item in work.items()}
    check_accounting(accounting)
    return CleanDataset(
        tables={table: frame.reset_index(drop=True) for table, frame in kept.items()},
        quarantine=quarantine,
        fixes=fixes,
        accounting=accounting,
        warnings=weight_warnings + date_warnings,
    )


def check_accounting(accounting: Mapping[str, TableAccount]) -> None:
    """Raise AccountingError unless rows read = kept + quarantined + collapsed everywhere."""
    broken = [account for account in accounting.values() if not account.identity_holds]
    if broken:
        raise AccountingError(
            "rows read != rows kept + rows quarantined + duplicates collapsed for: "
            + "; ".join(
                f"{a.table} ({a.source_file}): {a.rows_read} != {a.rows_kept} + "
                f"{a.rows_quarantined} + {a.duplicates_collapsed}"
                for a in broken
            )
        )


# --- parsing ---------------------------------------------------------------------------


def _parse_table(
    spec: TableSpec, frame: pd.DataFrame, source_file: str, synonyms: Mapping[str, str]
) -> _TableWork:
    frame = frame.reset_index(drop=True)
    if SOURCE_ROW not in frame:
        # Frames built in memory have no file: number their rows as a file would.
        frame = frame.assign(**{SOURCE_ROW: np.arange(1, len(frame) + 1)})
    missing = [column for column in spec.required if column not in frame]
    if missing:
        raise ContractError(
            f"{source_file or spec.name}: the {spec.name} table lacks required column(s) "
            f"{', '.join(missing)}; expected {', '.join(spec.required)}"
        )
    value_columns = [column for column in frame.columns if column != SOURCE_ROW]
    text, typed, text_codes = {}, {}, {}
    for column in value_columns:
        text[column], typed[column], text_codes[column] = _text_and_value(
            frame[column], spec, column, synonyms
        )
    # Rows with equal codes in every column have equal trimmed text: comparing integer
    # codes finds the same duplicates as comparing the strings, much faster.
    text_codes = pd.DataFrame(text_codes, index=frame.index)
    # a blank line is no copy of another row: each is quarantined under its own row number
    blank = (text_codes < 0).all(axis=1)
    collapsed = text_codes.duplicated(keep="first") & ~blank
    text_codes = text_codes[~collapsed]
    text = pd.DataFrame(text)[~collapsed]
    typed[SOURCE_ROW] = frame[SOURCE_ROW]
    work = _TableWork(
        spec=spec,
        source_file=source_file,
        raw=frame,
        text=text,
        typed=pd.DataFrame(typed)[~collapsed],
        duplicates_collapsed=int(collapsed.sum()),
    )
    for column in value_columns:
        kind = spec.columns.get(column)
        if kind is None or kind is Kind.STRING:
            continue
        unparsed = (text_codes[column] >= 0) & work.typed[column].isna()
        if column in spec.org_type_columns:
            work.flag(
                unparsed,
                Rule.UNKNOWN_ORG_TYPE,
                column,
                lambda rows, column=column: (
                    "'"
                    + text.loc[rows, column]
                    + "' is not an organisation type or a known synonym; "
                    "add it under org_type_synonyms in the config"
                ),
            )
            continue
        expected = (
            f"one of {', '.join(spec.categories[column])}"
            if kind is Kind.CATEGORY
            else EXPECTED[kind]
        )
        work.flag(
            unparsed,
            Rule.TYPE_MISMATCH,
            column,
            lambda rows, column=column, expected=expected: (
                column + ": '" + text.loc[rows, column] + "' is not " + expected
            ),
        )
    return work


def _text_and_value(
    raw: pd.Series, spec: TableSpec, column: str, synonyms: Mapping[str, str]
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """A column's trimmed text (all-blank = missing), its typed value (missing where the
    text does not parse; extra columns untouched) and per row a code of the trimmed text
    (equal codes = equal text; -1 = missing).

    Each distinct value is handled once: a million-row column repeats its values a lot.
    """
    codes, uniques = pd.factorize(raw)
    stripped = _stripped_text(uniques)
    trimmed = stripped.where(stripped != "")
    text_codes = take(
        _distinct_codes(uniques, stripped, trimmed), codes, allow_fill=True, fill_value=-1
    )
    kind = spec.columns.get(column)
    if kind is None:
        value = raw
    elif column in spec.org_type_columns:
        value = _expand(normalise_org_type(trimmed, synonyms)[0], codes, raw.index)
    elif kind is Kind.STRING:
        value = None
    else:
        value = _expand(_parse_values(trimmed, kind, spec, column), codes, raw.index)
    text = _expand(trimmed, codes, raw.index)
    return text, text if value is None else value, text_codes


# A string that starts and ends with a visible ASCII character has nothing to trim.
_MAY_NEED_TRIMMING = r"^[^!-~]|[^!-~]$"


def _stripped_text(uniques) -> pd.Series:
    """Distinct values as text, trimmed as ``str.strip`` trims them.

    ``str.strip`` runs in Python, value by value; numbers, codes and ids, which make up
    most distinct values, start and end with a visible ASCII character, so only the
    other strings (found by a vectorised regular expression) go through it."""
    values = pd.Series(uniques, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return as_text(values).str.strip()
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        edges = pc.match_substring_regex(
            pa.array(values.to_numpy(), pa.string()), _MAY_NEED_TRIMMING
        )
    except (pa.ArrowException, UnicodeEncodeError):  # e.g. lone surrogates: not UTF-8
        return values.str.strip()
    candidates = np.flatnonzero(edges.to_numpy(zero_copy_only=False))
    if len(candidates):
        values.iloc[candidates] = values.iloc[candidates].str.strip()
    return values


def _distinct_codes(uniques, stripped: pd.Series, trimmed: pd.Series) -> np.ndarray:
    """Codes of the trimmed distinct values: equal codes for equal text, -1 for missing.

    Distinct strings stay distinct unless trimming changed one of them, so the costly
    second factorisation runs only then (or for values that were not strings)."""
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        given = trimmed.notna().to_numpy()
        if (stripped.to_numpy()[given] == np.asarray(uniques, dtype=object)[given]).all():
            return np.where(given, np.arange(len(trimmed)), -1)
    return pd.factorize(trimmed)[0]


def _expand(per_unique: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Values of the distinct values back on every row (code -1 = missing)."""
    values = (
        per_unique.array if isinstance(per_unique.dtype, ExtensionDtype) else per_unique.to_numpy()
    )
    return pd.Series(take(values, codes, allow_fill=True), index=index)


def _parse_values(text: pd.Series, kind: Kind, spec: TableSpec, column: str) -> pd.Series:
    """Typed values of non-string kinds; missing where the text does not parse."""
    if kind is Kind.CATEGORY:
        labels = normalise_label(text)
        return labels.where(labels.isin(spec.categories[column]))
    if kind is Kind.BOOL:
        return normalise_label(text).map(BOOL_WORDS).astype("boolean")
    if kind is Kind.DATE:
        # utc=True tolerates a mix of offsets; the dates are then kept naive.
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        return parsed.dt.tz_localize(None)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    valid = np.isfinite(numbers)
    if kind in (Kind.INT, Kind.COUNT, Kind.YEAR):
        # Beyond 2**53 floats stop being exact integers.
        valid &= (numbers % 1 == 0) & (numbers.abs() < 2**53)
        if kind is Kind.YEAR:
            valid &= numbers.between(1000, 9999)
        return numbers.where(valid).astype("Int64")
    return numbers.where(valid)


# --- rules -----------------------------------------------------------------------------


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


def _add_column_rules(work: _TableWork) -> None:
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


def _add_conflicting_duplicates(work: _TableWork) -> None:
    """Rows whose key repeats: exact copies are already collapsed, so these differ
    somewhere, and no copy can be preferred over another."""
    key = list(work.spec.key)
    keyed = work.typed[key + [SOURCE_ROW]].dropna(subset=key)
    repeated = keyed[keyed.duplicated(subset=key, keep=False)]
    if repeated.empty:
        return
    copies = repeated.groupby(key, sort=False)[SOURCE_ROW]
    first, last = copies.transform("min").astype(str), copies.transform("max").astype(str)
    count = copies.transform("size")
    listing = pd.Series(
        np.where(count == 2, first + " and " + last, first + ", ..., " + last), index=count.index
    )
    key_text = work.text.loc[repeated.index, key[0]].radd(f"{key[0]}=")
    for column in key[1:]:
        key_text = key_text + f", {column}=" + work.text.loc[repeated.index, column]
    detail = (
        "key "
        + key_text
        + " appears in "
        + count.astype(str)
        + " rows with different values (source rows "
        + listing
        + ")"
    )
    work.flag(
        pd.Series(True, index=repeated.index), Rule.CONFLICTING_DUPLICATE, ", ".join(key), detail
    )


def _add_unknown_consortium(
    work: _TableWork,
    kept_consortia: pd.DataFrame,
    quarantined_consortia: pd.DataFrame,
    consortia: _TableWork,
) -> None:
    ids = work.typed["consortium_id"]
    unknown = ids.notna() & ~ids.isin(kept_consortia["consortium_id"])
    # The rule under which each set-aside consortium went (its first quarantined row).
    set_aside = quarantined_consortia.assign(
        consortium_id=consortia.text.loc[quarantined_consortia["row"], "consortium_id"].to_numpy()
    )
    rule_of = set_aside.dropna(subset="consortium_id").drop_duplicates("consortium_id")
    rule_of = rule_of.set_index("consortium_id")["rule"]

    def detail(rows: pd.Index) -> pd.Series:
        named = "consortium '" + ids[rows] + "'"
        why = ids[rows].map(rule_of)
        return (named + " is quarantined in consortia (" + why + ")").fillna(
            named + " is not in the consortia table"
        )

    work.flag(unknown, Rule.UNKNOWN_CONSORTIUM_KEY, "consortium_id", detail)


def _add_year_outside_life(panel: _TableWork, kept_consortia: pd.DataFrame) -> None:
    life = kept_consortia.set_index("consortium_id")
    ids, year = panel.typed["consortium_id"], panel.typed["year"]
    founded = ids.map(life["founded_year"]).astype("Int64")
    dissolved = (
        ids.map(life["dissolved_year"]).astype("Int64")
        if "dissolved_year" in life
        else pd.Series(pd.NA, index=ids.index, dtype="Int64")
    )
    before = (year < founded).fillna(False)
    after = (year > dissolved).fillna(False)

    def detail(rows: pd.Index) -> pd.Series:
        bound = pd.Series(
            np.where(
                before[rows],
                " is before founded_year " + founded[rows].astype(str),
                " is after dissolved_year " + dissolved[rows].astype(str),
            ),
            index=rows,
        )
        return "year " + year[rows].astype(str) + bound + " of consortium " + ids[rows]

    panel.flag(before | after, Rule.YEAR_OUTSIDE_LIFE, "year", detail)


def _add_value_overflow(
    work: _TableWork,
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


def _check_task_dates(tasks: _TableWork, censoring_date) -> list[str]:
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


def _add_multiple_leads(members: _TableWork, kept_consortia: pd.DataFrame) -> None:
    """Several lead rows in a consortium: if ``consortia.lead_org_id`` names one of them
    the others lose the flag (a fix); otherwise no lead can be chosen and all are set aside."""
    if "is_lead" not in members.typed:
        return
    passing = members.passing()
    leads = passing[passing["is_lead"].fillna(False).astype(bool)]
    leads = leads[leads.groupby("consortium_id")["member_id"].transform("size") > 1]
    if leads.empty:
        return
    lead_org = (
        kept_consortia.set_index("consortium_id")["lead_org_id"]
        if "lead_org_id" in kept_consortia
        else pd.Series(dtype=object)
    )
    named = leads["consortium_id"].map(lead_org)
    matches = (leads["member_id"] == named).fillna(False)
    n_matching = matches.groupby(leads["consortium_id"]).transform("sum")
    n_leads = leads.groupby("consortium_id")["member_id"].transform("size").astype(str)
    unresolved = n_matching == 0
    members.flag(
        unresolved,
        Rule.MULTIPLE_LEADS,
        "is_lead",
        n_leads
        + " rows flag is_lead in consortium "
        + leads["consortium_id"]
        + " and none matches consortia.lead_org_id ("
        + named.fillna("empty")
        + ")",
    )
    surplus = leads.index[(n_matching == 1) & ~matches]
    if len(surplus):
        members.typed.loc[surplus, "is_lead"] = False
        detail = (
            "is_lead set to false: "
            + n_leads[surplus]
            + " rows flag is_lead in consortium "
            + leads.loc[surplus, "consortium_id"]
            + " and consortia.lead_org_id names "
            + named[surplus]
        )
        _record_fixes(members, surplus, Fix.LEAD_FLAG_RECONCILED, "is_lead", detail)


# --- resolution: one quarantine row per broken row -------------------------------------


def _resolve(work: _TableWork) -> pd.DataFrame:
    """One row per broken table row: its first rule by priority; the detail names the rest."""
    if not work.violations:
        return pd.DataFrame(columns=["row", "rule", "column", "detail"])
    found = pd.concat(work.violations, ignore_index=True)
    column_order = {column: rank for rank, column in enumerate(work.spec.columns)}
    found["priority"] = found["rule"].map({str(rule): rank for rule, rank in RULE_PRIORITY.items()})
    found["column_rank"] = found["column"].map(column_order).fillna(len(column_order))
    found = found.sort_values(["row", "priority", "column_rank"], kind="stable")
    first = found.drop_duplicates("row").set_index("row")
    others = found[found.duplicated("row")]
    if len(others):
        labels = pd.Series(
            (others["rule"] + " (" + others["column"] + ")").to_numpy(), index=others["row"]
        )
        rank = others.groupby("row").cumcount().to_numpy()
        # Joined rank by rank: a row breaks at most a few rules, so few vectorised passes.
        also = labels[rank == 0]
        for position in range(1, rank.max() + 1):
            more = labels[rank == position]
            also.loc[more.index] = also.loc[more.index] + ", " + more
        first.loc[also.index, "detail"] = first.loc[also.index, "detail"] + "; also breaks: " + also
    return first.reset_index()[["row", "rule", "column", "detail"]]


def _quarantine_rows(work: _TableWork) -> pd.DataFrame:
    broken = _resolve(work)
    rows = broken["row"].to_numpy()
    return pd.DataFrame(
        {
            "table": work.table,
            "source_file": work.source_file,
            "source_row": work.raw.loc[rows, SOURCE_ROW].astype("Int64").to_numpy(),
            "rule": broken["rule"].to_numpy(),
            "column": broken["column"].to_numpy(),
            "detail": broken["detail"].to_numpy(),
            "record": _records(work.raw, rows),
        }
    )


def _records(raw: pd.DataFrame, rows) -> list[str]:
    """Each row's values as read, one JSON object per row."""
    if len(rows) == 0:
        return []
    values = raw.loc[rows, [c for c in raw.columns if c != SOURCE_ROW]]
    lines = values.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    # JSON escapes newlines inside strings, so a bare newline separates records.
    return lines.rstrip("\n").split("\n")


def _kept_rows(work: _TableWork) -> pd.DataFrame:
    return work.passing()[list(work.raw.columns)]


# --- fixes on kept rows ----------------------------------------------------------------


def _record_fixes(work: _TableWork, rows: pd.Index, fix: Fix, column: str, detail) -> None:
    """Fixes listed row by row, with the row's values as read."""
    work.fixes.append(
        pd.DataFrame(
            {
                "table": work.table,
                "source_file": work.source_file,
                "source_row": work.raw.loc[rows, SOURCE_ROW].astype("Int64").to_numpy(),
                "fix": str(fix),
                "column": column,
                "detail": detail.loc[rows].to_numpy() if isinstance(detail, pd.Series) else detail,
                "record": _records(work.raw, rows),
            }
        )
    )
    work.fix_counts[str(fix)] += len(rows)


def _count_fix(work: _TableWork, fix: Fix, column: str, count: int, detail: str) -> None:
    """Fixes counted, not listed: one line in the fixes table per column (and label)."""
    if count == 0:
        return
    work.fixes.append(
        pd.DataFrame(
            {
                "table": [work.table],
                "source_file": work.source_file,
                "source_row": pd.array([pd.NA], dtype="Int64"),
                "fix": str(fix),
                "column": column,
                "detail": detail,
                "record": [None],
            }
        )
    )
    work.fix_counts[str(fix)] += count


def _count_org_type_synonyms(work: _TableWork, kept: pd.DataFrame) -> None:
    for column in work.spec.org_type_columns:
        labels = work.text.loc[kept.index, column]
        mapped = labels != kept[column]
        pairs = pd.DataFrame({"label": labels[mapped], "org_type": kept.loc[mapped, column]})
        for (label, org_type), count in pairs.value_counts(sort=True).items():
            _count_fix(
                work,
                Fix.ORG_TYPE_SYNONYM,
                column,
                count,
                f"{_rows(count)}: '{label}' read as {org_type}",
            )


def _apply_industry_map(
    work: _TableWork, kept: pd.DataFrame, industry_map: Mapping[str, str] | None
) -> pd.DataFrame:
    """Harmonise industry labels; map keys are matched trimmed and lower-cased."""
    if not industry_map or "industry" not in kept:
        return kept
    lookup = {str(label).strip().lower(): target for label, target in industry_map.items()}
    harmonised = normalise_label(kept["industry"]).map(lookup)
    changed = harmonised.notna() & (harmonised != kept["industry"])
    pairs = pd.DataFrame({"label": kept.loc[changed, "industry"], "to": harmonised[changed]})
    for (label, target), count in pairs.value_counts(sort=True).items():
        _count_fix(
            work, Fix.INDUSTRY_LABEL, "industry", count, f"{_rows(count)}: '{label}' -> '{target}'"
        )
    return kept.assign(industry=harmonised.where(changed, kept["industry"]))


def _infer_task_status(work: _TableWork, tasks: pd.DataFrame) -> pd.DataFrame:
    """A task without status gets the one :func:`contract.inferred_task_status` gives."""
    inferred, has_end = inferred_task_status(tasks)
    if "status" not in tasks:
        _count_fix(
            work,
            Fix.TASK_STATUS_INFERRED,
            "status",
            len(tasks),
            f"{_rows(len(tasks))}: no status column; status inferred from end_date",
        )
        return tasks.assign(status=inferred)
    missing = tasks.index[tasks["status"].isna()]
    if len(missing):
        end_text = pd.Series(np.where(has_end, "end_date given", "no end_date"), index=tasks.index)
        detail = "status empty; set to " + inferred + " (" + end_text + ")"
        _record_fixes(work, missing, Fix.TASK_STATUS_INFERRED, "status", detail)
    return tasks.assign(status=tasks["status"].fillna(inferred))


def _money_plan(
    tables: list[str], money_cfg: Mapping | None
) -> dict[str, dict[str, tuple[str, float]]]:
    """Unit and conversion factor of every money column, checked before any work is done."""
    if not money_cfg:
        return {}
    currency = money_cfg["currency"]
    units_cfg = money_cfg.get("units") or {}
    for table, units in units_cfg.items():
        money_columns = TABLES[table].columns_of_kind(Kind.MONEY) if table in TABLES else []
        for column in units or {}:
            if column not in money_columns:
                raise ValueError(
                    f"money.units.{table}.{column}: not a money column of the contract "
                    f"(money columns: {', '.join(_all_money_columns())})"
                )
    plan = {}
    for table in tables:
        plan[table] = {}
        for column in TABLES[table].columns_of_kind(Kind.MONEY):
            unit = (
                (units_cfg.get(table) or {}).get(column)
                or money_cfg.get("default_unit")
                or currency
            )
            try:
                plan[table][column] = (unit, money.conversion_factor(unit, currency))
            except ValueError as error:
                raise ValueError(f"money unit of {table}.{column}: {error}") from error
    return {table: units for table, units in plan.items() if units}


def _all_money_columns() -> list[str]:
    return [f"{t}.{c}" for t, spec in TABLES.items() for c in spec.columns_of_kind(Kind.MONEY)]


def _convert_money(
    work: _TableWork, kept: pd.DataFrame, units: dict[str, tuple[str, float]], currency: str
) -> pd.DataFrame:
    converted = {}
    for column, (unit, factor) in units.items():
        if column not in kept:
            continue
        converted[column] = kept[column] * factor
        if factor != 1:
            count = int(kept[column].notna().sum())
            _count_fix(
                work,
                Fix.MONEY_UNIT,
                column,
                count,
                f"{count} values converted from {unit} to {currency} (x{factor:g})",
            )
    return kept.assign(**converted)


def _deflate_money(
    work: dict[str, _TableWork],
    kept: dict[str, pd.DataFrame],
    money_plan: dict[str, dict],
    deflator: Mapping,
) -> dict[str, pd.DataFrame]:
    base_year, index = deflator["base_year"], deflator["index"]
    founded = kept["consortia"].set_index("consortium_id")["founded_year"]
    price_years = {
        "panel": lambda frame: frame["year"],
        "members": lambda frame: frame["consortium_id"].map(founded),
    }
    deflated = dict(kept)
    for table, units in money_plan.items():
        frame = kept[table]
        year_of = price_years[table]
        updates = {}
        for column in units:
            if column not in frame:
                continue
            try:
                updates[column] = money.deflate(frame[column], year_of(frame), index, base_year)
            except ValueError as error:  # the same kind (a PriceIndexGap stays one), located
                raise type(error)(f"deflating {table}.{column}: {error}") from error
            count = int(frame[column].notna().sum())
            _count_fix(
                work[table],
                Fix.DEFLATED,
                column,
                count,
                f"{count} values deflated to {base_year} prices by the price index of "
                + ("the panel year" if table == "panel" else "the consortium's founded_year"),
            )
        deflated[table] = frame.assign(**updates)
    return deflated


def _decision_weight_warnings(members: pd.DataFrame) -> list[str]:
    if "decision_weight" not in members or members.empty:
        return []
    weights = members.groupby("consortium_id")["decision_weight"]
    total = weights.sum()
    complete = weights.count() == weights.size()
    off = total[complete & ((total - 1).abs() > DECISION_WEIGHT_TOLERANCE)]
    if off.empty:
        return []
    shown = ", ".join(f"{cid} ({value:.3g})" for cid, value in off.head(10).items())
    more = f" and {len(off) - 10} more" if len(off) > 10 else ""
    warning = (
        f"members: in {len(off)} consortia every member has a decision_weight but the weights "
        f"do not sum to 1 (tolerance {DECISION_WEIGHT_TOLERANCE}): {shown}{more}"
    )
    return [warning]


# --- accounting ------------------------------------------------------------------------


def _account(work: _TableWork, kept: pd.DataFrame, quarantine: pd.DataFrame) -> TableAccount:
    own = quarantine.loc[quarantine["table"] == work.table, "rule"]
    by_rule = own.value_counts()
    return TableAccount(
        table=work.table,
        source_file=work.source_file,
        rows_read=len(work.raw),
        rows_kept=len(kept),
        rows_quarantined=len(own),
        duplicates_collapsed=work.duplicates_collapsed,
        quarantined_by_rule={
            str(rule): int(by_rule[str(rule)]) for rule in Rule if str(rule) in by_rule
        },
        fixes=dict(work.fix_counts),
    )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _frame(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="Int64" if c == "source_row" else object) for c in columns}
        )
    frame = pd.concat(parts, ignore_index=True)[columns]
    frame["source_row"] = frame["source_row"].astype("Int64")
    return frame
