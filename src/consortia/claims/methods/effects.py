"""Regression effects and elasticities: the industry interactions of the performance
equation (``industry_heterogeneity``), the subsidy elasticity of R&D spending
(``subsidy_elasticity``) and the effect of a regressor on the transfer rate
(``rate_effect``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import (
    CID,
    ClaimData,
    Context,
    NotTestable,
    Result,
    add_transfer_rate,
    as_bool,
    coefficient_estimate,
    evaluator,
    fit_model,
    fit_or_unavailable,
    marginal_effect_estimate,
    model_columns,
)
from ..records import ClaimRecord


def _log_positive(s: pd.Series) -> pd.Series:
    x = pd.to_numeric(s, errors="coerce").astype(float)
    return np.log(x.where(x > 0))


@evaluator(
    "industry_heterogeneity",
    tests=("subsidy_high_tech", "industrial_traditional"),
    description="performance equation (two-way FE) with high_tech × log subsidy and "
    "traditional × industrial_task_share interactions",
    allowed_params=("outcome", "log_outcome", "subsidy", "share", "controls", "estimator"),
    comparisons=(None,),
)
def eval_industry_heterogeneity(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    p = claim.params
    outcome = p.get("outcome", "new_product_revenue")
    subsidy = p.get("subsidy", "subsidy")
    share = p.get("share", "industrial_task_share")
    controls = list(p.get("controls", ["n_members"]))
    pan = model_columns(data.panel, ["high_tech", outcome, subsidy, share], controls)
    ht = as_bool(pan["high_tech"]).where(pan["high_tech"].notna())
    if ht.dropna().nunique() < 2:
        raise NotTestable("high_tech does not vary across consortia: no interaction to estimate")
    y = f"log_{outcome}" if p.get("log_outcome", True) else outcome
    if p.get("log_outcome", True):
        pan[y] = _log_positive(pan[outcome])
    pan["log_subsidy"] = _log_positive(pan[subsidy])
    pan["high_tech_x_log_subsidy"] = ht.astype(float) * pan["log_subsidy"]
    pan[f"traditional_x_{share}"] = (1 - ht.astype(float)) * pd.to_numeric(pan[share])
    regs = ["log_subsidy", "high_tech_x_log_subsidy", share, f"traditional_x_{share}"]
    spec = {
        "name": f"claim_{claim.id}",
        "outcome": y,
        "regressors": regs,
        "controls": controls,
        "estimator": p.get("estimator", "twfe"),
        "fixed_effects": [CID, "year"],
        "cluster": [CID],
    }
    res = fit_model(spec, pan)
    how = (
        f"{res.estimator_label}: {y} on log subsidy, {share}, their interactions with "
        f"high_tech / traditional"
        + (f" + {', '.join(controls)}" if controls else "")
        + "; consortium and year effects; SE clustered by consortium (CR1)"
    )
    out: Result = {}
    if "subsidy_high_tech" in ctx.wanted:
        out["subsidy_high_tech"] = coefficient_estimate(
            res,
            "high_tech_x_log_subsidy",
            ctx,
            "interaction high_tech × log subsidy — " + how,
            short="TWFE interaction, CR1",
        )
    if "industrial_traditional" in ctx.wanted:
        out["industrial_traditional"] = coefficient_estimate(
            res,
            f"traditional_x_{share}",
            ctx,
            f"interaction traditional × {share} — " + how,
            short="TWFE interaction, CR1",
        )
    return out


@evaluator(
    "subsidy_elasticity",
    tests=("elasticity",),
    description="within-consortium elasticity of R&D expenditure with respect to the subsidy "
    "(two-way fixed effects)",
    allowed_params=("outcome", "subsidy", "controls", "net_of_subsidy"),
    comparisons=(None,),
)
def eval_subsidy_elasticity(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    p = claim.params
    outcome = p.get("outcome", "rd_expenditure")
    subsidy = p.get("subsidy", "subsidy")
    controls = list(p.get("controls", ["n_members"]))
    pan = model_columns(data.panel, [outcome, subsidy], controls)
    n_not_private = 0
    if p.get("net_of_subsidy", False):
        # R&D spending that includes the subsidy rises with it by construction: crowding-in
        # is about the part the consortium pays itself
        private = pd.to_numeric(pan[outcome]) - pd.to_numeric(pan[subsidy])
        n_not_private = int((private <= 0).sum())
        outcome = f"private_{outcome}"
        pan[outcome] = private
    pan[f"log_{outcome}"] = _log_positive(pan[outcome])
    pan[f"log_{subsidy}"] = _log_positive(pan[subsidy])
    spec = {
        "name": f"claim_{claim.id}",
        "outcome": f"log_{outcome}",
        "regressors": [f"log_{subsidy}"],
        "controls": controls,
        "estimator": "twfe",
        "fixed_effects": [CID, "year"],
        "cluster": [CID],
    }
    res = fit_model(spec, pan)
    out: Result = {}
    if "elasticity" in ctx.wanted:
        out["elasticity"] = coefficient_estimate(
            res,
            f"log_{subsidy}",
            ctx,
            f"two-way FE (consortium, year) of log {outcome} on log {subsidy}"
            + (f" + {', '.join(controls)}" if controls else "")
            + "; SE clustered by consortium (CR1); within-consortium association, not an "
            "instrumented causal effect",
            details={
                "rows_dropped_missing_or_nonpositive_money": int(
                    res.sample_report.get("n_dropped_missing", 0)
                ),
                "rows_with_subsidy_at_least_rd": n_not_private,
            },
            short="TWFE log-log, CR1",
        )
    return out


@evaluator(
    "rate_effect",
    tests=("ame", "within"),
    description="effect of a consortium-year regressor on the transfer rate: fractional-logit "
    "average marginal effect with controls, and the within-consortium (two-way FE) slope",
    allowed_params=("regressor", "outcome", "controls", "fixed_effects"),
    comparisons=(None,),
)
def eval_rate_effect(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    p = claim.params
    regressor = p.get("regressor", "chain_coverage")
    outcome = p.get("outcome", "transfer_rate")
    controls = list(p.get("controls", ["lead_type", "industry", "n_members"]))
    fes = list(p.get("fixed_effects", ["year"]))
    pan = model_columns(
        data.panel, [regressor, outcome, "achievements", "achievements_transferred"], controls, fes
    )
    if outcome == "transfer_rate":
        add_transfer_rate(pan)
    x = pd.to_numeric(pan[regressor], errors="coerce")
    if x.dropna().nunique() < 2:
        raise NotTestable(f"{regressor} does not vary: no effect to estimate")
    out: Result = {}
    if "ame" in ctx.wanted:
        res = fit_or_unavailable(
            {
                "name": f"claim_{claim.id}_fraclogit",
                "outcome": outcome,
                "regressors": [regressor],
                "controls": controls,
                "estimator": "fraclogit",
                "fixed_effects": fes,
                "cluster": [CID],
            },
            pan,
        )
        out["ame"] = marginal_effect_estimate(
            res,
            regressor,
            ctx,
            method=f"fractional logit (Papke–Wooldridge QMLE) of the consortium-year {outcome} "
            f"on {regressor} + {', '.join(controls)}, {' + '.join(fes)} effects; average "
            f"marginal effect of {regressor} (derivative averaged over the sample, per unit), "
            "delta-method SE clustered by consortium (CR1)",
        )
    if "within" in ctx.wanted:
        within_controls = [c for c in controls if c in ("n_members",)]
        res = fit_or_unavailable(
            {
                "name": f"claim_{claim.id}_twfe",
                "outcome": outcome,
                "regressors": [regressor],
                "controls": within_controls,
                "estimator": "twfe",
                "fixed_effects": [CID, "year"],
                "cluster": [CID],
            },
            pan,
        )
        out["within"] = coefficient_estimate(
            res,
            regressor,
            ctx,
            f"two-way FE (consortium, year) linear model of {outcome} on {regressor}"
            + (f" + {', '.join(within_controls)}" if within_controls else "")
            + "; identified by changes in membership within a consortium; SE clustered by "
            "consortium (CR1)",
            short="TWFE within slope, CR1",
        )
    return out

