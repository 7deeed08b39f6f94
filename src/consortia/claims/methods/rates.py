"""Transfer-rate methods: the achievement-weighted transfer rate of a lead group, its gap
to a comparison group (CR2, linearised CR1, Newcombe) and the fractional-logit AME
(``transfer_rate``); the ratio of the rates with and without an academic partner
(``rate_ratio``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..catalogue import (
    CID,
    ClaimData,
    Context,
    Estimate,
    NotTestable,
    Result,
    Unavailable,
    add_transfer_rate,
    as_bool,
    evaluator,
    fit_or_unavailable,
    linearised_se,
    marginal_effect_estimate,
    model_columns,
    ratio_influence,
    select_columns,
    wald_estimate,
    with_tails,
)
from ..cr2 import CR2Fit, CR2Tails
from ..inference import IntervalTails
from ..intervals import newcombe_interval
from ..records import ClaimRecord


def _rate_groups_test(
    d: pd.DataFrame,
    groups: Mapping[str, pd.Series],
    restriction: Callable[[float], tuple[np.ndarray, float]],
    estimate: float,
    ctx: Context,
    *,
    scale: str = "absolute",
    **fields,
) -> Estimate | Unavailable:
    """A test on achievement-weighted transfer rates with CR2 standard errors and
    Bell–McCaffrey degrees of freedom (:mod:`.cr2`): CR1 with t(G − 1) over-rejects when a
    compared group has few consortia, and CR2 gives CR1's answer when every group has many.

    The rates are the coefficients of a regression of the consortium-year rate on one
    dummy per group (``groups``: disjoint masks of ``d``'s consortium-years) weighted by
    achievements (Σ transferred / Σ achievements per group); ``restriction(θ₀)`` states
    the hypothesis θ = θ₀ as c′β = r. The reported SE (on the log scale for a ratio) is
    the delta method's from the CR2 variance, the df those of c′β at the estimate;
    ``fields``: the rest of the :class:`Estimate` (method, details, short).
    """
    clusters = {name: int(d.loc[m, CID].nunique()) for name, m in groups.items()}
    fewest = min(clusters, key=clusters.get)
    if clusters[fewest] < 2:
        return Unavailable(
            f"the {fewest} group has {clusters[fewest]} consortium: no cluster-robust "
            "inference on its rate"
        )
    rows = pd.concat(list(groups.values()), axis=1).any(axis=1).to_numpy()
    sub = d.loc[rows]
    fit = CR2Fit(
        np.column_stack([m[rows].to_numpy(dtype=float) for m in groups.values()]),
        (sub["achievements_transferred"] / sub["achievements"]).to_numpy(),
        sub[CID].to_numpy(),
        weights=sub["achievements"].to_numpy(),
    )
    c, _ = restriction(estimate)

    def excess(theta: float) -> float:
        c_theta, r_theta = restriction(theta)
        return float(c_theta @ fit.beta) - r_theta

    # the delta method: SE(θ̂) = SE(c′β̂) / |∂(c(θ)′β̂ − r(θ))/∂θ| (exact for restrictions
    # linear in θ, as every rate test's is)
    step = 1e-6 * max(abs(estimate), 1.0)
    slope = abs(excess(estimate + step) - excess(estimate - step)) / (2 * step)
    se = fit.se(c) / slope / (estimate if scale == "log" else 1.0)
    df = fit.df(c)
    if not (fit.varies(c) and math.isfinite(se) and se > 0 and math.isfinite(df)):
        return Unavailable(
            f"no CR2 standard error (SE {se:.3g}, df {df:.3g}): the rates do not vary "
            "within the groups"
        )
    details = fields.pop("details", {})
    return with_tails(
        CR2Tails(fit, estimate, restriction, spread=se, scale=scale),
        ctx,
        estimate=estimate,
        se=se,
        n_obs=int(rows.sum()),
        n_clusters=int(sub[CID].nunique()),
        scale=scale,
        df=df,
        details=dict(details, consortia_by_group=clusters),
        **fields,
    )



def _transfer_frame(panel: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    d = select_columns(
        panel, [CID, "lead_type", "achievements", "achievements_transferred", *extra]
    )
    d = d.dropna(subset=[CID, "lead_type", "achievements", "achievements_transferred"])
    d = d[pd.to_numeric(d["achievements"]) > 0].copy()
    d["achievements"] = pd.to_numeric(d["achievements"]).astype(float)
    d["achievements_transferred"] = pd.to_numeric(d["achievements_transferred"]).astype(float)
    return d


@evaluator(
    "transfer_rate",
    tests=("level", "gap", "gap_adjusted", "gap_unclustered"),
    description="achievement-weighted transfer rate of the lead group (level), its gap to the "
    "comparison group, the fractional-logit AME of the lead group with controls, and the gap "
    "with Newcombe's unclustered score interval",
    allowed_params=("lead", "adjusted"),
    comparisons=("other_led", "all"),
)
def eval_transfer_rate(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    comparison = claim.comparison
    d = _transfer_frame(data.panel)
    is_lead = d["lead_type"].astype(str) == lead
    comp = ~is_lead if comparison == "other_led" else pd.Series(True, index=d.index)
    if not is_lead.any():
        raise NotTestable(f"no {lead}-led consortium-years with at least one achievement")
    out: Result = {}
    r1, psi1 = ratio_influence(
        d.loc[is_lead, "achievements_transferred"],
        d.loc[is_lead, "achievements"],
        d.loc[is_lead, CID],
    )
    cr2 = "CR2 SE clustered by consortium, Bell–McCaffrey df"
    base = {
        "rate_lead": r1,
        "achievements_lead": float(d.loc[is_lead, "achievements"].sum()),
        "consortium_years_lead": int(is_lead.sum()),
    }
    if "level" in ctx.wanted:
        out["level"] = _rate_groups_test(
            d,
            {f"{lead}-led": is_lead},
            lambda v: (np.array([1.0]), v),
            r1,
            ctx,
            method=f"achievement-weighted rate Σ transferred / Σ achievements over {lead}-led "
            f"consortium-years; {cr2}",
            details=dict(base),
            short="Weighted rate, CR2",
        )
    if "gap" in ctx.wanted:
        if not comp.any():
            out["gap"] = Unavailable(f"no consortium-years in the comparison group {comparison!r}")
        else:
            r0, psi0 = ratio_influence(
                d.loc[comp, "achievements_transferred"],
                d.loc[comp, "achievements"],
                d.loc[comp, CID],
            )
            det = dict(
                base,
                rate_comparison=r0,
                comparison=comparison,
                consortium_years_comparison=int(comp.sum()),
            )
            what = (
                f"difference of achievement-weighted rates, {lead}-led minus "
                f"{comparison.replace('_', '-')}"
            )
            if comparison == "other_led":
                out["gap"] = _rate_groups_test(
                    d,
                    {f"{lead}-led": is_lead, comparison: comp},
                    lambda v: (np.array([1.0, -1.0]), v),
                    r1 - r0,
                    ctx,
                    method=f"{what}; {cr2}",
                    details=det,
                    short="Difference of weighted rates, CR2",
                )
            else:
                # the comparison group contains the lead group: not a regression on disjoint
                # group dummies, so the linearised CR1 SE with t(G − 1)
                se, g = linearised_se([(1.0, psi1), (-1.0, psi0)])
                out["gap"] = wald_estimate(
                    r1 - r0,
                    se,
                    g - 1,
                    ctx,
                    n_obs=int((is_lead | comp).sum()),
                    n_clusters=g,
                    method=f"{what}; linearised SE clustered by consortium (CR1, covariance of "
                    "the overlapping groups included), t(G−1) CI",
                    details=det,
                    short="Difference of weighted rates, cluster-robust",
                )
    if "gap_unclustered" in ctx.wanted:
        out["gap_unclustered"] = _gap_unclustered(d, is_lead, comp, comparison, lead, ctx)
    if "gap_adjusted" in ctx.wanted:
        adj = dict(claim.params.get("adjusted") or {})
        controls = list(adj.get("controls", ["industry", "n_members"]))
        fes = list(adj.get("fixed_effects", ["year"]))
        pan = model_columns(
            data.panel,
            ["lead_type", "transfer_rate", "achievements", "achievements_transferred"],
            controls,
            fes,
        )
        pan["lead_is_" + lead] = (pan["lead_type"].astype(str) == lead).astype(float)
        add_transfer_rate(pan)
        term = "lead_is_" + lead
        spec = {
            "name": f"claim_{claim.id}_fraclogit",
            "outcome": "transfer_rate",
            "regressors": [term],
            "controls": controls,
            "estimator": "fraclogit",
            "fixed_effects": fes,
            "cluster": [CID],
        }
        note = (
            ""
            if comparison == "other_led"
            else " (the AME always compares with all other-led consortia, whatever the "
            "comparison group of the raw gap)"
        )
        out["gap_adjusted"] = marginal_effect_estimate(
            fit_or_unavailable(spec, pan),
            term,
            ctx,
            method="fractional logit (Papke–Wooldridge QMLE) of the consortium-year transfer "
            f"rate on a {lead}-led dummy + {', '.join(controls)}, "
            f"{' + '.join(fes)} effects; average discrete change 0→1 (AME), "
            "delta-method SE clustered by consortium (CR1)" + note,
            details={
                "weighting": "one observation per consortium-year with ≥ 1 "
                "achievement (not achievement-weighted)",
            },
        )
    return out


def _gap_unclustered(
    d: pd.DataFrame, is_lead: pd.Series, comp: pd.Series, comparison: str, lead: str, ctx: Context
) -> Estimate | Unavailable:
    """The gap of pooled rates with Newcombe's hybrid score interval, every achievement an
    independent trial: the interval a reader ignoring clustering would report."""
    if comparison != "other_led":
        return Unavailable(
            f"comparison {comparison!r} contains the {lead}-led consortia: the two rates are "
            "not independent samples (Newcombe's interval needs comparison: other_led)"
        )
    if not comp.any():
        return Unavailable(f"no consortium-years in the comparison group {comparison!r}")
    k1, n1 = (float(d.loc[is_lead, c].sum()) for c in ("achievements_transferred", "achievements"))
    k0, n0 = (float(d.loc[comp, c].sum()) for c in ("achievements_transferred", "achievements"))
    p1, p0 = k1 / n1, k0 / n0
    return with_tails(
        IntervalTails(p1 - p0, lambda level: newcombe_interval(k1, n1, k0, n0, level)),
        ctx,
        estimate=p1 - p0,
        se=math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0),
        n_obs=int(n1 + n0),
        n_clusters=int(d.loc[is_lead | comp, CID].nunique()),
        method=f"difference of pooled transfer rates, {lead}-led minus other-led, with "
        "Newcombe's (1998) hybrid score interval treating the N achievements as independent "
        "trials (unclustered; SE: unclustered Wald, for power only)",
        details={
            "transferred_lead": k1,
            "achievements_lead": n1,
            "transferred_comparison": k0,
            "achievements_comparison": n0,
        },
        short="Newcombe score interval, unclustered",
    )


@evaluator(
    "rate_ratio",
    tests=("ratio", "ratio_within_lead"),
    description="ratio of achievement-weighted transfer rates, consortium-years with ≥ 1 "
    "university / research-institute member vs the comparison group",
    allowed_params=("lead",),
    comparisons=("enterprise_only", "no_academic_partner"),
)
def eval_rate_ratio(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    comparison = claim.comparison
    lead = claim.params.get("lead", "enterprise")
    extra = ["has_academic_partner"] + (
        ["share_enterprise"] if comparison == "enterprise_only" else []
    )
    d = _transfer_frame(data.panel, extra).dropna(subset=extra)
    acad = as_bool(d["has_academic_partner"])
    if comparison == "enterprise_only":
        comp = pd.to_numeric(d["share_enterprise"]).astype(float) >= 1 - 1e-9
    else:
        comp = ~acad
    out: Result = {}
    for name, within in (("ratio", None), ("ratio_within_lead", lead)):
        if name not in ctx.wanted:
            continue
        m = (
            pd.Series(True, index=d.index)
            if within is None
            else (d["lead_type"].astype(str) == within)
        )
        a, c = acad & m, comp & m
        if not a.any() or not c.any():
            out[name] = Unavailable(
                "no consortium-years "
                + (
                    "with an academic partner"
                    if not a.any()
                    else f"in the comparison group {comparison!r}"
                )
                + ("" if within is None else f" among {within}-led consortia")
            )
            continue
        ra, rc = (
            float(d.loc[g, "achievements_transferred"].sum() / d.loc[g, "achievements"].sum())
            for g in (a, c)
        )
        if ra <= 0 or rc <= 0:
            out[name] = Unavailable("a transfer rate of zero: the ratio is not defined")
            continue
        out[name] = _rate_groups_test(
            d,
            {"academic-partner": a, comparison.replace("_", "-"): c},
            lambda v: (np.array([1.0, -v]), 0.0),
            ra / rc,
            ctx,
            scale="log",
            method="ratio of achievement-weighted transfer rates (academic partner / "
            f"{comparison.replace('_', '-')})"
            + ("" if within is None else f" within {within}-led consortia")
            + "; CR2 SE clustered by consortium (delta method for the log ratio), "
            "Bell–McCaffrey df, CI by inverting the tests of rate_a = θ·rate_c",
            details={
                "rate_academic": ra,
                "rate_comparison": rc,
                "comparison": comparison,
                "consortium_years_academic": int(a.sum()),
                "consortium_years_comparison": int(c.sum()),
            },
            short="Ratio of weighted rates, CR2",
        )
    return out
