"""Derived measures: the consortium-year panel and the task (breakthrough-cycle) durations.

Inputs are the cleaned tables of ``clean.clean_dataset`` (contract column names, typed,
kept rows only). Extra columns (``source_row``, a user's own) are ignored. Any optional
contract column may be absent: a measure whose inputs are absent is left out of the
output (not filled with NaN), and :func:`panel_metadata` says which measures were
skipped and which ``table.column`` caused it (``MEASURE_INPUTS`` lists the inputs of
every output column; the workflow reads it to plan a run before any data is read).

The clean panel (``build_panel``), one row per consortium x year
----------------------------------------------------------------
Rows (docs/design.md "The clean panel"):

* a consortium with rows in the ``panel`` table gets exactly those years (they lie
  within its life: cleaning quarantines the others, and ``build_panel`` refuses rows
  outside it);
* a consortium without panel rows gets a structure-only row for every year of the
  window it was alive: ``max(founded_year, first) .. min(dissolved_year, last)``.
  The window ``(first, last)`` is the panel table's year range; without a panel table
  (or with an empty one) it runs from the earliest ``founded_year`` to the latest year
  recorded anywhere in ``consortia`` / ``members`` (founded, dissolved, join and exit
  years). ``years=(first, last)`` sets it explicitly (and then also drops panel rows
  outside it, because the caller asked for it).

Membership spells: a member is active in year t when ``join_year <= t <= exit_year``;
an empty ``join_year`` is the consortium's ``founded_year``, an empty ``exit_year``
means still a member. All structure measures are over the members active in the year.

Decisions a user should know:

* zero denominators give NaN, never inf (``safe_ratio``); a consortium-year with no
  active member has ``n_members = 0`` and NaN shares, diversity, HHI, equity-tie share,
  chain coverage, member-based intensities, and ``<NA>`` ``has_academic_partner``;
* ``lead_decision_weight`` is the lead's ``decision_weight`` as given (not renormalised),
  in the years the lead member is active, NaN otherwise or when unknown. The lead is
  the member flagged ``is_lead``; if a consortium has no flagged member (or the column
  is absent) the member whose ``member_id`` is ``consortia.lead_org_id``; if several
  are flagged, the flagged one matching ``lead_org_id``, else unknown;
* ``decision_hhi`` = sum of squared weights of the active members renormalised to sum
  to one; NaN unless every active member has a weight (and their sum is positive);
* ``equity_tie_share`` is over the active members whose ``equity_tie`` is known (a blank
  cell is unknown, not false); NaN when none is known;
* ``chain_coverage`` counts distinct known chain positions among active members / 3
  (members without a position, e.g. government bodies, simply add none);
* besides the design's columns the panel carries the ratio inputs ``collab_events``,
  ``tasks_total`` and ``tasks_industrial`` as given (count models and weights need them);
* the network measures (``lead_prior_led``, ``lead_prior_joined``,
  ``lead_prior_partners``, ``lead_effective_size``, ``repeat_tie_share``) come from the
  graph of organisations across consortia before each consortium was founded
  (:mod:`consortia.network`: definitions, and why nothing looks ahead);
* keys and time: ``year``, ``founded_year``, ``age``, ``n_members`` are int64; counts
  from the panel table keep their nullable Int64, money float64, flags pandas
  ``boolean``; every ratio is float64 with NaN.

Tasks (``build_tasks``), one row per task
-----------------------------------------
``exit_date`` is ``end_date``, or the censoring date when ``end_date`` is empty. The
censoring date is the configured one or, by default, the latest date (start or end) in
the tasks table. ``event`` = 1 iff the task was achieved, else 0; ``censored = 1 - event``
(ongoing tasks are censored at the censoring date, abandoned ones at their end date).
With a configured date earlier than some dates in the data, censoring is administrative:
a task ending after the date is treated as still running then (exit = censoring date,
event 0), and a task starting after it was not yet at risk (no exit date, no duration,
event 0). A closed (achieved/abandoned) task without an end date has no exit date and
no duration. ``duration_days`` = exit - start in days (float64), ``duration_years`` =
days / 365.25. A missing status is inferred (``achieved`` with an end date, ``ongoing``
without) and recorded as a ``task_status_inferred`` fix (clean.py already does this, so
after cleaning there is nothing left to infer): ``build_tasks(..., return_fixes=True)``
returns ``(tasks, fixes)``; ``tasks_metadata`` counts censoring reasons.

Everything is vectorised over the tables (no Python loop over consortia, members or
tasks): the membership sums of every consortium-year come from +v / -v events at the
start and one-past-the-end of each member's spell on a dense year grid, cumulated
within each consortium.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from consortia import network
from consortia.contract import CHAIN_POSITIONS, ORG_TYPES, TASK_STATUSES, Fix

__all__ = [
    "ACADEMIC_TYPES",
    "FIX_COLUMNS",
    "MEASURE_ALTERNATIVES",
    "MEASURE_INPUTS",
    "PANEL_COLUMNS",
    "SHARE_COLUMNS",
    "TASK_COLUMNS",
    "TASK_PASSTHROUGH_COLUMNS",
    "MeasureInputError",
    "blau_index",
    "build_panel",
    "build_tasks",
    "censoring_date_of",
    "chain_coverage",
    "collab_intensity",
    "decision_hhi",
    "equity_tie_share",
    "has_academic_partner",
    "hhi",
    "industrial_task_share",
    "infer_task_status",
    "lead_decision_weight",
    "member_spells",
    "missing_inputs",
    "network_inputs",
    "panel_metadata",
    "panel_skeleton",
    "panel_window",
    "rd_per_member",
    "resolve_lead",
    "safe_ratio",
    "spell_sums",
    "subsidy_share",
    "tasks_metadata",
    "transfer_rate",
    "type_shares",
]

SHARE_COLUMNS: tuple[str, ...] = tuple(f"share_{t}" for t in ORG_TYPES)
ACADEMIC_TYPES: tuple[str, ...] = ("university", "research_institute")
CONSORTIUM_ATTRIBUTES: tuple[str, ...] = (
    "lead_type", "industry", "high_tech", "region", "programme", "founded_year",
)  # fmt: skip
# Spell end of a member still in the consortium (later than any year of the contract).
_OPEN_END = 10_000
_DAYS_PER_YEAR = 365.25

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
_PASS_THROUGH = tuple(
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
# As clean.FIX_COLUMNS, so task fixes can be appended to fixes.csv.
FIX_COLUMNS = ["table", "source_file", "source_row", "fix", "column", "detail", "record"]


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


def _available(
    consortia: pd.DataFrame, members: pd.DataFrame, panel: pd.DataFrame | None
) -> dict[str, list[str]]:
    available = {_C: list(consortia.columns), _M: list(members.columns)}
    if panel is not None:
        available[_P] = list(panel.columns)
    return available


# --------------------------------------------------------------------------- #
# Measures on aggregated quantities (vectorised; each testable on its own)
# --------------------------------------------------------------------------- #


def _float(values) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(values, dtype="float64")


def _index_of(*values) -> pd.Index | None:
    for value in values:
        if isinstance(value, (pd.Series, pd.DataFrame)):
            return value.index
    return None


def safe_ratio(numerator, denominator) -> pd.Series:
    """numerator / denominator as float64; NaN where either is missing or the denominator
    is zero (never inf)."""
    num, den = _float(numerator), _float(denominator)
    num, den = np.broadcast_arrays(num, den)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=np.isfinite(num) & np.isfinite(den) & (den != 0))
    return pd.Series(out, index=_index_of(numerator, denominator), dtype="float64")


def type_shares(type_counts: pd.DataFrame, n_members) -> pd.DataFrame:
    """Share of each organisation type among the active members: ``share_<type>`` =
    count of that type / n_members (NaN when n_members = 0). ``type_counts`` has one
    column per type of ``ORG_TYPES``."""
    return pd.DataFrame(
        {f"share_{t}": safe_ratio(type_counts[t], n_members).to_numpy() for t in ORG_TYPES},
        index=type_counts.index,
    )


def blau_index(shares) -> pd.Series:
    """Blau diversity 1 - sum of squared shares, row-wise (NaN if any share is NaN).

    E.g. shares (2/3, 1/3, 0, 0, 0): 1 - (4/9 + 1/9) = 4/9."""
    values = np.atleast_2d(
        _float(shares)
        if not isinstance(shares, pd.DataFrame)
        else shares.to_numpy(dtype="float64", na_value=np.nan)
    )
    return pd.Series(1.0 - (values**2).sum(axis=1), index=_index_of(shares), dtype="float64")


def hhi(weights) -> float:
    """HHI of one set of weights renormalised to sum to one: sum (w / sum w)^2. NaN if a
    weight is missing, there is none, or they sum to zero."""
    w = pd.Series(weights, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)
    if w.size == 0 or np.isnan(w).any() or w.sum() == 0:
        return float("nan")
    return float(((w / w.sum()) ** 2).sum())


def decision_hhi(sum_weights, sum_squared_weights, n_missing_weights) -> pd.Series:
    """HHI of the active members' weights renormalised to sum to one,
    sum w^2 / (sum w)^2, from their sums; NaN where a weight is missing (or none is
    given, or they sum to zero)."""
    ratio = safe_ratio(sum_squared_weights, _float(sum_weights) ** 2)
    ratio[_float(n_missing_weights) != 0] = np.nan
    return ratio


def lead_decision_weight(lead_weight, lead_weight_known) -> pd.Series:
    """The active lead's weight where exactly one active lead with a known weight is
    counted (``lead_weight_known`` = 1), else NaN."""
    value = np.where(_float(lead_weight_known) == 1, _float(lead_weight), np.nan)
    return pd.Series(value, index=_index_of(lead_weight, lead_weight_known), dtype="float64")


def equity_tie_share(n_with_tie, n_known) -> pd.Series:
    """Active members with an equity tie / active members whose equity_tie is known."""
    return safe_ratio(n_with_tie, n_known)


def chain_coverage(position_counts: pd.DataFrame, n_members) -> pd.Series:
    """Distinct chain positions among the active members / 3 (counts per position in
    ``position_counts``, one column per position); NaN when there is no active member."""
    covered = (position_counts.to_numpy(dtype="float64") > 0).sum(axis=1)
    out = pd.Series(covered / len(CHAIN_POSITIONS), index=position_counts.index)
    out[_float(n_members) == 0] = np.nan
    return out


def has_academic_partner(n_university, n_research_institute, n_members) -> pd.Series:
    """Any active university or research institute (the lead included); <NA> when there
    is no active member."""
    n = _float(n_members)
    value = pd.array((_float(n_university) + _float(n_research_institute)) > 0, dtype="boolean")
    value[n == 0] = pd.NA
    return pd.Series(value, index=_index_of(n_university, n_research_institute, n_members))


def collab_intensity(collab_events, n_members) -> pd.Series:
    """Collaboration events per active member."""
    return safe_ratio(collab_events, n_members)


def rd_per_member(rd_expenditure, n_members) -> pd.Series:
    """R&D expenditure per active member (the contract's R&D intensity)."""
    return safe_ratio(rd_expenditure, n_members)


def subsidy_share(subsidy, rd_expenditure) -> pd.Series:
    """Subsidy / R&D expenditure (not capped at one)."""
    return safe_ratio(subsidy, rd_expenditure)


def industrial_task_share(tasks_industrial, tasks_total) -> pd.Series:
    """Tasks set by industrial demand / all tasks (NaN when tasks_total = 0)."""
    return safe_ratio(tasks_industrial, tasks_total)


def transfer_rate(achievements_transferred, achievements) -> pd.Series:
    """Achievements transferred / achievements (NaN when achievements = 0)."""
    return safe_ratio(achievements_transferred, achievements)


# --------------------------------------------------------------------------- #
# Input checks
# --------------------------------------------------------------------------- #


def _require(frame: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise MeasureInputError(f"the {table} table lacks required column(s) {', '.join(absent)}")
    for column in columns:
        empty = int(frame[column].isna().sum())
        if empty:
            raise MeasureInputError(
                f"{table}.{column} is empty in {empty} row(s); measures expect cleaned tables"
            )


def _unique_keys(codes: list[np.ndarray], table: str, what: str) -> None:
    key = pd.DataFrame({str(i): c for i, c in enumerate(codes)})
    duplicated = int(key.duplicated().sum())
    if duplicated:
        raise MeasureInputError(f"{table}: {duplicated} duplicate {what} key(s)")


def _prepare_consortia(consortia: pd.DataFrame) -> pd.DataFrame:
    """Consortia sorted by id (their position is the consortium code used below)."""
    _require(consortia, _C, ("consortium_id", "lead_type", "founded_year"))
    cons = consortia.sort_values("consortium_id", kind="mergesort").reset_index(drop=True)
    if cons["consortium_id"].duplicated().any():
        dup = cons.loc[cons["consortium_id"].duplicated(), "consortium_id"].iloc[0]
        raise MeasureInputError(f"consortia: consortium_id {dup!r} appears more than once")
    return cons


def _codes(ids: pd.Series, cons: pd.DataFrame, table: str) -> np.ndarray:
    codes = pd.Index(cons["consortium_id"]).get_indexer(ids)
    if (codes < 0).any():
        unknown = pd.unique(ids[codes < 0])[:5]
        raise MeasureInputError(
            f"{table}: {int((codes < 0).sum())} row(s) refer to consortia not in the "
            f"consortia table (e.g. {', '.join(map(repr, unknown))})"
        )
    return codes.astype(np.int64)


def _years(values: pd.Series, fill: np.ndarray | int) -> np.ndarray:
    out = values.to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(out), fill, out).astype(np.int64)


def _dissolved(cons: pd.DataFrame) -> np.ndarray:
    if "dissolved_year" not in cons:
        return np.full(len(cons), _OPEN_END, dtype=np.int64)
    return _years(cons["dissolved_year"], _OPEN_END)


# --------------------------------------------------------------------------- #
# Rows of the panel
# --------------------------------------------------------------------------- #


def panel_window(
    consortia: pd.DataFrame, members: pd.DataFrame | None = None, panel: pd.DataFrame | None = None
) -> tuple[int, int, str]:
    """``(first, last, source)``: the panel table's year range or, without panel rows, the
    earliest founded_year to the latest year recorded in consortia / members."""
    if panel is not None and len(panel) and panel["year"].notna().any():
        return int(panel["year"].min()), int(panel["year"].max()), "panel table"
    if not consortia["founded_year"].notna().any():
        return 0, -1, "no consortia (empty window)"
    first = int(consortia["founded_year"].min())
    candidates = [consortia["founded_year"]]
    candidates += [consortia[c] for c in ("dissolved_year",) if c in consortia]
    if members is not None:
        candidates += [members[c] for c in ("join_year", "exit_year") if c in members]
    last = int(max(s.max() for s in candidates if s.notna().any()))
    return first, last, "consortia and members (no panel rows)"


def panel_skeleton(
    cons: pd.DataFrame,
    panel: pd.DataFrame | None,
    window: tuple[int, int],
    *,
    restrict_panel: bool = False,
) -> pd.DataFrame:
    """The consortium-years, sorted: ``_code`` (position in the id-sorted ``cons``),
    ``year`` and ``_prow`` (row of ``panel``, -1 for a structure-only row)."""
    first, last = window
    founded = cons["founded_year"].to_numpy(dtype=np.int64)
    dissolved = _dissolved(cons)
    has_panel = np.zeros(len(cons), dtype=bool)
    parts = []
    if panel is not None and len(panel):
        _require(panel, _P, ("consortium_id", "year"))
        pcode = _codes(panel["consortium_id"], cons, _P)
        pyear = panel["year"].to_numpy(dtype=np.int64)
        prow = np.arange(len(panel), dtype=np.int64)
        _unique_keys([pcode, pyear], _P, "(consortium_id, year)")
        outside = (pyear < founded[pcode]) | (pyear > dissolved[pcode])
        if outside.any():
            raise MeasureInputError(
                f"panel: {int(outside.sum())} row(s) with a year outside the consortium's "
                "life (founded_year..dissolved_year); clean.py quarantines them"
            )
        if restrict_panel:
            keep = (pyear >= first) & (pyear <= last)
            pcode, pyear, prow = pcode[keep], pyear[keep], prow[keep]
        has_panel[pcode] = True
        parts.append((pcode, pyear, prow))
    lo = np.maximum(founded, first)
    hi = np.minimum(dissolved, last)
    length = np.where(has_panel, 0, np.clip(hi - lo + 1, 0, None))
    code = np.repeat(np.arange(len(cons), dtype=np.int64), length)
    offset = np.cumsum(length) - length
    year = (
        np.repeat(lo, length) + np.arange(length.sum(), dtype=np.int64) - np.repeat(offset, length)
    )
    parts.append((code, year, np.full(code.size, -1, dtype=np.int64)))
    code, year, prow = (np.concatenate(p) for p in zip(*parts))
    order = np.lexsort((year, code))
    return pd.DataFrame({"_code": code[order], "year": year[order], "_prow": prow[order]})


# --------------------------------------------------------------------------- #
# Membership: spells and sums over active members
# --------------------------------------------------------------------------- #


def member_spells(members: pd.DataFrame, founded_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last year of each member's spell: join_year (empty = the consortium's
    ``founded_year``, given per member row) to exit_year (empty = still a member)."""
    founded_year = np.asarray(founded_year, dtype=np.int64)
    start = _years(members["join_year"], founded_year) if "join_year" in members else founded_year
    end = (
        _years(members["exit_year"], _OPEN_END)
        if "exit_year" in members
        else np.full(len(members), _OPEN_END, dtype=np.int64)
    )
    return start, end


def spell_sums(
    values: pd.DataFrame | Mapping[str, np.ndarray],
    member_code: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    row_code: np.ndarray,
    row_year: np.ndarray,
) -> pd.DataFrame:
    """For each row (consortium code, year) -- sorted by code then year -- the sum of each
    column of ``values`` (one value per member, no missing values) over the members of
    that consortium whose spell ``start <= year <= end`` covers the year.

    Each consortium's rows span a dense year grid first..last row year; every member adds
    +v at the first grid year of its spell and -v one year after its last, and the grid is
    cumulated within each consortium. Cost O((members + grid years) x columns); the only
    Python loop runs over the position of a year within a consortium (at most the number
    of years), never over consortia or members.
    """
    columns = list(values.keys())
    row_code = np.asarray(row_code, dtype=np.int64)
    row_year = np.asarray(row_year, dtype=np.int64)
    n_rows = row_code.size
    if n_rows == 0:
        return pd.DataFrame(np.zeros((0, len(columns))), columns=columns)
    step_code, step_year = np.diff(row_code), np.diff(row_year)
    if (step_code < 0).any() or ((step_year <= 0) & (step_code == 0)).any():
        raise ValueError("spell_sums: rows must be sorted by code then year, without repeats")
    new_block = np.r_[True, step_code != 0]
    first_row = np.flatnonzero(new_block)
    last_row = np.r_[first_row[1:] - 1, n_rows - 1]
    block_code = row_code[first_row]
    block_start, block_end = row_year[first_row], row_year[last_row]
    block_len = block_end - block_start + 1
    block_offset = np.cumsum(block_len) - block_len
    n_dense = int(block_len.sum())

    member_code = np.asarray(member_code, dtype=np.int64)
    size = max(int(block_code.max()), int(member_code.max(initial=0))) + 1
    block_of_code = np.full(size, -1, dtype=np.int64)
    block_of_code[block_code] = np.arange(block_code.size)
    member_block = block_of_code[member_code]
    inside = member_block >= 0
    mb = np.where(inside, member_block, 0)
    s = np.maximum(np.asarray(start, dtype=np.int64), block_start[mb])
    e = np.minimum(np.asarray(end, dtype=np.int64), block_end[mb])
    opens = inside & (s <= e)
    closes = opens & (e < block_end[mb])
    pos_open = (block_offset[mb] + s - block_start[mb])[opens]
    pos_close = (block_offset[mb] + e + 1 - block_start[mb])[closes]

    # Column-major: every column is filled and cumulated on its own, contiguously.
    dense = np.empty((n_dense, len(columns)), order="F")
    for j, column in enumerate(columns):
        v = np.asarray(values[column], dtype="float64")
        if np.isnan(v).any():
            raise ValueError(f"spell_sums: column {column!r} has missing values")
        dense[:, j] = np.bincount(pos_open, weights=v[opens], minlength=n_dense)
        dense[:, j] -= np.bincount(pos_close, weights=v[closes], minlength=n_dense)
    # Cumulate within consortia: the grid year at position k of its block adds the one at
    # k - 1 (positions in increasing order: the same additions as a per-block cumsum).
    position = np.arange(n_dense) - np.repeat(block_offset, block_len)
    by_position = np.argsort(position, kind="stable")
    bounds = np.cumsum(np.bincount(position))
    for k in range(1, bounds.size):
        at_k = by_position[bounds[k - 1] : bounds[k]]
        before = at_k - 1
        for j in range(len(columns)):
            column = dense[:, j]
            column[at_k] += column[before]
    row_block = np.cumsum(new_block) - 1
    rows = block_offset[row_block] + row_year - block_start[row_block]
    return pd.DataFrame(dense[rows], columns=columns)


def resolve_lead(
    members: pd.DataFrame, cons: pd.DataFrame, member_code: np.ndarray | None = None
) -> tuple[np.ndarray, pd.Series]:
    """Which member row is its consortium's lead, and how each consortium's lead was found.

    Returns a boolean array over ``members`` rows and a Series indexed like ``cons`` with
    ``"is_lead"``, ``"lead_org_id"`` or ``"unknown"``. Rule: the one member flagged
    ``is_lead``; none flagged -> the member whose id is ``lead_org_id``; several flagged ->
    the flagged one matching ``lead_org_id``, else unknown.
    """
    if member_code is None:
        member_code = _codes(members["consortium_id"], cons, _M)
    n = len(cons)
    if "is_lead" in members:
        flag = members["is_lead"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        flag = np.zeros(len(members), dtype=bool)
    if "lead_org_id" in cons:
        # Compare ids as codes of one factorisation (missing ids get -1 and match nothing).
        lead_id = cons["lead_org_id"].astype(object).take(member_code).reset_index(drop=True)
        member_id = members["member_id"].astype(object).reset_index(drop=True)
        codes, _ = pd.factorize(pd.concat([member_id, lead_id], ignore_index=True))
        member_codes, lead_codes = codes[: len(members)], codes[len(members) :]
        matches = (lead_codes >= 0) & (member_codes == lead_codes)
    else:
        matches = np.zeros(len(members), dtype=bool)
    n_flag = np.bincount(member_code, weights=flag, minlength=n).astype(np.int64)
    n_flag_match = np.bincount(member_code, weights=flag & matches, minlength=n).astype(np.int64)
    n_match = np.bincount(member_code, weights=matches, minlength=n).astype(np.int64)
    nf, nfm = n_flag[member_code], n_flag_match[member_code]
    lead = np.where(nf == 1, flag, np.where(nf > 1, flag & matches & (nfm == 1), matches))
    source = np.select(
        [(n_flag == 1) | ((n_flag > 1) & (n_flag_match == 1)), (n_flag == 0) & (n_match >= 1)],
        ["is_lead", "lead_org_id"],
        "unknown",
    )
    return lead.astype(bool), pd.Series(source, index=cons.index, dtype=object)


def _member_values(
    members: pd.DataFrame, cons: pd.DataFrame, member_code: np.ndarray, build: set[str]
) -> dict[str, np.ndarray]:
    """Per-member quantities whose sums over active members give the structure measures."""
    values = {"n": np.ones(len(members))}
    mtype = members["member_type"]
    for t in ORG_TYPES:
        values[f"type_{t}"] = mtype.isin([t]).to_numpy(dtype=float)
    if "decision_hhi" in build or "lead_decision_weight" in build:
        w = members["decision_weight"].to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(w)
        w0 = np.where(known, w, 0.0)
        values.update(w=w0, w2=w0**2, w_missing=(~known).astype(float))
        if "lead_decision_weight" in build:
            lead, _ = resolve_lead(members, cons, member_code)
            values.update(lead_w=np.where(lead, w0, 0.0), lead_w_known=(lead & known).astype(float))
    if "equity_tie_share" in build:
        tie = members["equity_tie"].astype("boolean")
        values.update(
            tie=tie.fillna(False).to_numpy(dtype=float),
            tie_known=tie.notna().to_numpy(dtype=float),
        )
    if "chain_coverage" in build:
        position = members["chain_position"]
        unknown = position.notna() & ~position.isin(CHAIN_POSITIONS)
        if unknown.any():
            raise MeasureInputError(
                f"members.chain_position: {sorted(set(map(str, position[unknown])))[:5]} "
                f"not in {', '.join(CHAIN_POSITIONS)}"
            )
        for p in CHAIN_POSITIONS:
            values[f"chain_{p}"] = position.isin([p]).to_numpy(dtype=float)
    return values


def _structure(
    skeleton: pd.DataFrame, cons: pd.DataFrame, members: pd.DataFrame, build: set[str]
) -> dict[str, pd.Series | np.ndarray]:
    _require(members, _M, ("consortium_id", "member_id", "member_type"))
    member_code = _codes(members["consortium_id"], cons, _M)
    _unique_keys(
        [member_code, pd.factorize(members["member_id"])[0]], _M, "(consortium_id, member_id)"
    )
    mtype = members["member_type"]
    unknown = ~mtype.isin(ORG_TYPES)
    if unknown.any():
        raise MeasureInputError(
            f"members.member_type: {sorted(set(map(str, mtype[unknown])))[:5]} not in "
            f"{', '.join(ORG_TYPES)} (normalised by clean.py)"
        )
    founded = cons["founded_year"].to_numpy(dtype=np.int64)[member_code]
    start, end = member_spells(members, founded)
    sums = spell_sums(
        _member_values(members, cons, member_code, build),
        member_code, start, end,
        skeleton["_code"].to_numpy(), skeleton["year"].to_numpy(),
    )  # fmt: skip
    n = sums["n"]
    out: dict[str, pd.Series | np.ndarray] = {"n_members": n.to_numpy().round().astype(np.int64)}
    counts = sums[[f"type_{t}" for t in ORG_TYPES]].set_axis(list(ORG_TYPES), axis=1)
    shares = type_shares(counts, n)
    out.update({c: shares[c].to_numpy() for c in SHARE_COLUMNS})
    out["type_diversity"] = blau_index(shares).to_numpy()
    if "lead_decision_weight" in build:
        out["lead_decision_weight"] = lead_decision_weight(
            sums["lead_w"], sums["lead_w_known"]
        ).to_numpy()
    if "decision_hhi" in build:
        hhi_values = decision_hhi(sums["w"], sums["w2"], sums["w_missing"])
        out["decision_hhi"] = np.where(n.to_numpy() == 0, np.nan, hhi_values.to_numpy())
    if "equity_tie_share" in build:
        out["equity_tie_share"] = equity_tie_share(sums["tie"], sums["tie_known"]).to_numpy()
    if "chain_coverage" in build:
        positions = sums[[f"chain_{p}" for p in CHAIN_POSITIONS]]
        out["chain_coverage"] = chain_coverage(positions, n).to_numpy()
    out["has_academic_partner"] = has_academic_partner(
        sums["type_university"], sums["type_research_institute"], n
    ).array
    return out


def network_inputs(
    consortia: pd.DataFrame, members: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :mod:`consortia.network` needs from clean tables: the consortia sorted by id,
    each member row's consortium code, its spell (``member_spells``) and whether it is the
    lead (``resolve_lead``)."""
    cons = _prepare_consortia(consortia)
    _require(members, _M, ("consortium_id", "member_id"))
    member_code = _codes(members["consortium_id"], cons, _M)
    founded = cons["founded_year"].to_numpy(dtype=np.int64)
    start, end = member_spells(members, founded[member_code])
    lead, _ = resolve_lead(members, cons, member_code)
    return cons, member_code, start, end, lead


def _network(
    skeleton: pd.DataFrame, consortia: pd.DataFrame, members: pd.DataFrame, build: set[str]
) -> dict[str, np.ndarray]:
    """The network measures of each consortium-year row of ``skeleton``."""
    cons, member_code, start, end, lead = network_inputs(consortia, members)
    net = network.member_network(
        member_code, pd.factorize(members["member_id"])[0], start, end, lead,
        cons["founded_year"].to_numpy(dtype=np.int64),
    )  # fmt: skip
    code = skeleton["_code"].to_numpy()
    out = {}
    if build & set(network.LEAD_MEASURES):
        by_consortium = network.lead_measures(net)
        out.update({c: by_consortium[c].to_numpy()[code] for c in network.LEAD_MEASURES})
    if "repeat_tie_share" in build:
        sums = spell_sums(
            network.repeat_tie_sums(net), net.pair_consortium, net.pair_start, net.pair_end,
            code, skeleton["year"].to_numpy(),
        )  # fmt: skip
        out["repeat_tie_share"] = safe_ratio(sums["repeat_pairs"], sums["pairs"]).to_numpy()
    return {c: v for c, v in out.items() if c in build}


# --------------------------------------------------------------------------- #
# The panel
# --------------------------------------------------------------------------- #


def build_panel(
    consortia: pd.DataFrame,
    members: pd.DataFrame,
    panel: pd.DataFrame | None = None,
    *,
    years: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """The clean consortium-year panel (module docstring: rows, definitions, decisions).

    Columns: ``PANEL_COLUMNS`` in that order, less the measures whose inputs are absent
    (``missing_inputs``). Sorted by consortium_id, year; index 0..n-1.
    """
    available = _available(consortia, members, panel)
    build = {m for m in MEASURE_INPUTS if not missing_inputs(m, available)}
    cons = _prepare_consortia(consortia)
    window = tuple(years) if years is not None else panel_window(cons, members, panel)[:2]
    skeleton = panel_skeleton(cons, panel, window, restrict_panel=years is not None)
    code = skeleton["_code"].to_numpy()
    year = skeleton["year"].to_numpy()

    columns: dict[str, object] = {
        "consortium_id": cons["consortium_id"].take(code).array,
        "year": year,
    }
    for attribute in CONSORTIUM_ATTRIBUTES:
        if attribute in build:
            columns[attribute] = cons[attribute].take(code).array
    founded = cons["founded_year"].to_numpy(dtype=np.int64)[code]
    columns["founded_year"] = founded
    columns["age"] = year - founded

    structure = _structure(skeleton, cons, members, build)
    columns.update({k: v for k, v in structure.items() if k in build})
    if build & set(network.NETWORK_MEASURES):
        columns.update(_network(skeleton, cons, members, build))
    n_members = structure["n_members"]

    if panel is not None:
        # Panel values on the panel's rows (structure-only rows get missing values).
        values = panel.reset_index(drop=True).reindex(skeleton["_prow"].to_numpy())
        values = values.reset_index(drop=True)
        columns.update({c: values[c].array for c in _PASS_THROUGH if c in build})
        ratios = {
            "collab_intensity": (collab_intensity, "collab_events", n_members),
            "rd_per_member": (rd_per_member, "rd_expenditure", n_members),
            "subsidy_share": (subsidy_share, "subsidy", "rd_expenditure"),
            "industrial_task_share": (industrial_task_share, "tasks_industrial", "tasks_total"),
            "transfer_rate": (transfer_rate, "achievements_transferred", "achievements"),
        }
        for measure, (function, numerator, denominator) in ratios.items():
            if measure in build:
                if isinstance(denominator, str):
                    denominator = values[denominator]
                columns[measure] = function(values[numerator], denominator).to_numpy()

    order = [c for c in PANEL_COLUMNS if c in columns]
    return pd.DataFrame({c: columns[c] for c in order})


def panel_metadata(
    panel: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    years: tuple[int, int] | None = None,
) -> dict:
    """What ``build_panel`` built from ``tables`` (JSON-ready): measures built and skipped
    (with the missing ``table.column`` inputs), measures built but missing in every row,
    missing values per measure, row counts, the year window and its source, and how the
    lead of each consortium was identified."""
    consortia, members, given = tables[_C], tables[_M], tables.get(_P)
    available = _available(consortia, members, given)
    skipped = {}
    for measure in MEASURE_INPUTS:
        missing = missing_inputs(measure, available)
        if not missing:
            continue
        absent_tables = sorted({m.split(".")[0] for m in missing} - set(available))
        reason = (
            f"no {', '.join(absent_tables)} table"
            if absent_tables
            else "input column(s) absent: " + ", ".join(missing)
        )
        skipped[measure] = {"missing": missing, "reason": reason}
    built = [m for m in MEASURE_INPUTS if m in panel.columns]
    cons = _prepare_consortia(consortia)
    if years is not None:
        first, last, source = int(years[0]), int(years[1]), "set by the caller"
    else:
        first, last, source = panel_window(cons, members, given)

    with_panel_row = 0
    if given is not None and len(given) and len(panel):
        keys = pd.MultiIndex.from_frame(given[["consortium_id", "year"]].astype({"year": "int64"}))
        rows = pd.MultiIndex.from_frame(panel[["consortium_id", "year"]].astype({"year": "int64"}))
        with_panel_row = int(rows.isin(keys).sum())
    n_consortia = int(panel["consortium_id"].nunique()) if len(panel) else 0
    member_code = _codes(members["consortium_id"], cons, _M)
    _, lead_source = resolve_lead(members, cons, member_code)
    return {
        "built": built,
        "skipped": skipped,
        "all_missing": [m for m in built if len(panel) and panel[m].isna().all()],
        "missing_values": {m: int(panel[m].isna().sum()) for m in built},
        "rows": {
            "consortium_years": len(panel),
            "with_panel_row": with_panel_row,
            "structure_only": len(panel) - with_panel_row,
            "consortia": n_consortia,
            "consortia_in_input": len(cons),
            "consortia_without_rows": len(cons) - n_consortia,
        },
        "years": [int(panel["year"].min()), int(panel["year"].max())] if len(panel) else [],
        "window": {"first": first, "last": last, "source": source},
        "lead_identified_by": {
            k: int(v) for k, v in lead_source.value_counts().sort_index().items()
        },
        "definitions": {
            "rows": "panel-table years of each consortium; consortia without panel rows: "
            "every year of the window they were alive",
            "membership": "active in year t when join_year <= t <= exit_year (empty join = "
            "founded_year, empty exit = still a member)",
            "zero_denominator": "NaN",
        },
    }


# --------------------------------------------------------------------------- #
# Tasks
# --------------------------------------------------------------------------- #


def censoring_date_of(tasks: pd.DataFrame, censoring_date=None) -> pd.Timestamp:
    """The configured censoring date, or the latest start/end date in the tasks table
    (NaT if it has none)."""
    if censoring_date is not None:
        if isinstance(censoring_date, (str, dt.date, dt.datetime, pd.Timestamp, np.datetime64)):
            parsed = pd.Timestamp(censoring_date)
        else:
            raise TypeError(
                f"censoring_date: expected a date or 'YYYY-MM-DD', got {censoring_date!r}"
            )
        if pd.isna(parsed):
            raise ValueError(f"censoring_date: {censoring_date!r} is not a date")
        return parsed.tz_localize(None) if parsed.tzinfo else parsed
    dates = [tasks[c] for c in ("start_date", "end_date") if c in tasks and tasks[c].notna().any()]
    return max(d.max() for d in dates) if dates else pd.NaT


def infer_task_status(tasks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill a missing status: ``achieved`` with an end date, ``ongoing`` without. Returns
    the tasks and one fix row per inferred status (``FIX_COLUMNS``, fix
    ``task_status_inferred``)."""
    has_end = tasks["end_date"].notna() if "end_date" in tasks else pd.Series(False, tasks.index)
    inferred = pd.Series(np.where(has_end, "achieved", "ongoing"), index=tasks.index, dtype=object)
    status = tasks["status"] if "status" in tasks else pd.Series(None, tasks.index, dtype=object)
    missing = status.isna()
    out = tasks.assign(status=status.astype(object).where(~missing, inferred))
    rows = tasks[missing]
    if len(rows):
        record = rows.drop(columns=["source_row"], errors="ignore").to_json(
            orient="records", lines=True, date_format="iso"
        )
        reason = np.where(has_end[missing], "end_date given", "no end_date")
        fixes = pd.DataFrame(
            {
                "table": "tasks",
                "source_file": "",
                "source_row": rows["source_row"].to_numpy() if "source_row" in rows else pd.NA,
                "fix": str(Fix.TASK_STATUS_INFERRED),
                "column": "status",
                "detail": "status empty; set to " + inferred[missing] + " (" + reason + ")",
                "record": record.splitlines(),
            }
        )
    else:
        fixes = pd.DataFrame({c: pd.Series(dtype=object) for c in FIX_COLUMNS})
    return out, fixes[FIX_COLUMNS].reset_index(drop=True)


def _task_outcomes(
    tasks: pd.DataFrame, censoring_date=None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Tasks sorted by key with status filled, exit date, durations, event, censored and a
    ``_reason`` (why censored / why no duration); the status fixes; the censoring date."""
    _require(tasks, "tasks", ("consortium_id", "task_id"))
    _unique_keys(
        [pd.factorize(tasks["consortium_id"])[0], pd.factorize(tasks["task_id"])[0]],
        "tasks",
        "(consortium_id, task_id)",
    )
    cdate = censoring_date_of(tasks, censoring_date)
    frame, fixes = infer_task_status(
        tasks.sort_values(["consortium_id", "task_id"], kind="mergesort").reset_index(drop=True)
    )
    unknown = ~frame["status"].isin(TASK_STATUSES)
    if unknown.any():
        raise MeasureInputError(
            f"tasks.status: {sorted(set(map(str, frame['status'][unknown])))[:5]} not in "
            f"{', '.join(TASK_STATUSES)}"
        )
    status = frame["status"].to_numpy(dtype=object)
    n = len(frame)
    nat = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    start = frame["start_date"].astype("datetime64[ns]") if "start_date" in frame else nat
    end = frame["end_date"].astype("datetime64[ns]") if "end_date" in frame else nat
    if (end < start).any():
        raise MeasureInputError(
            f"tasks: {int((end < start).sum())} task(s) end before they start; "
            "clean.py quarantines them"
        )
    has_cut = pd.notna(cdate)
    started_late = (start > cdate) if has_cut else pd.Series(False, index=frame.index)
    ended_late = (end > cdate) if has_cut else pd.Series(False, index=frame.index)
    no_end = end.isna()
    closed = pd.Series(status != "ongoing", index=frame.index)
    # exit: end date; the censoring date if still running then; nothing if never at risk or
    # closed at an unknown date.
    exit_date = end.where(~ended_late, cdate if has_cut else pd.NaT)
    exit_date = exit_date.where(~(no_end & ~closed), cdate if has_cut else pd.NaT)
    exit_date = exit_date.where(~started_late, pd.NaT)
    event = (status == "achieved") & ~ended_late.to_numpy() & ~started_late.to_numpy()
    days = (exit_date - start) / pd.Timedelta(days=1)
    reason = np.select(
        [
            started_late.to_numpy(),
            event,
            ended_late.to_numpy(),
            (no_end & closed).to_numpy(),
            status == "abandoned",
            status == "ongoing",
        ],
        [
            "started_after_censoring_date",
            "event",
            "ended_after_censoring_date",
            "closed_without_end_date",
            "abandoned",
            "ongoing",
        ],
        "other",
    )
    reason = np.where((reason == "event") & no_end.to_numpy(), "closed_without_end_date", reason)
    reason = np.where(
        start.isna().to_numpy() & (reason != "started_after_censoring_date"),
        "no_start_date",
        reason,
    )
    frame = frame.assign(
        exit_date=exit_date,
        duration_days=days.astype("float64"),
        duration_years=(days / _DAYS_PER_YEAR).astype("float64"),
        event=event.astype(np.int64),
        censored=(1 - event.astype(np.int64)),
        _reason=reason,
    )
    assert len(frame) == n
    return frame, fixes, cdate


def build_tasks(
    tasks: pd.DataFrame,
    consortia: pd.DataFrame,
    censoring_date=None,
    *,
    return_fixes: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """One row per task with breakthrough-cycle duration and censoring (module docstring).

    Columns: ``TASK_COLUMNS`` in that order, less ``field`` / ``start_date`` /
    ``end_date`` / consortium attributes absent from the input (without ``start_date``
    also no durations). Sorted by consortium_id, task_id. With ``return_fixes=True``
    returns ``(tasks, fixes)``, ``fixes`` one row per inferred status (``FIX_COLUMNS``).
    """
    cons = _prepare_consortia(consortia)
    frame, fixes, _ = _task_outcomes(tasks, censoring_date)
    code = _codes(frame["consortium_id"], cons, "tasks")
    for attribute in ("lead_type", "industry", "high_tech"):
        if attribute in cons:
            frame[attribute] = cons[attribute].take(code).array
    drop = set()
    if "start_date" not in tasks:
        drop |= {"start_date", "duration_days", "duration_years"}
    if "end_date" not in tasks:
        drop.add("end_date")
    columns = [c for c in TASK_COLUMNS if c in frame and c not in drop]
    columns += [c for c in TASK_PASSTHROUGH_COLUMNS if c in frame]
    out = frame[columns].reset_index(drop=True)
    return (out, fixes) if return_fixes else out


def tasks_metadata(tasks: pd.DataFrame, censoring_date=None) -> dict:
    """Censoring of the tasks table (JSON-ready): the date used and where it came from,
    counts of events and of censored tasks by reason, tasks without a duration, and the
    statuses inferred."""
    frame, fixes, cdate = _task_outcomes(tasks, censoring_date)
    reasons = frame["_reason"].value_counts().sort_index()
    return {
        "censoring_date": None if pd.isna(cdate) else str(cdate.date()),
        "censoring_date_source": "config"
        if censoring_date is not None
        else "latest date in the tasks table",
        "tasks": len(frame),
        "events": int(frame["event"].sum()),
        "censored": int(frame["censored"].sum()),
        "by_reason": {str(k): int(v) for k, v in reasons.items()},
        "without_duration": int(frame["duration_days"].isna().sum()),
        "status_inferred": len(fixes),
    }
