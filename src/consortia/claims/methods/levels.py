"""Which level is best: pairwise contrasts of a performance outcome across lead types
(``best_level``), CR2 with Bell–McCaffrey df for OLS, the estimator's own clustered variance
otherwise; the claimed best level must beat every other (intersection–union)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from consortia.estimate.spec import ESTIMATOR_LABELS

from ..catalogue import (
    CID,
    ClaimData,
    Context,
    NotTestable,
    Result,
    Unavailable,
    evaluator,
    fit_model,
    model_columns,
    with_tails,
)
from ..cr2 import CR2Fit
from ..inference import WaldTails
from ..records import ClaimRecord
from ..verdict import Contrast, judge_contrasts


def _check_best(claim: ClaimRecord) -> None:
    comparison = claim.comparison
    for t in claim.tests:
        if t.claimed.kind == "best" and (
            not isinstance(comparison, tuple) or set(comparison) != set(t.claimed.over)
        ):
            raise ValueError(
                f"test {t.name!r} compares {t.claimed.best!r} with {list(t.claimed.over)} but the "
                f"record's comparison is {comparison!r}: they must list the same levels"
            )
    unknown = sorted(set(claim.params.get("models") or {}) - {t.name for t in claim.tests})
    if unknown:
        raise ValueError(f"params.models has entries for no test: {unknown}")


@evaluator(
    "best_level",
    tests=("transfer_rate", "patents", "achievements", "new_product_revenue"),
    description="pairwise contrasts of a performance outcome across lead types (regression with "
    "controls), Holm-adjusted; the claimed best level must beat every other",
    supports_best=True,
    best_tests=("transfer_rate", "patents", "achievements", "new_product_revenue"),
    allowed_params=("factor", "models"),
    comparisons=None,
    check=_check_best,
)
def eval_best_level(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    factor = claim.params.get("factor", "lead_type")
    models = dict(claim.params.get("models") or {})
    out: Result = {}
    for test in claim.tests:
        if test.name not in ctx.wanted:
            continue
        if test.name not in models:
            raise NotTestable(f"params.models has no entry for test {test.name!r}")
        m = dict(models[test.name])
        best, over = test.claimed.best, list(test.claimed.over)
        levels = [best, *over]
        pan = model_columns(
            data.panel,
            [factor, m["outcome"]],
            m.get("controls", []),
            m.get("fixed_effects", ["year"]),
        )
        pan = pan[pan[factor].astype(str).isin(levels)].copy()
        pan[factor] = pan[factor].astype(str)
        present = set(pan[factor].unique())
        missing = [lv for lv in levels if lv not in present]
        if missing:
            out[test.name] = Unavailable(f"no rows for {factor} level(s) {missing}")
            continue
        spec = {
            "name": f"claim_{claim.id}_{test.name}",
            "outcome": m["outcome"],
            "regressors": [factor],
            "controls": list(m.get("controls", [])),
            "estimator": m.get("estimator", "ols"),
            "fixed_effects": list(m.get("fixed_effects", ["year"])),
            "cluster": [CID],
            "reference_levels": {factor: best},
        }
        terms = {lv: f"{factor}[{lv}]" for lv in over}
        contrasts = _cr2_contrasts if spec["estimator"] == "ols" else _fitted_contrasts
        try:  # one outcome's model failing leaves the other tests of the claim
            fitted = contrasts(spec, pan, terms, best, ctx.ci_level)
        except NotTestable as exc:
            out[test.name] = Unavailable(exc.reason, exc.missing)
            continue
        cons = fitted.contrasts
        judge_contrasts(test.claimed, cons)
        binding = max(cons, key=lambda c: c.p_support)
        estimator = spec["estimator"]
        unit = {"ppml": "log points", "fraclogit": "log-odds"}.get(estimator, "outcome units")
        est = with_tails(
            binding.tails,
            ctx,
            estimate=binding.estimate,
            se=binding.std_error,
            df=binding.tails.df,
            n_obs=fitted.nobs,
            n_clusters=fitted.n_clusters,
            method=f"{ESTIMATOR_LABELS[estimator]} of {m['outcome']} on {factor} "
            f"(reference {best})"
            + (f" + {', '.join(spec['controls'])}" if spec["controls"] else "")
            + f", {' + '.join(spec['fixed_effects'])} effects; {fitted.inference}; "
            f"the {len(cons)} contrasts {best} − each other level ({unit}); supported only "
            "if every one is above 0 (intersection–union test); the estimate shown is the "
            "contrast nearest to failing",
            contrasts=cons,
            short=f"{estimator.upper()} contrasts, intersection–union",
            details={
                "model": spec["name"],
                "formula": fitted.formula,
                "binding_rival": binding.second,
                "notes": fitted.notes,
            },
        )
        out[test.name] = est
    return out


def _contrast(res, terms: dict[str, str], best: str, other: str, level: float) -> Contrast:
    """``best − other`` from a fit with ``best`` as the reference level (coef = other − best).
    NotTestable when its standard error is not positive (a level held by too few consortia
    for a cluster-robust variance)."""
    est = -float(res.params[terms[other]])
    se = float(res.std_errors[terms[other]])
    if not (math.isfinite(se) and se > 0):
        raise NotTestable(
            f"the {best} − {other} contrast has no positive standard error ({se}): too few "
            "consortia of one level for a cluster-robust variance"
        )
    tails = WaldTails(est, se, res.df_inference)
    lo, hi = tails.interval(level)
    return Contrast(best, other, est, se, lo, hi, tails=tails)


@dataclass
class LevelContrasts:
    """The contrasts of a best-level test and what the table says about their model."""

    contrasts: list[Contrast]
    inference: str
    nobs: int
    n_clusters: int
    formula: str
    notes: list[str]


def _fitted_contrasts(
    spec: dict, pan: pd.DataFrame, terms: dict[str, str], best: str, level: float
) -> LevelContrasts:
    """``best − other`` for each level of ``terms`` from the model of ``spec`` (the
    estimator's own cluster-robust variance)."""
    res = fit_model(spec, pan)
    if any(t not in res.params for t in terms.values()):
        raise NotTestable(f"a contrast of {list(terms)} is not estimable: {res.dropped_terms}")
    return LevelContrasts(
        contrasts=[_contrast(res, terms, best, other, level) for other in terms],
        inference=f"SE clustered by consortium ({res.small_sample}), "
        f"{'t(G−1)' if res.df_inference else 'normal'} tests",
        nobs=res.nobs,
        n_clusters=int(res.n_clusters.get(CID, 0)),
        formula=res.formula,
        notes=res.notes,
    )


def _cr2_contrasts(
    spec: dict, pan: pd.DataFrame, terms: dict[str, str], best: str, level: float
) -> LevelContrasts:
    """``best − other`` for each level of ``terms`` from the OLS fit of ``spec`` with CR2
    standard errors and Bell–McCaffrey df (:mod:`.cr2`): a lead type held by a few dozen
    consortia or fewer makes CR1 with t(G − 1) over-reject. The design (sample, dummies,
    columns the data identify) is the estimation module's; the fixed effects enter as
    dummies, so the hat matrix CR2 adjusts by is the fit's own."""
    from consortia.estimate import SpecError
    from consortia.estimate.design import build_design
    from consortia.estimate.identification import identify
    from consortia.estimate.linear import not_identified_notes
    from consortia.estimate.spec import ModelSpec

    try:
        design = identify(build_design(ModelSpec.from_dict(spec), pan))
    except SpecError as exc:
        raise NotTestable(str(exc)) from exc
    column = {design.labels.get(c, c): c for c in design.X.columns}
    if any(t not in column for t in terms.values()):
        raise NotTestable(
            f"a contrast of {list(terms)} is not estimable: {sorted(design.not_identified)}"
        )
    effects = [
        pd.get_dummies(design.frame[fe], prefix=fe, drop_first=True, dtype=float)
        for fe in design.absorbed
    ]
    X = pd.concat(
        [pd.Series(1.0, index=design.X.index, name="_constant"), design.X, *effects], axis=1
    )
    clusters = design.clusters[:, 0]
    fit = CR2Fit(X.to_numpy(dtype=float), design.y.to_numpy(dtype=float), clusters)
    out = []
    for other, term in terms.items():
        c = -(X.columns == column[term]).astype(float)  # the coefficient is other − best
        se, df = fit.se(c), fit.df(c)
        if not (fit.varies(c) and math.isfinite(se) and math.isfinite(df)):
            raise NotTestable(
                f"the {best} − {other} contrast has no CR2 standard error beyond rounding "
                f"({se:.3g})"
            )
        estimate = float(c @ fit.beta)
        tails = WaldTails(estimate, se, df)
        out.append(Contrast(best, other, estimate, se, *tails.interval(level), tails=tails))
    return LevelContrasts(
        contrasts=out,
        inference="CR2 SE clustered by consortium, Bell–McCaffrey df",
        nobs=len(design.y),
        n_clusters=len(np.unique(clusters)),
        formula=design.formula(),
        notes=design.notes + not_identified_notes(design.not_identified),
    )
