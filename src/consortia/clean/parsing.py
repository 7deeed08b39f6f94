"""Steps 1 and 2 of cleaning: values trimmed, exact copies collapsed, and each contract
column parsed into its type (``type_mismatch``, ``unknown_org_type``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype, take

from consortia.clean.work import TableWork
from consortia.contract import (
    Kind,
    Rule,
    TableSpec,
    normalise_label,
    normalise_org_type,
)
from consortia.io import SOURCE_ROW, ContractError, as_text

if TYPE_CHECKING:
    pass


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


def parse_table(
    spec: TableSpec, frame: pd.DataFrame, source_file: str, synonyms: Mapping[str, str]
) -> TableWork:
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
    work = TableWork(
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
