"""The S→C and C→P equations as one system: seemingly unrelated regressions.

:func:`system_fit` estimates linear specs (``ols`` or ``twfe``) jointly as
``linearmodels.system.SUR`` does, and returns one :class:`FitResult` per equation,
so :func:`consortia.estimate.tables.regression_table` renders them as a
robustness table next to the equation-by-equation fits.

Sample.  SUR needs the same observations in every equation: the system is
estimated on the rows every equation keeps (each spec's sample filter,
complete cases in all variables of all equations, fixed-effect singletons
dropped); the fits record how many rows that cost.

Fixed effects.  The entity effect (nested in the clusters) is removed by
demeaning every variable within entity; other effects (year) enter as
dummies (first level omitted), demeaned too.  By Frisch–Waugh–Lovell this
gives exactly the two-way FE coefficients; for ``ols`` specs an intercept
and the effect dummies are regressors.

Estimator.  ``method="auto"`` (linearmodels' default): equation-by-equation
OLS when every equation has the same regressors (SUR then *is* OLS), else
one-step feasible GLS with Σ̂ = ε̂′ε̂/N from the OLS residuals.  ``"gls"``
forces FGLS (with identical regressors it still reproduces OLS: the
closed-form fact the tests check), ``"ols"`` forces OLS.

Standard errors (the convention, also written into each fit's
``small_sample`` text so that tables print it as its own footnote): as
linearmodels ``fit(cov_type="clustered", clusters=<cluster codes>,
debiased=False, group_debias=False)``, the raw cluster sandwich of the
stacked scores, B (Σ_g s_g s_g′) B, with B the (GLS) bread; it is scaled,
block (i, j) of equations, by √(f_i f_j) with f_i the package's CR1 factor
G/(G−1)·(N−1)/(N−K_i) (K_i counting the intercept absorbed in the nested
entity effect, as R fixest / Stata reghdfe).  Hence with OLS the standard
errors are the equation-by-equation CR1 SEs of :func:`consortia.estimate.fit`
(tested).  t(G−1) inference as for the other linear models.  One-way
clustering only (linearmodels' two-way system covariance scales each term
with its own G, not the package's min(G₁, G₂)).

Computation (:func:`_sur`): not linearmodels' stacked block-diagonal system
(an N·m × Σk dense matrix: 17 GB at a million rows and four equations) but
its blocks X_i′X_j, X_i′y_j and the clusters' score sums (``bincount``); the
tests check coefficients, Σ̂ and covariance against linearmodels SUR to 1e-10.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .algebra import group_demean, independent_columns, nested, variable_matrix
from .design import Design, build_design
from .identification import identify
from .linear import not_identified_notes
from .results import FitResult, inference, software_versions, term_estimates
from .spec import ModelSpec, SpecError
from .vcov import cluster_sums, clustering_text, cr_factor, small_sample_text

__all__ = ["SUR_SE_TEXT", "system_fit"]

SUR_SE_TEXT = (
    "SUR: linearmodels clustered system covariance (raw sandwich of the stacked scores), "
    "block (i, j) scaled by sqrt(f_i·f_j), f the CR1 factor of each equation"
)
_TOL = 1e-10


def _common_designs(specs: list[ModelSpec], data: pd.DataFrame) -> tuple[list[Design], int]:
    """Designs of all specs on the rows every one of them keeps (iterated to a fixed point)."""
    data = data.reset_index(drop=True)
    n0 = len(data)
    current = data
    for _ in range(10):
        designs = [build_design(s, current) for s in specs]
        common = designs[0].frame.index
        for d in designs[1:]:
            common = common.intersection(d.frame.index)
        if all(len(d.frame.index) == len(common) for d in designs):
            return designs, n0 - len(common)
        if len(common) == 0:
            raise SpecError("system: no observation is in the estimation sample of every equation")
        designs = None  # free this round's design matrices before building the next
        current = current.loc[common]
    raise SpecError("system: the common estimation sample did not settle")  # pragma: no cover


def _equation(design: Design, data: pd.DataFrame) -> dict[str, Any]:
    """Regressors (demeaned / dummies / intercept) of one equation, as in the module docstring."""
    spec = design.spec
    idx = design.frame.index
    cl = pd.factorize(data.loc[idx, spec.cluster_vars[0]])[0]
    within = None
    dummies = []
    for fe in spec.fixed_effects:
        codes = pd.factorize(data.loc[idx, fe])[0]
        if fe == spec.entity:
            if not nested(codes, cl):
                raise SpecError(
                    f"system: the {fe!r} effects of {spec.name!r} are not nested in the "
                    f"clusters {spec.cluster_vars[0]!r}"
                )
            within = codes
        else:
            dummies.append(fe)
    labels = dict(design.labels)
    names = list(design.X.columns)
    levels_of = []
    for fe in dummies:
        vals = data.loc[idx, fe].to_numpy()
        levels = sorted(pd.unique(vals).tolist(), key=str)
        for lev in levels[1:]:
            col = f"{fe}__{lev}"
            levels_of.append((vals, lev))
            names.append(col)
            labels[col] = f"{fe}[{lev}]"
    raw = variable_matrix(design.X, levels_of, design.y, intercept=within is None)
    if within is None:
        names = ["const", *names]
        labels["const"] = "(Intercept)"
        Z = raw
    else:
        Z = group_demean(raw, within)
    Ad, yd, y = Z[:, :-1], Z[:, -1], raw[:, -1]
    scale = np.einsum("ij,ij->j", raw[:, :-1], raw[:, :-1])
    keep = independent_columns(Ad.T @ Ad, range(Ad.shape[1]), _TOL, scale)
    dropped = [labels[names[j]] for j in range(len(names)) if j not in keep]
    return {
        "X": Ad[:, keep] if len(keep) < Ad.shape[1] else Ad,
        "y": yd,
        "y_raw": y,
        "names": [names[j] for j in keep],
        "terms": [labels[names[j]] for j in keep],
        "dropped": dropped,
        "within": within,
        "dummies": dummies,
        "clusters": cl,
        # K as fixest counts it: the nested entity effect adds its absorbed intercept
        "k": len(keep) + (1 if within is not None else 0),
    }


def _within_tss(eq: dict[str, Any], spec: ModelSpec) -> float:
    """TSS of y net of all fixed effects (pyfixest's within-R² denominator)."""
    y = eq["y"]
    D = [
        j for j, n in enumerate(eq["names"]) if any(n.startswith(f"{fe}__") for fe in eq["dummies"])
    ]
    if D:
        Xd = eq["X"][:, D]
        y = y - Xd @ np.linalg.lstsq(Xd, y, rcond=None)[0]
    return float(y @ y)


def _sur(
    eqs: list[dict[str, Any]], clusters: np.ndarray, G: int, *, gls: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stacked coefficients, raw clustered covariance, residuals (n × equations) and Σ̂ of SUR.

    Everything is assembled from per-equation blocks X_i′X_j and X_i′y_j, as
    linearmodels' ``SUR.fit(cov_type="clustered", debiased=False)`` computes it
    on the stacked block-diagonal system (which at a million rows and four
    equations costs some 17 GB): OLS residuals, Σ̂ = ε̂′ε̂/N, then the one-step
    FGLS normal equations Σ_ij (Σ̂⁻¹)_ij X_i′X_j β_j = Σ_j (Σ̂⁻¹)_ij X_i′y_j.
    Scores of equation j at row n: x_jn · (ε̂_n′Σ̂⁻¹)_j (GLS) or x_jn · ε̂_jn (OLS),
    summed within clusters; covariance B⁻¹ (Σ_g s_g s_g′) B⁻¹ with B the GLS
    (or block-diagonal OLS) cross-product, symmetrised.
    """
    m = len(eqs)
    X = [eq["X"] for eq in eqs]
    y = np.column_stack([eq["y"] for eq in eqs])
    sizes = [x.shape[1] for x in X]
    at = np.concatenate([[0], np.cumsum(sizes)])
    # the equations share most regressors: one cross-product of the distinct columns
    # (and the outcomes) holds every block X_i′X_j and X_i′y_j
    distinct: list[np.ndarray] = []
    where: list[list[int]] = []
    seen: dict[str, list[int]] = {}
    for eq in eqs:
        cols = []
        for name, col in zip(eq["names"], eq["X"].T, strict=True):
            match = next((c for c in seen.get(name, []) if np.array_equal(distinct[c], col)), None)
            if match is None:
                match = len(distinct)
                distinct.append(col)
                seen.setdefault(name, []).append(match)
            cols.append(match)
        where.append(cols)
    U = np.column_stack([*distinct, y])
    del distinct
    gram = U.T @ U
    del U
    ys = [gram.shape[0] - m + i for i in range(m)]
    blocks = [[gram[np.ix_(where[i], where[j])] for j in range(m)] for i in range(m)]
    xy = [[gram[where[i], ys[j]] for j in range(m)] for i in range(m)]
    ols = [np.linalg.solve(blocks[i][i], xy[i][i]) for i in range(m)]
    resid = np.column_stack([y[:, i] - X[i] @ ols[i] for i in range(m)])
    sigma = resid.T @ resid / len(y)
    if not gls:
        bread = np.zeros((at[-1], at[-1]))
        for i in range(m):
            bread[at[i] : at[i + 1], at[i] : at[i + 1]] = blocks[i][i]
        beta = np.concatenate(ols)
        u = resid
    else:
        weights = np.linalg.inv(sigma)
        bread = np.block([[weights[i, j] * blocks[i][j] for j in range(m)] for i in range(m)])
        rhs = np.concatenate([sum(weights[i, j] * xy[i][j] for j in range(m)) for i in range(m)])
        beta = np.linalg.solve(bread, rhs)
        resid = np.column_stack([y[:, i] - X[i] @ beta[at[i] : at[i + 1]] for i in range(m)])
        u = resid @ weights
    # G × k sums over each cluster of the score rows x_n·u_n (never forms the n × k scores)
    sums = np.hstack(
        [
            cluster_sums((X[i][:, j] * u[:, i] for j in range(X[i].shape[1])), clusters, G)
            for i in range(m)
        ]
    )
    bread_inv = np.linalg.inv(bread)
    cov = bread_inv @ (sums.T @ sums) @ bread_inv
    return beta, (cov + cov.T) / 2, resid, sigma


def system_fit(
    specs: Sequence[ModelSpec | dict],
    data: pd.DataFrame,
    *,
    method: str = "auto",
    name: str | None = None,
) -> list[FitResult]:
    """Estimate the specs as one SUR system; one :class:`FitResult` per equation.

    Every spec must be linear (``ols`` or ``twfe``), clustered one way by the
    same variable (the default, the entity).  ``method``: ``"auto"``,
    ``"ols"`` or ``"gls"`` (see the module docstring).  The results have
    ``estimator="sur"``; ``extra`` holds the base estimator of the spec, the
    method used, the residual correlation matrix and the system's name.
    """
    specs = [s if isinstance(s, ModelSpec) else ModelSpec.from_dict(s) for s in specs]
    if len(specs) < 2:
        raise SpecError("system: at least two equations are needed")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SpecError(f"system: equation names must be unique, got {names}")
    for s in specs:
        if s.estimator not in ("ols", "twfe"):
            raise SpecError(
                f"system: {s.name!r} has estimator {s.estimator!r}; SUR takes linear "
                "equations ('ols' or 'twfe')"
            )
        if s.is_driscoll_kraay or len(s.cluster_vars) != 1:
            raise SpecError(f"system: {s.name!r} must be clustered by exactly one variable")
    clusters = {s.cluster_vars[0] for s in specs}
    if len(clusters) > 1:
        raise SpecError(f"system: all equations must share one cluster variable, got {clusters}")
    if method not in ("auto", "ols", "gls"):
        raise SpecError(f"system: method must be 'auto', 'ols' or 'gls', not {method!r}")

    if not any(s.sample for s in specs):  # a sample filter may use any column
        needed = dict.fromkeys(c for s in specs for c in s.required_columns())
        data = data[[c for c in needed if c in data.columns]]
    data = data.reset_index(drop=True)
    designs, n_lost = _common_designs(specs, data)
    designs = [identify(d) for d in designs]
    eqs = [_equation(d, data) for d in designs]
    # the equations hold their numeric designs; of the Design objects only text is used
    records = [(d.formula(), d.report, d.not_identified, d.notes) for d in designs]
    del designs
    n = len(eqs[0]["y"])
    cl = eqs[0]["clusters"]
    G = int(cl.max()) + 1

    common_exog = all(
        eq["names"] == eqs[0]["names"] and np.array_equal(eq["X"], eqs[0]["X"]) for eq in eqs[1:]
    )
    used = "OLS" if method == "ols" or (method == "auto" and common_exog) else "GLS"
    params, cov, resid, _ = _sur(eqs, cl, G, gls=used == "GLS")
    factors = np.concatenate(
        [
            np.full(len(eq["names"]), cr_factor(G, n, eq["k"], s.vcov.small_sample))
            for s, eq in zip(specs, eqs, strict=True)
        ]
    )
    cov = cov * np.sqrt(np.outer(factors, factors))
    sd = resid.std(axis=0)
    corr = (
        np.corrcoef(resid, rowvar=False) if (sd > 0).all() else np.full((len(specs),) * 2, np.nan)
    )
    system_name = name or " + ".join(names)

    out = []
    pos = 0
    for j, (s, eq, (formula, report, not_identified, design_notes)) in enumerate(
        zip(specs, eqs, records, strict=True)
    ):
        k = len(eq["names"])
        beta = params[pos : pos + k]
        V = cov[pos : pos + k, pos : pos + k]
        pos += k
        e = resid[:, j]
        ssr = float(e @ e)
        if eq["within"] is not None:
            r2 = {"within": 1 - ssr / _within_tss(eq, s)}
        else:
            yc = eq["y_raw"] - eq["y_raw"].mean()
            r2 = {"overall": 1 - ssr / float(yc @ yc)}
        df = G - 1
        se, stat, p, lo, hi = inference(beta, V, df)
        terms = eq["terms"]
        fe = list(s.fixed_effects)
        label = f"SUR equation ({'FGLS' if used == 'GLS' else 'OLS'})" + (
            f", {' + '.join(fe)} effects" if fe else ""
        )
        notes = report.messages() + not_identified_notes(not_identified) + design_notes
        if n_lost:
            notes.append(
                f"system estimated on the common sample of its {len(specs)} equations: "
                f"N = {n:,d} ({n_lost:,d} row(s) of the data not in every equation)"
            )
        if eq["dropped"]:
            notes.append("dropped as collinear: " + ", ".join(eq["dropped"]))
        out.append(
            FitResult(
                name=s.name,
                estimator="sur",
                estimator_label=label,
                outcome=s.outcome,
                formula=formula + f"  [SUR system: {system_name}]",
                terms=terms,
                **term_estimates(terms, beta, se, stat, p, lo, hi),
                vcov=V.tolist(),
                stat_kind="t",
                df_inference=df,
                nobs=n,
                n_clusters={s.cluster_vars[0]: G},
                r2=r2,
                fixed_effects=fe,
                clustering=clustering_text(s),
                small_sample=small_sample_text(s) + "; " + SUR_SE_TEXT,
                sample=s.sample,
                sample_report=report.__dict__.copy(),
                dropped_terms=[*not_identified, *eq["dropped"]],
                notes=notes,
                extra={
                    "base_estimator": s.estimator,
                    "system": system_name,
                    "system_equations": names,
                    "method": used,
                    "residual_correlation": [[float(x) for x in row] for row in corr],
                    "equation_index": j,
                },
                spec=s.to_dict(),
                software=software_versions(),
            )
        )
    if any(not math.isfinite(x) for r in out for x in r.params.values()):
        warnings.warn("system: some SUR coefficients are not finite", stacklevel=2)
    return out
