"""Counts (patents, publications, standards): Poisson pseudo-maximum
likelihood with absorbed fixed effects (pyfixest ``fepois``, the ppmlhdfe
algorithm).  Consistent under E[y|x] = exp(x'β + FE) alone; no
equidispersion needed, hence the cluster-robust (or Driscoll–Kraay)
covariance.  Inference uses the normal distribution."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from .design import Design
from .linear import from_pyfixest, run_pyfixest
from .results import FitResult


def _poisson_ll(y: np.ndarray, mu: np.ndarray) -> float:
    mu = np.clip(mu, 1e-300, None)
    return float(np.sum(y * np.log(mu) - mu - gammaln(y + 1)))


def fit_ppml(design: Design) -> FitResult:
    fit, fml = run_pyfixest(design, poisson=True)
    y = design.y.to_numpy()
    mu = np.asarray(fit._Y_hat_response, dtype=float).ravel()
    ll = _poisson_ll(y, mu)
    ll0 = _poisson_ll(y, np.full_like(y, y.mean()))
    r2 = {"pseudo (McFadden, vs constant only)": 1 - ll / ll0 if ll0 != 0 else np.nan}
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu))
        dev0 = 2 * np.sum(np.where(y > 0, y * np.log(y / y.mean()), 0.0) - (y - y.mean()))
    r2["pseudo (deviance)"] = 1 - dev / dev0 if dev0 > 0 else np.nan
    fe = design.spec.fixed_effects
    label = "Poisson PML" + (f" with {' + '.join(fe)} fixed effects" if fe else "")
    return from_pyfixest(
        design,
        fit,
        fml,
        "ppml",
        label=label,
        r2=r2,
        extra={"loglik": ll, "deviance": float(dev)},
        linear=False,
    )
