"""Scores of the batch rows and their summary per truth, size, claim and test: coverage,
the two error rates of the verdicts, power."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from consortia.claims.verdict import CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, SUPPORTED
from consortia.montecarlo.truths import CLAIM_FALSE, CLAIM_TRUE

COVERAGE_TARGET = (0.93, 0.97)


def score(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`run_batch` with 1/0 indicators (NaN where undefined) added:
    ``covered`` (the CI contains a known true value), ``supported_if_false`` and
    ``supported_if_true`` (the verdict is supported, where the claim is false / true) and
    ``contradicted_if_true`` (contradicted where it is true)."""
    out = rows.copy()
    has_ci = out["ci_lower"].notna() & out["ci_upper"].notna()
    inside = (out["ci_lower"] <= out["true_value"]) & (out["true_value"] <= out["ci_upper"])
    out["covered"] = inside.astype(float).where(has_ci & (out["truth_kind"] == "value"))
    supported = (out["verdict"] == SUPPORTED).astype(float)
    contradicted = (out["verdict"] == CONTRADICTED).astype(float)
    is_false, is_true = out["claim_status"] == CLAIM_FALSE, out["claim_status"] == CLAIM_TRUE
    out["supported_if_false"] = supported.where(is_false)
    out["supported_if_true"] = supported.where(is_true)
    out["contradicted_if_true"] = contradicted.where(is_true)
    return out


def _mean(values: pd.Series) -> float:
    v = values.dropna()
    return float(v.mean()) if len(v) else math.nan


def _share_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n and math.isfinite(p) else math.nan


def _rate(g: pd.DataFrame, column: str) -> dict[str, float]:
    n = int(g[column].notna().sum())
    p = _mean(g[column])
    return {column: p, f"{column}_mc_se": _share_se(p, n), f"{column}_worlds": n}


def summarise(batches: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Per truth, size, claim and test: coverage, the two error rates, power, verdict shares.

    ``batches``: rows of :func:`run_batch` (one frame or several). Groups keep the
    order in which they first appear (truths as listed, claims in registry order).
    """
    frame = score(batches if isinstance(batches, pd.DataFrame) else pd.concat(list(batches)))
    out = []
    keys = ["truth", "n_consortia", "claim", "test"]
    for (truth, size, claim, test), g in frame.groupby(keys, sort=False):
        n = len(g)
        kind = g["truth_kind"].iloc[0]
        true_value = float(g["true_value"].iloc[0])
        if g["true_value"].nunique(dropna=False) > 1:
            raise ValueError(f"{truth}/{claim}/{test}: the true estimand differs across worlds")
        est = g.dropna(subset=["ci_lower", "ci_upper"])
        cov = _mean(g["covered"])
        n_cov = int(g["covered"].notna().sum())
        statuses = g["claim_status"].dropna().unique()
        verdicts = g["verdict"].value_counts()
        mean_estimate = _mean(est["estimate"])
        out.append(
            {
                "truth": truth,
                "n_consortia": int(size),
                "claim": claim,
                "test": test,
                "role": g["role"].iloc[0],
                "truth_kind": kind,
                "true_value": true_value,
                "truth_source": g["truth_source"].iloc[0],
                "claim_status": "/".join(statuses) if len(statuses) else None,
                "worlds": n,
                "estimated": len(est),
                "mean_estimate": mean_estimate,
                "bias": mean_estimate - true_value if kind == "value" else math.nan,
                "sd_estimate": float(est["estimate"].std(ddof=1)) if len(est) > 1 else math.nan,
                "median_se": float(est["se"].median()) if len(est) else math.nan,
                "coverage": cov,
                "coverage_mc_se": _share_se(cov, n_cov),
                "coverage_in_target": (COVERAGE_TARGET[0] <= cov <= COVERAGE_TARGET[1])
                if n_cov
                else None,
                **_rate(g, "supported_if_false"),
                **_rate(g, "contradicted_if_true"),
                **_rate(g, "supported_if_true"),
                **{
                    f"share_{v}": verdicts.get(v, 0) / n
                    for v in (SUPPORTED, INCONCLUSIVE, CONTRADICTED, NOT_TESTABLE)
                },
            }
        )
    return pd.DataFrame(out)
