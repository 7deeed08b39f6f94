"""Score intervals for proportions and their differences, for independent binomial samples.

* :func:`wilson_interval` — Wilson (1927) score interval of one proportion
  (no continuity correction).
* :func:`newcombe_interval` — Newcombe (1998, *Statistics in Medicine*
  17:873–890, method 10) hybrid score interval of p₁ − p₂ from the two
  Wilson intervals (l₁, u₁), (l₂, u₂):

      d − √((p₁ − l₁)² + (u₂ − p₂)²)  …  d + √((u₁ − p₁)² + (p₂ − l₂)²).

  Unlike the Wald interval it stays inside [−1, 1], keeps its coverage near
  0 and 1, and is defined when a count is 0 or n. It treats every trial as
  independent: in the claims it is the unclustered cross-check of a
  cluster-robust gap (how much narrower the interval would be if the
  achievements of one consortium were independent draws).
"""

from __future__ import annotations

import math

from scipy import stats


def _check(k: float, n: float) -> None:
    if not (n > 0 and 0 <= k <= n):
        raise ValueError(f"a proportion needs 0 <= k <= n and n > 0, got k={k}, n={n}")


def wilson_interval(k: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of k / n at confidence ``level`` (two-sided)."""
    _check(k, n)
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(
    k1: float, n1: float, k2: float, n2: float, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of k1/n1 − k2/n2 (independent samples)."""
    _check(k1, n1)
    _check(k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p1 - p2
    return (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )
