"""Random effects and correlated random effects (``re``, ``mundlak``): Swamy–Arora GLS as
linearmodels ``RandomEffects`` computes it, time effects as dummies; Mundlak adds the entity
means of the time-varying regressors (Mundlak 1978; Wooldridge 2019 for unbalanced
panels, hence also the means of the time dummies when they vary across entities). The
clustered sandwich is computed on the GLS quasi-demeaned data, as linearmodels does
(``tests/estimate`` checks the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .algebra import (
    column_major,
    drop_collinear_columns,
    expanded,
    greedy_independent,
    group_sums,
    r_squared,
    solve_refined,
    subtract_expanded,
)
from .design import Design
from .linear import assemble, from_pyfixest, run_pyfixest, with_labels
from .results import FitResult
from .spec import SpecError
from .vcov import sandwich


@dataclass
class RandomEffectsFit:
    """Swamy–Arora random-effects GLS, as linearmodels ``RandomEffects().fit()``.

    ``Xs``, ``e``: the quasi-demeaned regressors and GLS residuals the clustered sandwich
    uses; ``bread`` = (Xs'Xs)⁻¹; ``theta``: one value per entity (codes 0..G−1).
    """

    names: list[str]
    params: np.ndarray
    Xs: np.ndarray
    e: np.ndarray
    bread: np.ndarray
    theta: np.ndarray
    sigma2_effects: float
    sigma2_residual: float
    rho: float
    r2: dict[str, float]
    dropped: list[str]
    within: np.ndarray  # entity-demeaned regressors (kept columns), for the Hausman FE fit
    within_y: np.ndarray

    @property
    def s2(self) -> float:
        """Classical error variance e'e/(N−K) of the GLS regression (linearmodels ``s2``)."""
        n, k = self.Xs.shape
        return float(self.e @ self.e) / (n - k)

    @property
    def cov_classical(self) -> np.ndarray:
        """Non-robust covariance s²(Xs'Xs)⁻¹ (linearmodels ``cov_type="unadjusted"``)."""
        return self.s2 * self.bread

    @property
    def std_errors_classical(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov_classical)), index=self.names)


def random_effects(
    X: np.ndarray, names: list[str], y: np.ndarray, entity: np.ndarray
) -> RandomEffectsFit:
    """Random-effects GLS of ``y`` on a constant and ``X`` (entity codes ``entity``).

    The estimator of linearmodels ``RandomEffects`` (7.1) computed with numpy on the group
    sums: σ²_e from the within regression (df: N − G − rank of the within regressors),
    σ²_u from the between regression of the entity means (df: G − its rank) less σ²_e/T̄
    (T̄ the harmonic mean of the entity sizes), θ_i = 1 − √(σ²_e / (T_i σ²_u + σ²_e)),
    then OLS on the quasi-demeaned data. Ranks are decided on the Gram matrices (a column
    leaves a regression when its residual on the columns before it is below 1e-5 of its
    norm), which is linearmodels' decision unless a regressor is collinear to within a
    relative 1e-5 without being exactly so. ``tests/estimate`` checks the equality with
    linearmodels.
    """
    n = len(y)
    exog = np.empty((n, X.shape[1] + 1), order="F")  # column-major: contiguous columns
    exog[:, 0] = 1.0
    exog[:, 1:] = X
    names = ["const", *names]
    keep, dropped = drop_collinear_columns(exog, names)
    if len(keep) < exog.shape[1]:
        exog = exog[:, keep]
        names = [names[j] for j in keep]
    k = exog.shape[1]
    n_groups = int(entity.max()) + 1
    t = np.bincount(entity, minlength=n_groups).astype(float)
    xbar = group_sums(exog, entity, n_groups) / t[:, None]
    ybar = group_sums(y, entity, n_groups) / t

    # within regression: the variance of the idiosyncratic error
    xw = subtract_expanded(exog, xbar, entity)
    yw = y - ybar[entity]
    x_norm = np.sqrt(np.einsum("ij,ij->j", exog, exog))
    x_norm[x_norm == 0] = 1.0
    gram_w = xw.T @ xw
    keep_w = greedy_independent(gram_w, x_norm)
    _, resid_w = solve_refined(xw, yw, gram_w, xw.T @ yw, keep_w)
    df_within = n - n_groups - len(keep_w)
    # between regression of the entity means: the variance of the effects
    gram_b = xbar.T @ xbar
    keep_b = greedy_independent(gram_b, np.sqrt(np.diag(gram_b)) + (np.diag(gram_b) == 0))
    _, resid_b = solve_refined(xbar, ybar, gram_b, xbar.T @ ybar, keep_b)
    df_between = n_groups - len(keep_b)
    if df_within <= 0 or df_between <= 0:
        raise SpecError(
            "random effects: the within or between regression has no residual degrees of "
            f"freedom (N = {n}, {n_groups} entities)"
        )
    sigma2_e = float(resid_w @ resid_w) / df_within
    t_bar = n_groups / (1.0 / t).sum()
    sigma2_u = max(0.0, float(resid_b @ resid_b) / df_between - sigma2_e / t_bar)
    theta = 1.0 - np.sqrt(sigma2_e / (t * sigma2_u + sigma2_e))

    # GLS on the quasi-demeaned data
    Xs = subtract_expanded(exog, theta[:, None] * xbar, entity)
    ys = y - (theta * ybar)[entity]
    gram_s = Xs.T @ Xs
    beta, e = solve_refined(Xs, ys, gram_s, Xs.T @ ys, list(range(k)))
    bread = np.linalg.inv(gram_s)

    # R² as linearmodels reports them (within, between, overall)
    y_ss = float(y @ y)
    resid_within = yw - xw @ beta
    ub = ybar - xbar @ beta
    uo = y - exog @ beta
    r2 = {
        "within": r_squared(float(resid_within @ resid_within), float(yw @ yw), y_ss, n),
        "between": r_squared(
            float(ub @ ub), float(((ybar - ybar.mean()) ** 2).sum()), float(ybar @ ybar), n_groups
        ),
        "overall": r_squared(float(uo @ uo), float(((y - y.mean()) ** 2).sum()), y_ss, n),
    }
    if k == 1:
        r2 = {key: (v if np.isnan(v) else 0.0) for key, v in r2.items()}
    return RandomEffectsFit(
        names=names,
        params=beta,
        Xs=Xs,
        e=e,
        bread=bread,
        theta=theta,
        sigma2_effects=sigma2_u,
        sigma2_residual=sigma2_e,
        rho=sigma2_u / (sigma2_u + sigma2_e),
        r2=r2,
        dropped=dropped,
        within=xw,
        within_y=yw,
    )


