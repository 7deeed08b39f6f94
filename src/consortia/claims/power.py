"""How much data it would take to know: analytic power from the estimated SE.

Everything here rests on one stated approximation: the standard error of an
estimate computed from G independent consortia (clusters) scales as
1/sqrt(G), with the between-consortium variance per consortium held at its
current estimate,

    SE(G') = SE(G) * sqrt(G / G'),

and tests are normal (z) tests. So the numbers are design calculations for
a dataset like the one at hand, only bigger or smaller; they are not
guarantees (a new sample with a different lead-type mix, censoring or
industry mix has a different per-consortium variance).

* :func:`mde` — the minimum detectable effect at the current sample size:
  the smallest distance |θ − θ₀| a two-sided level-α test detects with the
  given power, (z₁₋α/₂ + z_power) · SE.
* :func:`clusters_needed` — the number of consortia for a two-sided level-α
  test to tell a true value θ from θ₀ with the given power:
  G · ((z₁₋α/₂ + z_power) · SE / |θ − θ₀|)², rounded up.
* :func:`clusters_for_equivalence` — the number of consortia for the TOST
  (two one-sided level-α tests) to show the estimate inside a symmetric
  tolerance band ±δ with the given power when the truth is at its centre:
  G · ((z₁₋α + z₁₋(1−power)/2) · SE / δ)², rounded up (the usual normal
  approximation: each one-sided test gets half the type-II error).
* :func:`power_at` — the power of the two-sided test at distance d and
  standard error SE (both tails counted).
"""

from __future__ import annotations

import math

from scipy import stats


def _z(p: float) -> float:
    return float(stats.norm.ppf(p))


def mde(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable |θ − θ₀| of a two-sided level-α z test with the given power."""
    if not (se >= 0 and math.isfinite(se)):
        return math.nan
    return (_z(1 - alpha / 2) + _z(power)) * se


def clusters_needed(
    se: float, n_clusters: int, distance: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Consortia needed to detect ``distance`` with a two-sided level-α test at ``power``.

    None when the distance is zero or not finite (nothing to detect), or the SE
    is not finite.
    """
    if not (math.isfinite(se) and se > 0 and n_clusters > 0):
        return None
    if not math.isfinite(distance) or distance == 0:
        return None
    k = (_z(1 - alpha / 2) + _z(power)) * se / abs(distance)
    return max(1, math.ceil(n_clusters * k * k - 1e-9))


def clusters_for_equivalence(
    se: float, n_clusters: int, margin: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Consortia needed for TOST at level α to show |θ − centre| < margin (truth at centre)."""
    if not (math.isfinite(se) and se > 0 and n_clusters > 0):
        return None
    if not math.isfinite(margin) or margin <= 0:
        return None
    k = (_z(1 - alpha) + _z(1 - (1 - power) / 2)) * se / margin
    return max(1, math.ceil(n_clusters * k * k - 1e-9))


def power_at(se: float, distance: float, alpha: float = 0.05) -> float:
    """Power of the two-sided level-α z test when the truth is ``distance`` from θ₀."""
    if not (math.isfinite(se) and se > 0) or not math.isfinite(distance):
        return math.nan
    z = _z(1 - alpha / 2)
    d = abs(distance) / se
    return float(stats.norm.cdf(d - z) + stats.norm.cdf(-d - z))


def se_at(se: float, n_clusters: int, new_clusters: int) -> float:
    """The standard error scaled to ``new_clusters`` consortia (SE ∝ 1/sqrt(G))."""
    return se * math.sqrt(n_clusters / new_clusters)
