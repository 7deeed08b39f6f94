"""What an estimate says about a value of its estimand: one-sided p-values and intervals.

A verdict asks two questions of an estimate (``consortia.claims.verdict``): can the
data rule out every value at which the claim is false, and can they rule out every
value at which it is true. Both are one-sided tests against a value θ₀ of the
estimand, so each kind of inference an evaluator uses implements the same two
functions and one interval:

* ``p_above(θ₀)``: the p-value of H0: θ ≤ θ₀ (small: the data put θ above θ₀);
* ``p_below(θ₀)``: the p-value of H0: θ ≥ θ₀;
* ``interval(level)``: the two-sided interval whose ends are the one-sided bounds at
  (1 − level)/2, so that θ₀ is outside the (1 − 2α) interval exactly when one of the
  two p-values is below α.

Kinds: :class:`WaldTails` (estimate, standard error, t or normal reference; on the
log scale for ratios), :class:`BinomialTails` (exact Clopper–Pearson, for a share of
consortia), :class:`BootstrapTails` (percentile, from bootstrap replicates),
:class:`IntervalTails` (read off a family of intervals, e.g. Newcombe's) and
:class:`consortia.claims.cr2.CR2Tails` (CR2 with Bell–McCaffrey degrees of freedom,
for rates compared across groups that may hold few consortia).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import stats


class Tails(Protocol):
    """The inference of one estimate (module docstring)."""

    def p_above(self, theta0: float) -> float: ...

    def p_below(self, theta0: float) -> float: ...

    def interval(self, level: float) -> tuple[float, float]: ...


def _sf(z: float, df: int | None) -> float:
    return float(stats.t.sf(z, df) if df else stats.norm.sf(z))


@dataclass(frozen=True)
class WaldTails:
    """Normal (``df`` None) or t(df) inference from an estimate and its standard error.

    ``scale="log"``: ``estimate`` is a ratio and ``se`` the standard error of its log;
    the tests and intervals are on the log scale, reported as ratios.
    """

    estimate: float
    se: float
    df: int | None = None
    scale: str = "absolute"

    def _z(self, theta0: float) -> float:
        if self.scale == "log":
            if theta0 <= 0:  # every ratio is above a non-positive value
                return math.inf
            return (math.log(self.estimate) - math.log(theta0)) / self.se
        return (self.estimate - theta0) / self.se

    def p_above(self, theta0: float) -> float:
        return _sf(self._z(theta0), self.df)

    def p_below(self, theta0: float) -> float:
        return _sf(-self._z(theta0), self.df)

    def interval(self, level: float) -> tuple[float, float]:
        q = 0.5 + level / 2
        c = float(stats.t.ppf(q, self.df) if self.df else stats.norm.ppf(q))
        if self.scale == "log":
            with np.errstate(over="ignore"):  # a huge SE: the interval is unbounded above
                spread = float(np.exp(c * self.se))
            return (self.estimate / spread, self.estimate * spread)
        return (self.estimate - c * self.se, self.estimate + c * self.se)


@dataclass(frozen=True)
class BinomialTails:
    """Exact binomial inference on a share ``k / n`` (Clopper–Pearson intervals)."""

    k: int
    n: int

    def p_above(self, theta0: float) -> float:
        if theta0 < 0:  # no share is at or below θ₀: H0 is impossible
            return 0.0
        if theta0 == 0:
            return 0.0 if self.k > 0 else 1.0
        if theta0 >= 1:
            return 1.0
        return float(stats.binomtest(self.k, self.n, theta0, alternative="greater").pvalue)

    def p_below(self, theta0: float) -> float:
        if theta0 > 1:
            return 0.0
        if theta0 == 1:
            return 0.0 if self.k < self.n else 1.0
        if theta0 <= 0:
            return 1.0
        return float(stats.binomtest(self.k, self.n, theta0, alternative="less").pvalue)

    def interval(self, level: float) -> tuple[float, float]:
        ci = stats.binomtest(self.k, self.n).proportion_ci(confidence_level=level, method="exact")
        return (float(ci.low), float(ci.high))


@dataclass(frozen=True)
class BootstrapTails:
    """Percentile inference from bootstrap replicates of the estimate.

    ``p_above(θ₀)`` is the share of replicates at or below θ₀, ``p_below(θ₀)`` the
    share at or above it (with the usual +1, so no p-value is zero). Replicates that
    are NaN (a draw the estimate could not be computed on) are left out; infinite ones
    (a Kaplan–Meier median not reached) are kept and sort to their end. An interval's
    ends are the replicates at which those p-values cross (1 − level)/2, so θ₀ is
    outside it exactly when a one-sided test at that level rejects; with too few
    replicates for the level it is unbounded. ``scale="log"``: the replicates are logs
    of a ratio; θ₀ and the intervals are ratios.
    """

    replicates: np.ndarray
    scale: str = "absolute"

    def __post_init__(self) -> None:
        values = np.sort(np.asarray(self.replicates, dtype=float))
        object.__setattr__(self, "replicates", values[~np.isnan(values)])

    def _on_scale(self, theta0: float) -> float:
        if self.scale != "log":
            return theta0
        return math.log(theta0) if theta0 > 0 else -math.inf

    def p_above(self, theta0: float) -> float:
        at_or_below = int(np.searchsorted(self.replicates, self._on_scale(theta0), side="right"))
        return (1 + at_or_below) / (len(self.replicates) + 1)

    def p_below(self, theta0: float) -> float:
        below = int(np.searchsorted(self.replicates, self._on_scale(theta0), side="left"))
        return (1 + len(self.replicates) - below) / (len(self.replicates) + 1)

    def interval(self, level: float) -> tuple[float, float]:
        n = len(self.replicates)
        # p_above(θ₀) < (1 − level)/2 ⟺ fewer than `beyond` replicates are ≤ θ₀ (and
        # p_below the same at the other end)
        beyond = math.ceil((1 - level) / 2 * (n + 1) - 1 - 1e-9)
        if beyond < 1:
            lo, hi = -math.inf, math.inf
        else:
            lo, hi = self.replicates[beyond - 1], self.replicates[n - beyond]
        if self.scale == "log":
            return (float(np.exp(lo)), float(np.exp(hi)))
        return (float(lo), float(hi))


@dataclass(frozen=True)
class IntervalTails:
    """One-sided p-values read off a family of intervals (e.g. Newcombe's score interval):
    ``p_above(θ₀)`` is (1 − L)/2 for the level L whose interval starts at θ₀."""

    estimate: float
    intervals: Callable[[float], tuple[float, float]]

    def _level_at(self, theta0: float, end: int) -> float:
        """The level whose interval has ``theta0`` at its lower (end 0) or upper (1) end."""
        low, high = 1e-12, 1 - 1e-12
        if (theta0 - self.intervals(high)[end]) * (1 if end == 0 else -1) <= 0:
            return high  # beyond the widest interval computed
        for _ in range(60):
            mid = (low + high) / 2
            bound = self.intervals(mid)[end]
            inside = bound >= theta0 if end == 0 else bound <= theta0
            low, high = (mid, high) if inside else (low, mid)
        return (low + high) / 2

    def p_above(self, theta0: float) -> float:
        if theta0 >= self.estimate:
            return 1.0 - self.p_below(theta0) if theta0 > self.estimate else 0.5
        return (1 - self._level_at(theta0, 0)) / 2

    def p_below(self, theta0: float) -> float:
        if theta0 <= self.estimate:
            return 1.0 - self.p_above(theta0) if theta0 < self.estimate else 0.5
        return (1 - self._level_at(theta0, 1)) / 2

    def interval(self, level: float) -> tuple[float, float]:
        return self.intervals(level)