def run_random_effects(design: Design, X: pd.DataFrame) -> RandomEffectsFit:
    """:func:`random_effects` of the design's outcome on a constant and ``X``."""
    return random_effects(
        X.to_numpy(dtype=float),
        list(X.columns),
        design.y.to_numpy(dtype=float),
        design.frame["_entity"].to_numpy(),
    )


def _re_vcov(design: Design, re_: RandomEffectsFit) -> tuple[np.ndarray, int]:
    k = re_.Xs.shape[1]
    V, _, _ = sandwich(re_.bread, re_.Xs * re_.e[:, None], design.clusters, design.spec.vcov, k)
    return V, k


def _varies_within(W: np.ndarray, entity: np.ndarray, counts: np.ndarray, tol: float = 1e-12):
    """Columns of the entity-demeaned ``W`` whose within-entity standard deviation (ddof 0)
    exceeds ``tol`` in some entity (:func:`consortia.estimate.design.time_varying`)."""
    largest = np.abs(W).max(axis=0) if len(W) else np.zeros(W.shape[1])
    varies = largest > tol * np.sqrt(counts.max())  # some |deviation| > tol·√T_i: sd_i > tol
    unsure = np.flatnonzero((largest > tol) & ~varies)
    if len(unsure):
        ss = group_sums(W[:, unsure] ** 2, entity, len(counts))
        varies[unsure] = (np.sqrt(ss / counts[:, None]) > tol).any(axis=0)
    return varies


def hausman_inputs(design: Design, re_: RandomEffectsFit) -> dict:
    """What the classical Hausman test of this RE fit needs, stored with the fit.

    The FE side is the within (entity-demeaned) regression on the design's time-varying
    columns, time dummies first (a regressor collinear with them and the entity effects,
    e.g. age = year − founding year, is the one left out, as a textbook FE spec does),
    with the classical covariance s²(X̃'X̃)⁻¹, s² = RSS/(N − G − K) (linearmodels
    ``PanelOLS(entity_effects=True).fit(cov_type="unadjusted")``). The RE side: the
    coefficients and classical covariance s²(X*'X*)⁻¹, s² = e*'e*/(N − K) of the GLS.
    """
    entity = design.frame["_entity"].to_numpy()
    n_groups = int(entity.max()) + 1
    counts = np.bincount(entity, minlength=n_groups).astype(float)
    position = {c: j for j, c in enumerate(re_.names)}
    columns = [c for c in design.X.columns if c in position]
    W = re_.within[:, [position[c] for c in columns]]
    missing = [c for c in design.X.columns if c not in position]
    if missing:  # left out of the RE fit as collinear in levels; may vary within
        Xm = design.X[missing].to_numpy(dtype=float)
        W = np.column_stack([W, Xm - (group_sums(Xm, entity, n_groups) / counts[:, None])[entity]])
        columns += missing
    varies = _varies_within(W, entity, counts)
    tv = [c for c, v in zip(columns, varies) if v]
    order = [c for c in design.time_dummies if c in tv] + [
        c for c in tv if c not in design.time_dummies
    ]
    where = {c: j for j, c in enumerate(columns)}
    Wo = W[:, [where[c] for c in order]]
    keep, absorbed = drop_collinear_columns(Wo, order)
    order = [order[j] for j in keep]
    Wo = Wo[:, keep]
    gram = Wo.T @ Wo
    b_fe, resid = solve_refined(
        Wo, re_.within_y, gram, Wo.T @ re_.within_y, list(range(len(order)))
    )
    s2_fe = float(resid @ resid) / (len(resid) - n_groups - len(order))
    common = [c for c in order if c in position]
    fe_pos = [order.index(c) for c in common]
    re_pos = [position[c] for c in common]
    label = design.labels
    return {
        "terms": [label.get(c, c) for c in common],
        "b_fe": b_fe[fe_pos],
        "V_fe": (s2_fe * np.linalg.inv(gram))[np.ix_(fe_pos, fe_pos)],
        "s2_fe": s2_fe,
        "b_re": re_.params[re_pos],
        "V_re": re_.cov_classical[np.ix_(re_pos, re_pos)],
        "s2_re": re_.s2,
        "not_identified": [label.get(c, c) for c in absorbed],
    }


