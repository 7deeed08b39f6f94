"""What the measures are built from: every output column's contract inputs
(:data:`MEASURE_INPUTS`, which the workflow reads to plan a run before any data is read),
the output columns, and the checks that the tables given are clean."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from consortia import network
from consortia.contract import ORG_TYPES

SHARE_COLUMNS: tuple[str, ...] = tuple(f"share_{t}" for t in ORG_TYPES)
ACADEMIC_TYPES: tuple[str, ...] = ("university", "research_institute")
CONSORTIUM_ATTRIBUTES: tuple[str, ...] = (
    "lead_type", "industry", "high_tech", "region", "programme", "founded_year",
)  # fmt: skip
# Spell end of a member still in the consortium (later than any year of the contract).
OPEN_END = 10_000

_C, _M, _P = "consortia", "members", "panel"

# Every output column of the panel but the key, in output order, with the contract
# columns (table -> columns) it needs. A measure is built iff all of them are present.
MEASURE_INPUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "lead_type": {_C: ("lead_type",)},
    "industry": {_C: ("industry",)},
    "high_tech": {_C: ("high_tech",)},
    "region": {_C: ("region",)},
    "programme": {_C: ("programme",)},
    "founded_year": {_C: ("founded_year",)},
    "age": {_C: ("founded_year",)},
    # structure
    "n_members": {_M: ("member_id",)},
    **{column: {_M: ("member_type",)} for column in SHARE_COLUMNS},
    "type_diversity": {_M: ("member_type",)},
    "lead_decision_weight": {_M: ("decision_weight",)},  # + MEASURE_ALTERNATIVES
    "decision_hhi": {_M: ("decision_weight",)},
    "equity_tie_share": {_M: ("equity_tie",)},
    "chain_coverage": {_M: ("chain_position",)},
    "has_academic_partner": {_M: ("member_type",)},
    # structure as a network (consortia.network); the lead measures also need a lead
    **{column: {_M: ("member_id",)} for column in network.NETWORK_MEASURES},
    # conduct
    "collab_events": {_P: ("collab_events",)},
    "collab_intensity": {_P: ("collab_events",), _M: ("member_id",)},
    "rd_expenditure": {_P: ("rd_expenditure",)},
    "subsidy": {_P: ("subsidy",)},
    "new_product_revenue": {_P: ("new_product_revenue",)},
    "rd_per_member": {_P: ("rd_expenditure",), _M: ("member_id",)},
    "subsidy_share": {_P: ("subsidy", "rd_expenditure")},
    "tasks_total": {_P: ("tasks_total",)},
    "tasks_industrial": {_P: ("tasks_industrial",)},
    "industrial_task_share": {_P: ("tasks_industrial", "tasks_total")},
    "shared_platform": {_P: ("shared_platform",)},
    "personnel_exchange": {_P: ("personnel_exchange",)},
    # performance
    "patents_filed": {_P: ("patents_filed",)},
    "patents_granted": {_P: ("patents_granted",)},
    "publications": {_P: ("publications",)},
    "achievements": {_P: ("achievements",)},
    "achievements_transferred": {_P: ("achievements_transferred",)},
    "standards": {_P: ("standards",)},
    "transfer_rate": {_P: ("achievements_transferred", "achievements")},
}
# Measures that need at least one of several inputs besides MEASURE_INPUTS.
_LEAD = ((_M, "is_lead"), (_C, "lead_org_id"))
MEASURE_ALTERNATIVES: dict[str, tuple[tuple[str, str], ...]] = {
    "lead_decision_weight": _LEAD,
    **{column: _LEAD for column in network.LEAD_MEASURES},
}
PANEL_COLUMNS: tuple[str, ...] = ("consortium_id", "year", *MEASURE_INPUTS)
# Panel-table columns carried into the clean panel as given.
PASS_THROUGH = tuple(
    m for m, inputs in MEASURE_INPUTS.items() if list(inputs) == [_P] and inputs[_P] == (m,)
)

TASK_COLUMNS: tuple[str, ...] = (
    "consortium_id", "task_id", "field", "status", "start_date", "end_date", "exit_date",
    "duration_days", "duration_years", "event", "censored", "lead_type", "industry",
    "high_tech",
)  # fmt: skip
# Not contract columns, carried through when the dataset has them:
# `in_consortium` false marks a comparison task run outside any consortium,
# which is what makes the organised-research claim testable.
TASK_PASSTHROUGH_COLUMNS: tuple[str, ...] = ("in_consortium",)


class MeasureInputError(ValueError):
    """The tables given to the measures break what cleaning guarantees."""



# --------------------------------------------------------------------------- #
# Which measures can be built
# --------------------------------------------------------------------------- #


def missing_inputs(measure: str, columns: Mapping[str, Iterable[str]]) -> list[str]:
    """``table.column`` inputs of ``measure`` that are absent. ``columns`` maps each table
    present to its columns (a table not in the mapping is absent)."""
    present = {table: set(cols) for table, cols in columns.items()}
    missing = [
        f"{table}.{column}"
        for table, needed in MEASURE_INPUTS[measure].items()
        for column in needed
        if column not in present.get(table, set())
    ]
    alternatives = MEASURE_ALTERNATIVES.get(measure)
    if alternatives and not any(c in present.get(t, set()) for t, c in alternatives):
        missing.append(" or ".join(f"{t}.{c}" for t, c in alternatives))
    return missing


def available_columns(
    consortia: pd.DataFrame, members: pd.DataFrame, panel: pd.DataFrame | None
) -> dict[str, list[str]]:
    available = {_C: list(consortia.columns), _M: list(members.columns)}
    if panel is not None:
        available[_P] = list(panel.columns)
    return available

# --------------------------------------------------------------------------- #
# Input checks
# --------------------------------------------------------------------------- #


def require_columns(frame: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise MeasureInputError(f"the {table} table lacks required column(s) {', '.join(absent)}")
    for column in columns:
        empty = int(frame[column].isna().sum())
        if empty:
            raise MeasureInputError(
                f"{table}.{column} is empty in {empty} row(s); measures expect cleaned tables"
            )


def require_unique_keys(codes: list[np.ndarray], table: str, what: str) -> None:
    key = pd.DataFrame({str(i): c for i, c in enumerate(codes)})
    duplicated = int(key.duplicated().sum())
    if duplicated:
        raise MeasureInputError(f"{table}: {duplicated} duplicate {what} key(s)")


def sorted_consortia(consortia: pd.DataFrame) -> pd.DataFrame:
    """Consortia sorted by id (their position is the consortium code used below)."""
    require_columns(consortia, _C, ("consortium_id", "lead_type", "founded_year"))
    cons = consortia.sort_values("consortium_id", kind="mergesort").reset_index(drop=True)
    if cons["consortium_id"].duplicated().any():
        dup = cons.loc[cons["consortium_id"].duplicated(), "consortium_id"].iloc[0]
        raise MeasureInputError(f"consortia: consortium_id {dup!r} appears more than once")
    return cons


def consortium_codes(ids: pd.Series, cons: pd.DataFrame, table: str) -> np.ndarray:
    codes = pd.Index(cons["consortium_id"]).get_indexer(ids)
    if (codes < 0).any():
        unknown = pd.unique(ids[codes < 0])[:5]
        raise MeasureInputError(
            f"{table}: {int((codes < 0).sum())} row(s) refer to consortia not in the "
            f"consortia table (e.g. {', '.join(map(repr, unknown))})"
        )
    return codes.astype(np.int64)


def filled_years(values: pd.Series, fill: np.ndarray | int) -> np.ndarray:
    out = values.to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(out), fill, out).astype(np.int64)


def dissolved_years(cons: pd.DataFrame) -> np.ndarray:
    if "dissolved_year" not in cons:
        return np.full(len(cons), OPEN_END, dtype=np.int64)
    return filled_years(cons["dissolved_year"], OPEN_END)
