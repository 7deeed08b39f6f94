"""Verdicts: what an estimate and its confidence interval say about a claim.

The rules are fixed here, before any data are looked at, and explained in
``docs/claims.md``. Every test of a claim has

* a **claim region** R: the values of the estimand that agree with the claim,
  its tolerance included (``Claimed.region``): ``value ± tolerance`` (or
  ``value ×/÷ exp(tolerance)`` for ratios), ``[threshold − tolerance, ∞)`` for
  "over c", ``[min_effect, ∞)`` for a positive effect, ...;
* a **rival value** θ₀ (``rival`` in the registry): what the world would look like if the claim
  were wrong in the way that matters (no effect, the comparison group's rate,
  the threshold itself);
* a two-sided confidence interval C at ``ci_level`` (95% by default).

Then, with closed intervals throughout::

    contradicted   C ∩ R = ∅         every value the data allow lies outside the
                                      claim region (for a threshold or direction
                                      claim: C lies wholly on the wrong side)
    supported      C ∩ R ≠ ∅ and θ₀ ∉ C   the data allow the claim and rule out
                                      the rival
    inconclusive   C ∩ R ≠ ∅ and θ₀ ∈ C   too imprecise to tell the claim from
                                      the rival
    not_testable   the estimate cannot be computed (columns absent, no rows of a
                   group, a single case); the reason names what is missing

With a 95% interval, "θ₀ ∉ C" is a two-sided 5% test (equivalently a one-sided
2.5% test in the claimed direction) and "C ∩ R = ∅" rejects every value of the
claim region at the same level. Alongside, value claims report the
equivalence test (TOST at ``equivalence_alpha``: the (1 − 2α) interval lies
inside R), a stronger statement than ``supported``: the estimate is not just
compatible with the claim but pinned down inside its tolerance band.

A claim's own verdict combines its ``primary`` tests (:func:`combine`):
contradicted if any is contradicted, supported if all testable ones are,
otherwise inconclusive. ``secondary`` tests and ``cross_check`` tests are
reported beside it and do not change it.

"best" claims (a level of a factor beats every other) are judged on the
Holm-adjusted pairwise contrasts (:func:`classify_best`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not_testable"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE)
STATISTICAL_VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)

Interval = tuple[float, float]


@dataclass(frozen=True)
class Claimed:
    """The claimed value, threshold, direction or ranking of one test (a registry ``claimed``)."""

    kind: str  # value | above | below | direction | best
    value: float | None = None
    tolerance: float = 0.0
    scale: str = "absolute"  # absolute | log (value claims on ratios)
    direction: str | None = None  # positive | negative | nonzero
    min_effect: float = 0.0
    best: str | None = None
    over: tuple[str, ...] = ()
    text: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Claimed:
        text = str(raw.get("text", ""))
        if "value" in raw:
            return cls(
                kind="value",
                value=float(raw["value"]),
                tolerance=float(raw["tolerance"]),
                scale=str(raw.get("scale", "absolute")),
                text=text,
            )
        if "above" in raw or "below" in raw:
            kind = "above" if "above" in raw else "below"
            return cls(
                kind=kind,
                value=float(raw[kind]),
                tolerance=float(raw.get("tolerance", 0.0)),
                text=text,
            )
        if "direction" in raw:
            return cls(
                kind="direction",
                direction=str(raw["direction"]),
                min_effect=float(raw.get("min_effect", 0.0)),
                text=text,
            )
        if "best" in raw:
            return cls(kind="best", best=str(raw["best"]), over=tuple(raw["over"]), text=text)
        raise ValueError(f"claimed: cannot tell the kind of claim from keys {sorted(raw)}")

    # ------------------------------------------------------------------ region
    def region(self) -> list[Interval]:
        """Closed intervals (±inf allowed) of estimand values that agree with the claim."""
        inf = math.inf
        if self.kind == "value":
            v, t = float(self.value), self.tolerance
            if self.scale == "log":
                if v <= 0:
                    raise ValueError("a log-scale (ratio) claim needs a positive value")
                return [(v * math.exp(-t), v * math.exp(t))]
            return [(round(v - t, 12), round(v + t, 12))]
        if self.kind == "above":
            return [(round(float(self.value) - self.tolerance, 12), inf)]
        if self.kind == "below":
            return [(-inf, round(float(self.value) + self.tolerance, 12))]
        if self.kind == "direction":
            d = self.min_effect
            if self.direction == "positive":
                return [(d, inf)]
            if self.direction == "negative":
                return [(-inf, -d)]
            return [(-inf, -d), (d, inf)] if d > 0 else [(-inf, 0.0), (0.0, inf)]
        raise ValueError(f"a {self.kind!r} claim has no region (judged by classify_best)")

    def default_rival(self) -> float | None:
        """The rival when the registry names none: the edge of the claim region."""
        if self.kind == "above":
            return round(float(self.value) - self.tolerance, 12)
        if self.kind == "below":
            return round(float(self.value) + self.tolerance, 12)
        if self.kind == "direction":
            return 0.0
        return None

    @property
    def reference(self) -> float | None:
        """The number the claim states (value or threshold); None for directions."""
        return self.value if self.kind in ("value", "above", "below") else None

    def describe(self) -> str:
        if self.text:
            return self.text
        if self.kind == "value":
            if self.scale == "log":
                return f"{self.value:g} (×/÷ e^{self.tolerance:g})"
            return f"{self.value:g} ± {self.tolerance:g}"
        if self.kind == "above":
            return f"> {self.value:g}"
        if self.kind == "below":
            return f"< {self.value:g}"
        if self.kind == "direction":
            return {"positive": "> 0", "negative": "< 0", "nonzero": "≠ 0"}[str(self.direction)]
        return f"{self.best} > each of {', '.join(self.over)}"


# ---------------------------------------------------------------------- rules


def _check_ci(lower: float, upper: float) -> None:
    if not (np.isfinite(lower) or np.isinf(lower)) or not (np.isfinite(upper) or np.isinf(upper)):
        raise ValueError(f"confidence interval has NaN bounds: [{lower}, {upper}]")
    if lower > upper:
        raise ValueError(f"confidence interval lower bound {lower} exceeds upper bound {upper}")


def overlaps(lower: float, upper: float, region: Iterable[Interval]) -> bool:
    """Closed interval [lower, upper] meets at least one closed interval of ``region``."""
    return any(upper >= lo and lower <= hi for lo, hi in region)


def inside(lower: float, upper: float, region: Iterable[Interval]) -> bool:
    """[lower, upper] lies wholly inside one interval of ``region``."""
    return any(lower >= lo and upper <= hi for lo, hi in region)


def rival_inside(region: Sequence[Interval], null: float | None) -> bool:
    """True if the rival lies strictly inside the claim region (a registry error: the
    rule "C excludes the rival" would then not say on which side C lies)."""
    return null is not None and any(lo < null < hi for lo, hi in region)


def classify(lower: float, upper: float, region: Sequence[Interval], null: float | None) -> str:
    """The verdict of one test from its confidence interval (module docstring).

    The rival must not lie strictly inside the claim region (checked when the
    registry loads); on the region's edge or outside it, "C meets R and excludes
    the rival" puts C on the claim's side of the rival.
    """
    if rival_inside(region, null):
        raise ValueError(f"the rival {null} lies inside the claim region {list(region)}")
    _check_ci(lower, upper)
    if not overlaps(lower, upper, region):
        return CONTRADICTED
    if null is not None and lower <= null <= upper:
        return INCONCLUSIVE
    return SUPPORTED


def equivalent(lower_eq: float, upper_eq: float, region: Sequence[Interval]) -> bool:
    """TOST: the (1 − 2α) interval lies inside the claim region (one interval of it)."""
    _check_ci(lower_eq, upper_eq)
    return inside(lower_eq, upper_eq, region)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order.

    Sorted ascending, the i-th smallest (i = 0, 1, ...) is multiplied by m − i,
    a running maximum keeps the adjusted values monotone, capped at 1 (what
    statsmodels' ``multipletests(method="holm")`` returns, tested; computed here
    because that function runs a full garbage collection on every call, which
    costs more than the rest of a Monte Carlo world's claims).
    """
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return [float(v) for v in out]