def fit_re(design: Design) -> FitResult:
    re_ = run_random_effects(design, design.X)
    V, k = _re_vcov(design, re_)
    extra = {
        "theta_mean": float(np.mean(re_.theta)),
        "sigma2_effects": re_.sigma2_effects,
        "sigma2_residual": re_.sigma2_residual,
        "rho": re_.rho,
        "hausman": hausman_inputs(design, re_),
    }
    labels = dict(design.labels, const="(Intercept)")
    design_l = with_labels(design, labels)
    fml = design.formula().replace(" ~ ", " ~ 1 + ") + f"  [random effect: {design.spec.entity}]"
    dropped = re_.dropped
    notes = ["dropped as collinear: " + ", ".join(dropped)] if dropped else []
    return assemble(
        design_l,
        "re",
        re_.names,
        re_.params,
        V,
        fml,
        re_.r2,
        True,
        k,
        dropped=dropped,
        extra=extra,
        notes=notes,
    )


def mundlak_columns(design: Design) -> pd.DataFrame:
    """Entity means of the time-varying columns (incl. time dummies), over the sample."""
    entity = design.frame["_entity"].to_numpy()
    n_groups = int(entity.max()) + 1
    counts = np.bincount(entity, minlength=n_groups).astype(float)
    X = design.X.to_numpy(dtype=float)
    means = group_sums(X, entity, n_groups) / counts[:, None]
    varies = _varies_within(subtract_expanded(X, means, entity), entity, counts)
    M = expanded(means[:, varies], entity)
    names = [c for c, v in zip(design.X.columns, varies) if v]
    # means that do not vary across entities (e.g. time dummies of a balanced panel) are
    # collinear with the constant: leave them out
    spread = M.std(axis=0) if len(M) else np.zeros(M.shape[1])
    keep = spread > 1e-12
    return pd.DataFrame(
        M[:, keep],
        index=design.X.index,
        columns=[f"mean__{c}" for c, k in zip(names, keep) if k],
    )


def fit_mundlak(design: Design) -> FitResult:
    M = mundlak_columns(design)
    labels = dict(design.labels, const="(Intercept)")
    for c in M.columns:
        labels[c] = f"mean({labels.get(c[len('mean__') :], c[len('mean__') :])})"
    design_l = with_labels(design, labels)
    base = design.spec.mundlak_base
    if base == "ols":
        fit, fml = run_pyfixest(design, X=M)
        res = from_pyfixest(
            design_l, fit, fml, "mundlak", label="Correlated random effects (Mundlak, pooled OLS)"
        )
        mean_terms = [labels[c] for c in M.columns if labels[c] in res.terms]
    else:
        mean_columns = list(M.columns)
        re_ = random_effects(
            column_major(design.X, M),
            [*design.X.columns, *mean_columns],
            design.y.to_numpy(dtype=float),
            design.frame["_entity"].to_numpy(),
        )
        del M
        V, k = _re_vcov(design, re_)
        fml = (
            design.formula(extra=mean_columns).replace(" ~ ", " ~ 1 + ")
            + f"  [random effect: {design.spec.entity}]"
        )
        res = assemble(
            design_l,
            "mundlak",
            re_.names,
            re_.params,
            V,
            fml,
            re_.r2,
            True,
            k,
            label="Correlated random effects (Mundlak, RE)",
            dropped=re_.dropped,
        )
        mean_terms = [labels[c] for c in mean_columns if c in re_.names]
    res.extra["mean_terms"] = mean_terms
    if mean_terms:
        res.extra["mundlak_test"] = res.wald(mean_terms)
    return res
