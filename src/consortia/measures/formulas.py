"""The measures on aggregated quantities: structure shares, diversity, decision weights and
the per-member and per-task ratios (vectorised; each testable on its own)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from consortia.contract import CHAIN_POSITIONS, ORG_TYPES


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