@dataclass
class Contrast:
    """One pairwise contrast ``first − second`` of a "best" claim."""

    first: str
    second: str
    estimate: float
    std_error: float
    p_value: float
    ci_lower: float
    ci_upper: float
    p_holm: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)


def classify_best(contrasts_vs_rivals: Sequence[Contrast], alpha: float) -> str:
    """Verdict of "``best`` is above every rival" from ``best − rival`` contrasts.

    supported: every contrast is positive with Holm-adjusted p < alpha;
    contradicted: some rival is above ``best`` with Holm-adjusted p < alpha;
    inconclusive otherwise.
    """
    if not contrasts_vs_rivals:
        raise ValueError("no contrasts to judge")
    if all(c.estimate > 0 and c.p_holm < alpha for c in contrasts_vs_rivals):
        return SUPPORTED
    if any(c.estimate < 0 and c.p_holm < alpha for c in contrasts_vs_rivals):
        return CONTRADICTED
    return INCONCLUSIVE


def combine(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its primary tests' verdicts."""
    testable = [v for v in verdicts if v in STATISTICAL_VERDICTS]
    if not testable:
        return NOT_TESTABLE
    if CONTRADICTED in testable:
        return CONTRADICTED
    if all(v == SUPPORTED for v in testable):
        return SUPPORTED
    return INCONCLUSIVE
