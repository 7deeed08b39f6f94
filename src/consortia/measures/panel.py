"""The clean consortium-year panel (:func:`build_panel`; the rows and definitions are in
the docstring of :mod:`consortia.measures`): the panel's rows, the member spells and the
lead, the structure and network measures of every consortium-year, and the panel's
metadata."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from consortia import network
from consortia.contract import CHAIN_POSITIONS, ORG_TYPES
from consortia.measures.formulas import (
    blau_index,
    chain_coverage,
    collab_intensity,
    decision_hhi,
    equity_tie_share,
    has_academic_partner,
    industrial_task_share,
    lead_decision_weight,
    rd_per_member,
    safe_ratio,
    subsidy_share,
    transfer_rate,
    type_shares,
)
from consortia.measures.inputs import (
    CONSORTIUM_ATTRIBUTES,
    MEASURE_INPUTS,
    OPEN_END,
    PANEL_COLUMNS,
    PASS_THROUGH,
    SHARE_COLUMNS,
    MeasureInputError,
    available_columns,
    consortium_codes,
    dissolved_years,
    filled_years,
    missing_inputs,
    require_columns,
    require_unique_keys,
    sorted_consortia,
)

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
    dissolved = dissolved_years(cons)
    has_panel = np.zeros(len(cons), dtype=bool)
    parts = []
    if panel is not None and len(panel):
        require_columns(panel, "panel", ("consortium_id", "year"))
        pcode = consortium_codes(panel["consortium_id"], cons, "panel")
        pyear = panel["year"].to_numpy(dtype=np.int64)
        prow = np.arange(len(panel), dtype=np.int64)
        require_unique_keys([pcode, pyear], "panel", "(consortium_id, year)")
        outside = (pyear < founded[pcode]) | (pyear > dissolved[pcode])
        if outside.any():
            raise MeasureInputError(
                f"panel: {int(outside.sum())} row(s) with a year outside the consortium's "
                "life (founded_year..dissolved_year); the cleaning quarantines them"
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
    start = (
        filled_years(members["join_year"], founded_year) if "join_year" in members else founded_year
    )
    end = (
        filled_years(members["exit_year"], OPEN_END)
        if "exit_year" in members
        else np.full(len(members), OPEN_END, dtype=np.int64)
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
        member_code = consortium_codes(members["consortium_id"], cons, "members")
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
    require_columns(members, "members", ("consortium_id", "member_id", "member_type"))
    member_code = consortium_codes(members["consortium_id"], cons, "members")
    require_unique_keys(
        [member_code, pd.factorize(members["member_id"])[0]],
        "members",
        "(consortium_id, member_id)",
    )
    mtype = members["member_type"]
    unknown = ~mtype.isin(ORG_TYPES)
    if unknown.any():
        raise MeasureInputError(
            f"members.member_type: {sorted(set(map(str, mtype[unknown])))[:5]} not in "
            f"{', '.join(ORG_TYPES)} (normalised by the cleaning)"
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
    cons = sorted_consortia(consortia)
    require_columns(members, "members", ("consortium_id", "member_id"))
    member_code = consortium_codes(members["consortium_id"], cons, "members")
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
    available = available_columns(consortia, members, panel)
    build = {m for m in MEASURE_INPUTS if not missing_inputs(m, available)}
    cons = sorted_consortia(consortia)
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
        columns.update({c: values[c].array for c in PASS_THROUGH if c in build})
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
    consortia, members, given = tables["consortia"], tables["members"], tables.get("panel")
    available = available_columns(consortia, members, given)
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
    cons = sorted_consortia(consortia)
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
    member_code = consortium_codes(members["consortium_id"], cons, "members")
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


def consortium_measures(consortia: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """:data:`~consortia.network.NETWORK_MEASURES` of every consortium in the year it was
    founded, from clean ``consortia`` and ``members`` tables; indexed by consortium_id
    (sorted)."""
    cons, member_code, start, end, lead = network_inputs(consortia, members)
    net = network.member_network(
        member_code, pd.factorize(members["member_id"])[0], start, end, lead,
        cons["founded_year"].to_numpy(dtype=np.int64),
    )  # fmt: skip
    out = network.lead_measures(net)
    founded = net.founded[net.pair_consortium]
    active = (net.pair_start <= founded) & (founded <= net.pair_end)
    sums = network.repeat_tie_sums(net)
    n = net.founded.size
    pairs = np.bincount(net.pair_consortium[active], weights=sums["pairs"][active], minlength=n)
    repeat = np.bincount(
        net.pair_consortium[active], weights=sums["repeat_pairs"][active], minlength=n
    )
    out["repeat_tie_share"] = safe_ratio(repeat, pairs).to_numpy()
    out.index = pd.Index(cons["consortium_id"].to_numpy(), name="consortium_id")
    return out
