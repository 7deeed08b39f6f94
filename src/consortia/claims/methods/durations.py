"""Time to breakthrough: Weibull AFT time ratios with a cluster-robust sandwich
(:func:`weibull_aft_cluster_vcov`), Cox hazard ratios (:mod:`consortia.claims.cox`) and standardised
Kaplan–Meier median ratios with a consortium bootstrap (``breakthrough_time``); consortium
vs non-consortium cycles (``organised_cycle``)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from consortia.estimate.vcov import cluster_sums, codes

from ..catalogue import (
    CID,
    ClaimData,
    Context,
    Estimate,
    NotTestable,
    Result,
    Unavailable,
    as_bool,
    evaluator,
    select_columns,
    wald_estimate,
    with_tails,
)
from ..cox import CoxFitError, cox_cluster_fit
from ..inference import BootstrapTails
from ..records import ClaimRecord
from ..survival import standardised_median_draws


def _with_consortium_columns(
    tasks: pd.DataFrame, consortia: pd.DataFrame | None, columns: Sequence[str]
) -> pd.DataFrame:
    """Tasks with the ``columns`` they lack taken from their consortium's row of the
    consortia table (e.g. a funding scheme as a control; the registry's ``requires``
    names it under ``consortia``)."""
    wanted = [c for c in columns if c not in tasks and consortia is not None and c in consortia]
    if not wanted:
        return tasks
    return tasks.join(consortia.drop_duplicates(CID).set_index(CID)[wanted], on=CID)


def _design_tasks(
    tasks: pd.DataFrame, lead: str, reference: str, controls: Sequence[str], lead_types: str
):
    need = [CID, "lead_type", "duration_years", "event", *controls]
    d = select_columns(tasks, need).dropna().copy()
    d["lead_type"] = d["lead_type"].astype(str)
    if lead_types == "pair":
        d = d[d["lead_type"].isin([lead, reference])]
    d["T"] = pd.to_numeric(d["duration_years"]).astype(float)
    d["E"] = pd.to_numeric(d["event"]).astype(float)
    n_nonpos = int((d["T"] <= 0).sum())
    d = d[d["T"] > 0]
    for grp in (lead, reference):
        sub = d[d["lead_type"] == grp]
        if sub.empty or sub["E"].sum() == 0:
            raise NotTestable(f"no {grp}-led tasks with an achieved breakthrough")
    X = pd.DataFrame(index=d.index)
    for lt in sorted(d["lead_type"].unique()):
        if lt != reference:
            X[f"lead_{lt}"] = (d["lead_type"] == lt).astype(float)
    for c in controls:
        s = d[c]
        if s.dtype == bool or str(s.dtype) == "boolean" or pd.api.types.is_numeric_dtype(s):
            X[c] = s.astype(float)
        else:
            levels = sorted(s.astype(str).unique())
            for lev in levels[1:]:
                X[f"{c}[{lev}]"] = (s.astype(str) == lev).astype(float)
    X = X.loc[:, X.std(ddof=0) > 0]
    return d, X, n_nonpos


def weibull_aft_cluster_vcov(
    aft,
    X: pd.DataFrame,
    T: np.ndarray,
    E: np.ndarray,
    cluster: np.ndarray,
    small_sample: bool = True,
) -> pd.DataFrame:
    """Cluster-robust sandwich covariance of a lifelines WeibullAFTFitter fit.

    Model (lifelines' parametrisation): S(t|x) = exp(−(t/λ)^ρ), log λ = x'β,
    log ρ = γ. With u = ρ (log t − x'β) the log-likelihood of one task is
    E (log ρ − log t + u) − e^u, so the scores are
    ∂/∂β = −ρ x (E − e^u) and ∂/∂γ = E (1 + u) − u e^u. The covariance is
    V (Σ_g s_g s_g') V with V the inverse Hessian lifelines reports and s_g the
    score sums over the tasks of consortium g, times G/(G−1) when
    ``small_sample``. (lifelines' own ``robust=True`` is the same with one task
    per cluster and no G/(G−1).)
    """
    T = np.asarray(T, dtype=float)
    E = np.asarray(E, dtype=float)
    params = aft.params_
    V = aft.variance_matrix_.loc[params.index, params.index].to_numpy()
    lam_cov = list(params.loc["lambda_"].index)
    Xl = np.column_stack(
        [np.ones(len(X)) if c == "Intercept" else X[c].to_numpy(float) for c in lam_cov]
    )
    beta = params.loc["lambda_"].to_numpy(float)
    gamma = float(params.loc[("rho_", "Intercept")])
    rho = math.exp(gamma)
    u = rho * (np.log(T) - Xl @ beta)
    eu = np.exp(u)
    s_beta = (-rho * (E - eu))[:, None] * Xl
    s_gamma = E * (1 + u) - u * eu
    # order of params_: lambda_ block then rho_ block (as in params.index)
    scores = np.zeros((len(T), len(params)))
    pos = {k: i for i, k in enumerate(params.index)}
    for j, c in enumerate(lam_cov):
        scores[:, pos[("lambda_", c)]] = s_beta[:, j]
    scores[:, pos[("rho_", "Intercept")]] = s_gamma
    S = cluster_sums(scores, codes(cluster))
    g = len(S)
    meat = S.T @ S
    Vc = V @ meat @ V * (g / (g - 1) if small_sample and g > 1 else 1.0)
    return pd.DataFrame(Vc, index=params.index, columns=params.index)


def _survival_ratio(coefficient: float, se: float, ctx: Context, **fields) -> Estimate:
    """A survival model's ratio exp(β) (time or hazard), with its normal interval on the
    log scale; ``fields``: the rest of the :class:`Estimate`."""
    return wald_estimate(math.exp(coefficient), se, None, ctx, scale="log", **fields)


def _thin_levels(X: pd.DataFrame, most: int = 2) -> str:
    """A hint for a failed Cox fit: dummies of the controls held by at most ``most`` tasks,
    with which the partial likelihood can keep rising as a coefficient runs off to ±∞
    (lifelines' estimator stops there too)."""
    dummies = X.loc[:, ~X.columns.str.startswith("lead_")]
    counts = dummies.sum()
    thin = counts[(counts <= most) & dummies.isin([0.0, 1.0]).all()]
    if thin.empty:
        return ""
    return (
        f"; {len(thin)} level(s) of the controls have at most {most} tasks (e.g. "
        f"{thin.index[0]}): their coefficients can run off to ±∞"
    )


def _check_breakthrough(claim: ClaimRecord) -> None:
    if claim.comparison == claim.params.get("lead", "enterprise"):
        raise ValueError("the comparison lead type equals the lead type under test")


@evaluator(
    "breakthrough_time",
    tests=("time_ratio", "hazard_ratio", "median_ratio"),
    description="time to breakthrough of lead-type-led vs reference-led tasks: Weibull AFT time "
    "ratio (right-censored), Cox hazard ratio and Kaplan–Meier median ratio",
    allowed_params=("lead", "controls", "lead_types", "n_boot"),
    comparisons=("university", "research_institute", "government", "other", "enterprise"),
    check=_check_breakthrough,
)
def eval_breakthrough(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    from lifelines import WeibullAFTFitter

    lead = claim.params.get("lead", "enterprise")
    ref = claim.comparison
    controls = list(claim.params.get("controls", ["industry"]))
    lead_types = claim.params.get("lead_types", "all")
    tasks = _with_consortium_columns(data.tasks, data.consortia, controls)
    d, X, n_nonpos = _design_tasks(tasks, lead, ref, controls, lead_types)
    T, E, cl = d["T"].to_numpy(), d["E"].to_numpy(), d[CID].to_numpy()
    g_all = int(pd.Series(cl).nunique())
    term = f"lead_{lead}"
    base = {
        "lead": lead,
        "reference": ref,
        "tasks": len(d),
        "events": int(E.sum()),
        "censored": int(len(d) - E.sum()),
        "nonpositive_durations_dropped": n_nonpos,
        "controls": controls,
        "sample": "all lead types (reference: " + ref + ")"
        if lead_types == "all"
        else f"{lead}- and {ref}-led tasks only",
    }
    out: Result = {}
    shape = math.nan
    if {"time_ratio", "hazard_ratio"} & ctx.wanted:
        frame = X.assign(T=T, E=E)
        aft = WeibullAFTFitter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aft.fit(frame, "T", "E")
        Vc = weibull_aft_cluster_vcov(aft, X, T, E, cl)
        b = float(aft.params_.loc[("lambda_", term)])
        variance = float(Vc.loc[("lambda_", term), ("lambda_", term)])
        shape = float(math.exp(aft.params_.loc[("rho_", "Intercept")]))
        if "time_ratio" in ctx.wanted and not (math.isfinite(variance) and variance > 0):
            out["time_ratio"] = Unavailable(
                f"the cluster-robust variance of the Weibull AFT {term} coefficient is not "
                f"positive ({variance:.3g}) with {g_all} consortia"
            )
        elif "time_ratio" in ctx.wanted:
            se = math.sqrt(variance)
            out["time_ratio"] = _survival_ratio(
                b,
                se,
                ctx,
                n_obs=len(d),
                n_clusters=g_all,
                method=f"Weibull AFT (lifelines) of time to breakthrough, abandoned/ongoing tasks "
                f"right-censored; time ratio exp(β) of {lead}- vs {ref}-led tasks"
                + (f", controls: {', '.join(controls)}" if controls else "")
                + "; sandwich SE clustered by consortium (G/(G−1)), normal CI",
                short="Weibull AFT, clustered sandwich",
                details=dict(
                    base,
                    weibull_shape=shape,
                    model_se=float(aft.standard_errors_.loc[("lambda_", term)]),
                ),
            )
    cox = None
    if "hazard_ratio" in ctx.wanted:
        try:
            cox = cox_cluster_fit(X, T, E, cl).loc[term]
        except CoxFitError as exc:
            out["hazard_ratio"] = Unavailable(str(exc) + _thin_levels(X))
    if cox is not None:
        b, se = float(cox["coef"]), float(cox["cluster_se"])
        implied = None
        if math.isfinite(shape) and claim.tests:
            tr = next(
                (
                    t.claimed.value
                    for t in claim.tests
                    if t.name == "time_ratio" and t.claimed.kind == "value"
                ),
                None,
            )
            implied = None if tr is None else float(tr ** (-shape))
        out["hazard_ratio"] = _survival_ratio(
            b,
            se,
            ctx,
            n_obs=len(d),
            n_clusters=g_all,
            method=f"Cox proportional hazards (Efron ties, lifelines' estimator); hazard ratio of "
            f"{lead}- vs {ref}-led tasks; sandwich SE clustered by consortium "
            "(G/(G−1)), normal CI",
            short="Cox PH, clustered sandwich",
            details=dict(
                base,
                hr_implied_by_claimed_time_ratio_and_aft_shape=implied,
                aft_weibull_shape=shape if math.isfinite(shape) else None,
                model_se=float(cox["model_se"]),
            ),
        )
    if "median_ratio" in ctx.wanted:
        out["median_ratio"] = _standardised_median_ratio(
            d, lead, ref, controls, int(claim.params.get("n_boot", 199)), ctx, base
        )
    return out


def _years(median: float) -> str:
    return f"{median:.2f} years" if math.isfinite(median) else "not reached"


def _standardised_median_ratio(
    d: pd.DataFrame,
    lead: str,
    ref: str,
    controls: Sequence[str],
    n_boot: int,
    ctx: Context,
    base: dict,
) -> Estimate | Unavailable:
    """Ratio of the medians of the two groups' survival curves standardised over the strata
    of ``controls`` (:mod:`.survival`), with a consortium-bootstrap percentile interval.
    Strata without tasks of both groups are left out (no comparison within them)."""
    pair = d[d["lead_type"].isin([lead, ref])]
    is_lead = (pair["lead_type"] == lead).to_numpy()
    # stratum codes from the controls' value combinations (no per-row strings: 300k tasks)
    if controls:
        grouped = pair.groupby(list(controls), sort=True, observed=True)
        cells = grouped.ngroup().to_numpy()
        keys = [k if isinstance(k, tuple) else (k,) for k in grouped.size().index]
    else:
        cells, keys = np.zeros(len(pair), dtype=np.int64), [("all",)]
    n_cells = len(keys)
    common = (np.bincount(cells[is_lead], minlength=n_cells) > 0) & (
        np.bincount(cells[~is_lead], minlength=n_cells) > 0
    )
    keep = common[cells]
    if not keep.any():
        return Unavailable(
            f"no stratum of {', '.join(controls)} has tasks of both {lead}- and {ref}-led "
            "consortia"
        )
    dropped_strata = [
        " | ".join(map(str, key)) for key, shared in zip(keys, common, strict=True) if not shared
    ]
    pair = pair[keep]
    T, E = pair["T"].to_numpy(), pair["E"].to_numpy()
    group = is_lead[keep].astype(int)
    stratum = np.unique(cells[keep], return_inverse=True)[1]
    codes, clusters = pd.factorize(pair[CID])
    m1, m0 = (
        float(v[0])
        for v in standardised_median_draws(
            T, E, group, stratum, codes, np.ones((1, len(clusters)), dtype=np.int64)
        )
    )
    if not (math.isfinite(m1) and math.isfinite(m0)):
        return Unavailable(
            "a standardised Kaplan–Meier median is not reached (survival stays above 0.5): "
            f"{lead}-led {_years(m1)}, {ref}-led {_years(m0)}"
        )
    rng = ctx.rng()
    counts = np.stack(
        [
            np.bincount(rng.integers(0, len(clusters), len(clusters)), minlength=len(clusters))
            for _ in range(n_boot)
        ]
    )
    lead_draws, ref_draws = standardised_median_draws(T, E, group, stratum, codes, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.log(lead_draws) - np.log(ref_draws)
    # dropped, and counted: draws in which no stratum has tasks of both groups (NaN medians)
    # and draws in which neither median is reached (no ratio); kept: draws in which one
    # median is not reached (±inf: they sort to the end they belong to)
    no_stratum = np.isnan(lead_draws) | np.isnan(ref_draws)
    neither_reached = np.isinf(lead_draws) & np.isinf(ref_draws)
    n_no_stratum, n_neither = int(no_stratum.sum()), int(neither_reached.sum())
    if n_no_stratum + n_neither > 0.1 * n_boot:
        return Unavailable(
            f"of {n_boot} bootstrap draws, {n_no_stratum} have no stratum with tasks of both "
            f"groups and {n_neither} reach neither median: too few consortia or too few "
            "breakthroughs for a bootstrap interval"
        )
    kept = draws[~(no_stratum | neither_reached)]
    finite = kept[np.isfinite(kept)]
    return with_tails(
        BootstrapTails(kept, scale="log"),
        ctx,
        estimate=m1 / m0,
        se=float(finite.std(ddof=1)) if finite.size > 2 else math.nan,
        n_obs=len(pair),
        n_clusters=len(clusters),
        scale="log",
        method=f"ratio of the median times to breakthrough of {lead}- and {ref}-led tasks, "
        "from Kaplan–Meier curves"
        + (
            f" standardised over {', '.join(controls)} (the pooled mix of both groups)"
            if controls
            else ""
        )
        + f"; no shape assumed; percentile CI from {n_boot} consortium-bootstrap draws",
        short="Standardised KM medians, cluster bootstrap",
        details=dict(
            base,
            median_lead_years=m1,
            median_reference_years=m0,
            strata=int(common.sum()),
            strata_without_both_groups=dropped_strata,
            n_boot=n_boot,
            draws_without_a_group=n_no_stratum,
            draws_neither_median_reached=n_neither,
            draws_median_not_reached=int(len(kept) - finite.size),
        ),
    )


@evaluator(
    "organised_cycle",
    tests=("time_ratio",),
    description="time ratio of breakthrough cycles, tasks run by a consortium vs comparison "
    "tasks run outside any consortium (Weibull AFT, right-censored)",
    allowed_params=("flag", "controls"),
    comparisons=("non_consortium",),
)
def eval_organised_cycle(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    from lifelines import WeibullAFTFitter

    flag = claim.params.get("flag", "in_consortium")
    controls = list(claim.params.get("controls", []))
    columns = [CID, "duration_years", "event", flag, *controls]
    d = select_columns(data.tasks, columns).dropna().copy()
    inside = as_bool(d[flag])
    if inside.all() or not inside.any():
        raise NotTestable(
            f"tasks.{flag} is {'true' if inside.all() else 'false'} for every task: the data "
            "have no "
            + ("non-consortium comparison tasks" if inside.all() else "consortium tasks")
            + f" (the claim compares consortium tasks with tasks run outside any consortium; "
            f"a tasks.{flag} column with both values makes it testable)"
        )
    d["T"] = pd.to_numeric(d["duration_years"]).astype(float)
    d["E"] = pd.to_numeric(d["event"]).astype(float)
    keep = d["T"] > 0
    d, inside = d[keep], inside[keep]
    for label, grp in (("consortium", inside), ("non-consortium", ~inside)):
        if d.loc[grp, "E"].sum() == 0:
            raise NotTestable(f"no {label} tasks with an achieved breakthrough")
    X = pd.DataFrame({flag: inside.astype(float)}, index=d.index)
    for c in controls:
        levels = sorted(d[c].astype(str).unique())
        for lev in levels[1:]:
            X[f"{c}[{lev}]"] = (d[c].astype(str) == lev).astype(float)
    X = X.loc[:, X.std(ddof=0) > 0]
    T, E, cl = d["T"].to_numpy(), d["E"].to_numpy(), d[CID].to_numpy()
    aft = WeibullAFTFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aft.fit(X.assign(T=T, E=E), "T", "E")
    V = weibull_aft_cluster_vcov(aft, X, T, E, cl)
    b = float(aft.params_.loc[("lambda_", flag)])
    return {
        "time_ratio": _survival_ratio(
            b,
            math.sqrt(V.loc[("lambda_", flag), ("lambda_", flag)]),
            ctx,
            n_obs=len(d),
            n_clusters=int(pd.Series(cl).nunique()),
            method="Weibull AFT (lifelines) of time to breakthrough, abandoned/ongoing tasks "
            f"right-censored; time ratio exp(β) of consortium vs non-consortium tasks ({flag})"
            + (f", controls: {', '.join(controls)}" if controls else "")
            + "; sandwich SE clustered by consortium (G/(G−1)), normal CI",
            short="Weibull AFT, clustered sandwich",
            details={
                "tasks_consortium": int(inside.sum()),
                "tasks_non_consortium": int((~inside).sum()),
                "events": int(E.sum()),
                "weibull_shape": float(math.exp(aft.params_.loc[("rho_", "Intercept")])),
            },
        )
    }

