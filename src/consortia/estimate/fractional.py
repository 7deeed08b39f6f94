"""Rates in [0, 1] (transfer_rate, industrial_task_share, ...): fractional
logit, the Bernoulli quasi-MLE of Papke & Wooldridge (1996, JAE 11:619–632).

E[y|x] = Λ(x'β) is estimated by the IRLS of statsmodels ``GLM(family=Binomial())``
(logit link) on the fractional outcome (:func:`fractional_logit_irls`: the same
iterations, each weighted least-squares step solved from the normal equations;
tested equal to statsmodels); the Bernoulli likelihood is only a
device, so inference is sandwich (cluster-robust) — computed here with the
package convention, see :mod:`.vcov`.  (statsmodels' own
``cov_type="cluster"`` with ``use_correction=True`` gives the same CR1
G/(G−1)·(N−1)/(N−K) for one-way clustering; ``df_correction`` only changes
the degrees of freedom of t tests, which GLM does not use.  Stata's
``fracreg`` uses G/(G−1) only: ``vcov: {small_sample: CR1-G}``.)

Average marginal effects: the derivative of Λ averaged over the sample for
continuous regressors, the average discrete change 0→1 for 0/1 regressors
(and the dummies of categorical ones), as Stata's ``margins, dydx(*)`` with
factor variables; delta-method SEs from the same cluster-robust covariance.
Time dummies get no AME (they are controls).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit

from .algebra import drop_collinear, solve_refined
from .design import Design
from .linear import assemble, with_labels
from .results import FitResult, inference
from .spec import NotEstimable
from .vcov import sandwich


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0.0) | (x == 1.0)))


def average_marginal_effects(
    beta: np.ndarray,
    V: np.ndarray,
    X: np.ndarray,
    names: list[str],
    skip: set[str] | None = None,
    df: int | None = None,
    siblings: dict[str, list[str]] | None = None,
) -> dict[str, dict[str, float]]:
    """AMEs of a logit index model with delta-method standard errors.

    ``X`` includes the constant column; ``names`` its column names; columns
    in ``skip`` (the constant) get no AME.  ``siblings[name]`` lists the other
    dummies of the same categorical variable: for the discrete change they
    are set to 0 in both counterfactuals (level vs reference level).

    Every quantity comes from the index x'β and one product with ``X`` per
    column (no counterfactual copies of X): the counterfactual index of a
    dummy is x'β less the terms of the dummy and its siblings (plus β_j when
    it is 1), and the mean gradient over rows is ``(w₁ − w₀)'X / n`` with the
    entries of the dummy (mean w₁) and of its siblings (0) set apart.
    """
    skip = skip or set()
    siblings = siblings or {}
    pos = {n: i for i, n in enumerate(names)}
    n = X.shape[0]
    xb = X @ beta
    lam = expit(xb)
    dens = lam * (1 - lam)
    mean_dens = float(np.mean(dens))
    slope_grad = ((dens * (1 - 2 * lam)) @ X) / n  # d mean(dens) / dβ
    out = {}
    for j, name in enumerate(names):
        if name in skip:
            continue
        if _is_binary(X[:, j]):
            zeroed = [j, *(pos[sib] for sib in siblings.get(name, []) if sib in pos)]
            rest = xb - X[:, zeroed] @ beta[zeroed]
            p1, p0 = expit(rest + beta[j]), expit(rest)
            ame = float(np.mean(p1 - p0))
            w1 = p1 * (1 - p1)
            grad = ((w1 - p0 * (1 - p0)) @ X) / n
            grad[zeroed] = 0.0
            grad[j] = np.mean(w1)
            kind = "discrete change 0→1"
        else:
            ame = mean_dens * beta[j]
            grad = slope_grad * beta[j]
            grad[j] += mean_dens
            kind = "derivative"
        var = float(grad @ V @ grad)
        se, stat, p, lo, hi = (a[0] for a in inference(np.array([ame]), np.array([[var]]), df))
        out[name] = {
            "estimate": ame,
            "std_error": float(se),
            "statistic": float(stat),
            "p_value": float(p),
            "ci_lower": float(lo),
            "ci_upper": float(hi),
            "kind": kind,
        }
    return out


def fractional_logit_irls(
    y: np.ndarray, X: np.ndarray, tol: float = 1e-12, maxiter: int = 200
) -> tuple[np.ndarray, bool, int]:
    """Bernoulli quasi-MLE of a logit index: statsmodels ``GLM(y, X, family=Binomial())
    .fit(tol=tol, maxiter=maxiter)``, the same IRLS (start μ = (y + ½)/2, working
    response and weights of the statsmodels family, stop when the deviance changes by at
    most ``tol``), with each weighted least-squares step solved from the normal equations
    with one refinement step instead of an SVD of the n × k matrix (several seconds per
    step on a million rows). ``X`` must have full column rank. Returns (coefficients,
    converged, iterations); ``tests/estimate`` checks the equality with statsmodels."""
    import statsmodels.api as sm

    family = sm.families.Binomial()
    mu = family.starting_mu(y)
    index = family.predict(mu)
    deviance = family.deviance(y, mu)
    every = list(range(X.shape[1]))
    beta = np.zeros(X.shape[1])
    for iteration in range(1, maxiter + 1):
        root_w = np.sqrt(family.weights(mu))
        working = (index + family.link.deriv(mu) * (y - mu)) * root_w
        A = X * root_w[:, None]
        beta, _ = solve_refined(A, working, A.T @ A, A.T @ working, every)
        del A
        index = X @ beta
        mu = family.fitted(index)
        previous, deviance = deviance, family.deviance(y, mu)
        if abs(previous - deviance) <= tol:
            return beta, True, iteration
    return beta, False, maxiter


SEPARATED_INDEX = 25.0


def fit_fraclogit(design: Design) -> FitResult:
    X = pd.concat([pd.Series(1.0, index=design.X.index, name="const"), design.X], axis=1)
    X, dropped = drop_collinear(X)
    y = design.y.to_numpy()
    Xa = X.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        beta, converged, _ = fractional_logit_irls(y, Xa)
    index = Xa @ beta
    mu = expit(index)
    hessian = (Xa * (mu * (1 - mu))[:, None]).T @ Xa
    scale = np.sqrt(np.diag(hessian))
    # a fitted rate within e^−25 of 0 or 1 is no rate: the iterations ran off to separate
    # the sample (the quasi-likelihood has no finite maximum)
    if (
        np.abs(index).max(initial=0.0) > SEPARATED_INDEX
        or not (scale > 0).all()
        or np.linalg.eigvalsh(hessian / np.outer(scale, scale))[0] < 1e-10
    ):
        raise NotEstimable(
            f"model {design.spec.name!r}: the fractional logit's Hessian is singular (fitted "
            "rates of 0 or 1: some regressors predict the outcome perfectly in this sample)"
        )
    bread = np.linalg.inv(hessian)
    scores = Xa * (y - mu)[:, None]
    k = Xa.shape[1]
    V, _, _ = sandwich(bread, scores, design.clusters, design.spec.vcov, k)
    del scores
    names = list(X.columns)
    labels = dict(design.labels, const="(Intercept)")
    dl = with_labels(design, labels)

    # fit measures: Bernoulli quasi-log-likelihood (McFadden-type) and corr(y, ŷ)²
    def qll(p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))

    ll, ll0 = qll(mu), qll(np.full_like(y, y.mean()))
    r2 = {
        "pseudo (McFadden, Bernoulli quasi-LL)": 1 - ll / ll0 if ll0 != 0 else np.nan,
        "squared corr(y, fitted)": float(np.corrcoef(y, mu)[0, 1] ** 2) if y.std() > 0 else np.nan,
    }
    fml = design.formula().replace(" ~ ", " ~ 1 + ") + "  [GLM Binomial, logit link, fractional y]"
    notes = ["dropped as collinear: " + ", ".join(dropped)] if dropped else []
    if not converged:
        notes.append("GLM did not report convergence")
    res = assemble(
        dl,
        "fraclogit",
        names,
        beta,
        V,
        fml,
        r2,
        linear=False,
        k_df=k,
        dropped=dropped,
        extra={"quasi_loglik": ll},
        notes=notes,
    )
    src = design.source
    siblings = {
        n: [m for m in names if m != n and src.get(m) == src.get(n) and src.get(n) is not None]
        for n in names
    }
    me = average_marginal_effects(
        beta, V, Xa, names, skip={"const", *design.time_dummies}, siblings=siblings
    )
    res.marginal_effects = {labels.get(n, n): v for n, v in me.items()}
    return res
