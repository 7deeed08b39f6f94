"""CR2 standard errors with Bell–McCaffrey degrees of freedom for the claims' linear tests.

Cluster-robust CR1 standard errors with t(G − 1) critical values are reliable when every
group a test compares has many clusters; with a few dozen or fewer (the enterprise-only
consortia of a registry, government-led consortia in a small survey) they are too small,
whatever the total G: with 3 of 300 clusters in one group a nominal 95% interval covers
about 74% of the time, and one-sided 5% tests still reject 7–10% of the time with 30
consortia in the smaller group (``tests/claims/test_claims_cr2.py``). The bias-reduced
linearisation CR2 (Bell & McCaffrey 2002) with its Satterthwaite degrees of freedom (the
"BM" df; Imbens & Kolesár 2016) keeps the tests near their size there, and equals CR1's
answer where every group has many clusters, so the claims use it for every linear test:

* residuals of cluster g are scaled by A_g = (I − H_gg)^(−1/2), H_gg the cluster's
  block of the hat matrix, before forming the sandwich;
* the variance of c′β̂ is compared with a t distribution whose degrees of freedom
  are (Σλ)²/Σλ², λ the eigenvalues of G′G with G's column g = (I − H)_{·g} A_g X_g
  (X′X)⁻¹c, evaluated under the working model (independent, equal variances): they
  depend on the design, not on the residuals. With one observation per cluster and two
  groups the statistic is Welch's and the df Satterthwaite's formula at equal variances.

Weighted least squares (weights w) is least squares on √w-scaled rows, and its CR2 that of
the scaled regression: R clubSandwich's on the scaled ``lm`` to 1e-9
(``tests/reference/make_clubsandwich.R``). clubSandwich's CR2 for a weighted ``lm``
(``inverse_var = TRUE``) uses other adjustment matrices, also unbiased when Var(e) ∝ 1/w
(SEs up to 2% smaller on the reference fixture).
Every cluster is handled at once: its rows padded to the largest cluster's size, so the
adjustments are one batched eigendecomposition (of the k × k matrices Z_g′Z_g when the
k coefficients are fewer than the largest cluster's rows), and the degrees of freedom come from
G′G = D − m (X′X)⁻¹ m′ (D diagonal, m the G × k matrix of X_g′u_g) without forming a
G × G matrix: a fit costs O(G·n_g²·k), each further c only O(G·k²).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import optimize, stats

# I − H_gg is singular when a cluster's rows determine a coefficient on their own (a group of
# one cluster): that direction gets no adjustment (its residual is zero)
_SINGULAR = 1e-10


def _full_adjustments(X: np.ndarray, xx_inv: np.ndarray) -> np.ndarray:
    """A_g = (I − H_gg)^(−1/2) for the padded clusters ``X`` (G × n × k), from the
    eigendecomposition of each n × n block."""
    G, n, k = X.shape
    XK = (X.reshape(G * n, k) @ xx_inv).reshape(G, n, k)
    values, vectors = np.linalg.eigh(np.eye(n) - XK @ X.transpose(0, 2, 1))
    inv_root = np.where(values > _SINGULAR, 1 / np.sqrt(np.maximum(values, 1e-300)), 0.0)
    return (vectors * inv_root[:, None, :]) @ vectors.transpose(0, 2, 1)


def _low_rank_adjustments(X: np.ndarray, xx_inv: np.ndarray) -> np.ndarray:
    """The same A_g when k < n, from k × k eigendecompositions: H_gg = Z_g Z_g′ with
    Z_g = X_g (X′X)^(−1/2), whose nonzero eigenvalues λ are those of Z_g′Z_g = V Λ V′, so
    (I − H_gg)^(−1/2) = I + Z_g V φ(Λ) V′ Z_g′ with φ(λ) = ((1 − λ)^(−1/2) − 1)/λ."""
    G, n, k = X.shape
    values, vectors = np.linalg.eigh(xx_inv)
    root = (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T
    Z = (X.reshape(G * n, k) @ root).reshape(G, n, k)
    lam, V = np.linalg.eigh(Z.transpose(0, 2, 1) @ Z)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(
            1 - lam > _SINGULAR,
            (1 / np.sqrt(np.maximum(1 - lam, 1e-300)) - 1) / lam,
            -1 / lam,  # the direction's adjustment is 0, not (1 − λ)^(−1/2)
        )
    phi = np.where(lam > 1e-12, phi, 0.0)  # Z_g V has no such direction
    ZV = Z @ V
    return np.eye(n) + (ZV * phi[:, None, :]) @ ZV.transpose(0, 2, 1)


@dataclass
class CR2Fit:
    """A (weighted) least-squares fit with CR2 inference on linear combinations c′β."""

    X: np.ndarray
    y: np.ndarray
    clusters: np.ndarray
    weights: np.ndarray | None = None
    beta: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=float)
        y = np.asarray(self.y, dtype=float)
        if self.weights is not None:
            root = np.sqrt(np.asarray(self.weights, dtype=float))
            X, y = X * root[:, None], y * root
        labels, codes = np.unique(np.asarray(self.clusters), return_inverse=True)
        if len(labels) < 2:
            raise ValueError("CR2 needs at least two clusters")
        self.xx_inv = np.linalg.inv(X.T @ X)
        self.beta = self.xx_inv @ (X.T @ y)
        # the clusters' rows side by side, padded with zero rows (which the hat matrix leaves
        # alone: their adjustment is the identity and their residual zero)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        slot = np.arange(len(codes)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        self._X = np.zeros((len(labels), sizes.max(), X.shape[1]))
        self._X[codes[order], slot] = X[order]
        residual = np.zeros((len(labels), sizes.max()))
        residual[codes[order], slot] = (y - X @ self.beta)[order]
        _, n, k = self._X.shape
        adjustments = _low_rank_adjustments if k < n else _full_adjustments
        self._adjust = adjustments(self._X, self.xx_inv)
        adjusted = (self._adjust @ residual[:, :, None])[:, :, 0]
        scores = np.einsum("gik,gi->gk", self._X, adjusted)
        self.vcov = self.xx_inv @ (scores.T @ scores) @ self.xx_inv

    @property
    def n_clusters(self) -> int:
        return self._X.shape[0]

    def se(self, c: np.ndarray) -> float:
        return math.sqrt(float(c @ self.vcov @ c))

    def varies(self, c: np.ndarray) -> bool:
        """Whether c′β has a standard error beyond rounding: larger than ROUNDING times
        the size of the terms c′β sums (|c|′|β|, at least 1)."""
        return self.se(c) > ROUNDING * max(1.0, float(np.abs(c) @ np.abs(self.beta)))

    @cached_property
    def _per_cluster(self) -> tuple[np.ndarray, np.ndarray] | None:
        """u_g = A_g X_g (X′X)⁻¹ c is linear in c: the k × k matrices of d_g = |u_g|² and
        m_g = X_g′u_g, so that the df of each further c costs O(G·k²); kept only when they
        are no larger than the clusters' rows (k ≤ the largest cluster's size)."""
        if self._X.shape[2] > self._X.shape[1]:
            return None
        G, n, k = self._X.shape
        B = self._adjust @ (self._X.reshape(G * n, k) @ self.xx_inv).reshape(G, n, k)
        return B.transpose(0, 2, 1) @ B, self._X.transpose(0, 2, 1) @ B

    def df(self, c: np.ndarray) -> float:
        """Bell–McCaffrey (Satterthwaite) degrees of freedom of c′β̂ (module docstring)."""
        if self._per_cluster is None:
            u = (self._adjust @ (self._X @ (self.xx_inv @ c))[:, :, None])[:, :, 0]
            d = np.einsum("gi,gi->g", u, u)
            m = np.einsum("gik,gi->gk", self._X, u)
        else:
            d_of, m_of = self._per_cluster
            # one matrix-vector product each over the stacked k × k matrices (a batched
            # matmul of tiny matrices is far slower)
            G, k = m_of.shape[:2]
            d = d_of.reshape(G, k * k) @ np.outer(c, c).ravel()
            m = (m_of.reshape(G * k, k) @ c).reshape(G, k)
        K = self.xx_inv
        L_diag = np.einsum("gk,gk->g", m @ K, m)
        gram = m.T @ m
        trace = d.sum() - float(np.trace(K @ gram))
        trace_sq = float(d @ d) - 2 * float(d @ L_diag) + float(np.trace(K @ gram @ K @ gram))
        return trace * trace / trace_sq


# A standard error this small relative to the coefficients is rounding, not variation.
ROUNDING = 1e-12


def _exp(x: float) -> float:
    """exp, infinite beyond the largest float (a ratio's bracket can reach that far)."""
    return math.exp(x) if x < math.log(sys.float_info.max) else math.inf


@dataclass
class CR2Tails:
    """One-sided tests and intervals of an estimand θ from a :class:`CR2Fit`:
    ``restriction(θ₀)`` gives (c, r) with c′β = r ⟺ θ = θ₀, tested with the CR2 t-statistic
    and Bell–McCaffrey df of that c. ``scale="log"`` for a ratio (θ₀ > 0; intervals
    searched on the log scale). ``spread``, a standard error of θ on that scale, sets the
    bracket the interval search starts from."""

    fit: CR2Fit
    estimate: float
    restriction: Callable[[float], tuple[np.ndarray, float]]
    spread: float
    scale: str = "absolute"

    def _t_and_df(self, theta0: float) -> tuple[float, float]:
        c, r = self.restriction(float(theta0))
        # t and df do not depend on the scale of (c, r): normalised, a ratio's far θ₀ does
        # not overflow
        size = float(np.linalg.norm(c))
        c, r = c / size, r / size
        distance = float(c @ self.fit.beta) - r
        if self.fit.varies(c):
            return distance / self.fit.se(c), self.fit.df(c)
        # no sampling variation along c beyond rounding (e.g. a ratio's far θ₀ leans on a
        # group whose consortia all have the same rate): the t-statistic is infinite, or
        # undefined where the distance is rounding too, and no df is defined
        scale = ROUNDING * max(1.0, float(np.abs(c) @ np.abs(self.fit.beta)) + abs(r))
        return (math.copysign(math.inf, distance) if abs(distance) > scale else math.nan), math.nan

    def p_above(self, theta0: float) -> float:
        if self.scale == "log" and theta0 <= 0:
            return 0.0
        if math.isinf(theta0):  # every estimate is below +inf and above -inf
            return float(theta0 > 0)
        t, df = self._t_and_df(theta0)
        return float(t < 0) if math.isinf(t) else float(stats.t.sf(t, df))

    def p_below(self, theta0: float) -> float:
        if self.scale == "log" and theta0 <= 0:
            return 1.0
        if math.isinf(theta0):
            return float(theta0 < 0)
        t, df = self._t_and_df(theta0)
        return float(t > 0) if math.isinf(t) else float(stats.t.cdf(t, df))

    def interval(self, level: float) -> tuple[float, float]:
        """The θ₀ at which each one-sided p-value is (1 − level)/2 (test inversion)."""
        tail = (1 - level) / 2
        to, back = (math.log, _exp) if self.scale == "log" else (float, float)
        centre = to(self.estimate)
        lower = self._root(lambda x: self.p_above(back(x)) - tail, centre, -1)
        upper = self._root(lambda x: self.p_below(back(x)) - tail, centre, 1)
        return (back(lower), back(upper))

    def _root(self, excess: Callable[[float], float], centre: float, side: int) -> float:
        """The point on ``side`` of the estimate where ``excess`` (positive near it) turns
        negative (Brent's method on a bracket found by doubling); ±inf when it never does
        within 1,000 spreads (a ratio whose denominator could be zero)."""
        step = max(self.spread, 1e-12)
        near, far = centre, centre + side * step
        while not excess(far) <= 0:  # NaN: not crossed
            near, step = far, 2 * step
            far = centre + side * step
            if step > 1000 * max(self.spread, 1e-12):
                return -math.inf if side < 0 else math.inf
        if not excess(near) > 0:  # NaN at the near end: bisect the bracket's ends instead
            for _ in range(60):
                mid = (near + far) / 2
                near, far = (mid, far) if not excess(mid) <= 0 else (near, mid)
            return far
        return float(optimize.brentq(excess, near, far, xtol=1e-12 * max(1.0, abs(far))))
