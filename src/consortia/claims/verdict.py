"""Verdicts with stated error rates: what an estimate says about a claim.

The rules are fixed here, before any data are looked at, and explained in
``docs/claims.md``. Each test of a claim splits the values of its estimand θ into
the values at which the claim is **true** (T) and those at which it is **false** (F):

==========================  ==========================  ==========================
claimed                      true (T)                    false (F)
==========================  ==========================  ==========================
value v ± t                  [v − t, v + t] (the band)   outside the band
above c (tolerance t)        θ ≥ c − t                   θ < c − t
below c (tolerance t)        θ ≤ c + t                   θ > c + t
positive, smallest effect δ  θ ≥ δ                       θ ≤ 0
negative, δ                  θ ≤ −δ                      θ ≥ 0
nonzero, δ                   |θ| ≥ δ                     θ = 0
best (over each rival), δ    every contrast ≥ δ          some contrast ≤ 0
==========================  ==========================  ==========================

(ratios on the log scale: ``v ×/÷ e^t``). Two p-values answer the two questions:

* ``p_support``: the p-value of "θ ∈ F" (small: the data rule out every value at
  which the claim is false). For a band it is the TOST (two one-sided tests at the
  band's edges); for a threshold or direction the one-sided test at the edge of F;
  for ``nonzero`` the two-sided test of θ = 0; for ``best`` the largest one-sided
  p-value of the contrasts (intersection–union: every rival must be beaten).
* ``p_contradict``: the p-value of "θ ∈ T" (small: the data rule out every value at
  which the claim is true): one-sided at the edge of T for half-lines, twice the
  smaller one-sided p-value for a band (the data may leave it on either side),
  TOST against ±δ for ``nonzero``, Bonferroni over the contrasts for ``best``.

Then, at error rate α (``error_rate`` in the registry, 5% by default)::

    contradicted   p_contradict < α_c    (α_c = α / m over a claim's m primary tests)
    supported      p_support < α         and not contradicted
    inconclusive   otherwise
    not_testable   no estimate (columns absent, no rows of a group, a single case)

so that P(supported | claim false) ≤ α and P(contradicted | claim true) ≤ α at every
sample size the inference is valid for, the edges of T and F included. For values in
neither (a positive effect smaller than δ) no guarantee is made: a precise estimate
there is *contradicted* (the effect is smaller than any the claim is about). In
interval terms: a band claim is supported when the (1 − 2α) interval lies inside the
band and contradicted when the (1 − α) interval misses it; a threshold claim is
supported (contradicted) when the (1 − 2α) interval lies wholly above (below) the
threshold.

A claim's verdict combines its ``primary`` tests (:func:`combine`): contradicted if
any is (each at α/m, so the chance of a false contradiction stays ≤ α), supported
if all are (intersection–union: a primary test that could not be run leaves the claim
at most inconclusive, since the part it tests is unchecked), otherwise inconclusive.
``secondary`` and ``cross_check`` tests are reported beside it at α and do not change it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    why: str = ""  # the reason for the size of the tolerance or of min_effect
    text: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Claimed:
        text = str(raw.get("text", ""))
        why = str(raw.get("why", ""))
        if "value" in raw:
            return cls(
                kind="value",
                value=float(raw["value"]),
                tolerance=float(raw["tolerance"]),
                scale=str(raw.get("scale", "absolute")),
                why=why,
                text=text,
            )
        if "above" in raw or "below" in raw:
            kind = "above" if "above" in raw else "below"
            return cls(
                kind=kind,
                value=float(raw[kind]),
                tolerance=float(raw.get("tolerance", 0.0)),
                why=why,
                text=text,
            )
        if "direction" in raw:
            return cls(
                kind="direction",
                direction=str(raw["direction"]),
                min_effect=float(raw.get("min_effect", 0.0)),
                why=why,
                text=text,
            )
        if "best" in raw:
            return cls(
                kind="best",
                best=str(raw["best"]),
                over=tuple(raw["over"]),
                min_effect=float(raw.get("min_effect", 0.0)),
                why=why,
                text=text,
            )
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
        raise ValueError(f"a {self.kind!r} claim has no region (judged by best_p_values)")

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


def rival_inside(region: Sequence[Interval], null: float | None) -> bool:
    """True if the rival lies strictly inside the claim region (a registry error: the
    value the claim must be told apart from would be one at which it is true)."""
    return null is not None and any(lo < null < hi for lo, hi in region)


@dataclass(frozen=True)
class Decision:
    """The verdict of one test and the two p-values it rests on (module docstring)."""

    verdict: str
    p_support: float
    p_contradict: float


def p_values(claimed: Claimed, tails) -> tuple[float, float]:
    """(p_support, p_contradict) of a value, threshold or direction claim, from the
    estimate's one-sided tests (``tails``: :class:`consortia.claims.inference.Tails`)."""
    if claimed.kind == "value":
        ((lo, hi),) = claimed.region()
        support = max(tails.p_above(lo), tails.p_below(hi))
        contradict = min(1.0, 2 * min(tails.p_below(lo), tails.p_above(hi)))
        return support, contradict
    if claimed.kind in ("above", "below"):
        ((lo, hi),) = claimed.region()
        if claimed.kind == "above":
            return tails.p_above(lo), tails.p_below(lo)
        return tails.p_below(hi), tails.p_above(hi)
    if claimed.kind == "direction":
        d = claimed.min_effect
        if claimed.direction == "positive":
            return tails.p_above(0.0), tails.p_below(d)
        if claimed.direction == "negative":
            return tails.p_below(0.0), tails.p_above(-d)
        support = min(1.0, 2 * min(tails.p_above(0.0), tails.p_below(0.0)))
        return support, max(tails.p_above(-d), tails.p_below(d))
    raise ValueError(f"a {claimed.kind!r} claim is judged by best_p_values")


def judge_contrasts(claimed: Claimed, contrasts: Sequence[Contrast]) -> tuple[float, float]:
    """(p_support, p_contradict) of "``best`` is above each rival" from the contrasts
    best − rival (one per rival in ``claimed.over``; their one-sided p-values are set):
    supported needs every rival beaten (the largest p), contradicted one rival not
    beaten by the smallest effect of interest (Bonferroni over the rivals)."""
    if not contrasts:
        raise ValueError("no contrasts to judge")
    for c in contrasts:
        c.p_support = c.tails.p_above(0.0)
        c.p_contradict = c.tails.p_below(claimed.min_effect)
    support = max(c.p_support for c in contrasts)
    contradict = min(1.0, len(contrasts) * min(c.p_contradict for c in contrasts))
    return support, contradict


def decide(
    p_support: float, p_contradict: float, alpha: float, contradict_alpha: float | None = None
) -> Decision:
    """The verdict from the two p-values (contradiction at ``contradict_alpha``, default α)."""
    for p in (p_support, p_contradict):
        if not 0 <= p <= 1:
            raise ValueError(f"p-values must lie in [0, 1], got {p_support}, {p_contradict}")
    if p_contradict < (alpha if contradict_alpha is None else contradict_alpha):
        verdict = CONTRADICTED
    elif p_support < alpha:
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Decision(verdict, float(p_support), float(p_contradict))


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
    """One contrast ``first − second`` of a "best" claim: ``first`` is the claimed best
    level; ``p_support`` is the one-sided p-value of first − second ≤ 0, ``p_contradict``
    that of first − second ≥ the claim's smallest effect of interest (both set by
    :func:`judge_contrasts`)."""

    first: str
    second: str
    estimate: float
    std_error: float
    ci_lower: float
    ci_upper: float
    tails: Any = field(default=None, repr=False, compare=False)
    p_support: float = math.nan
    p_contradict: float = math.nan

    def record(self) -> dict[str, Any]:
        """The contrast as plain data (its inference object left out)."""
        return {k: v for k, v in vars(self).items() if k != "tails"}


def combine(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its primary tests' verdicts."""
    testable = [v for v in verdicts if v in STATISTICAL_VERDICTS]
    if not testable:
        return NOT_TESTABLE
    if CONTRADICTED in testable:
        return CONTRADICTED
    if all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    return INCONCLUSIVE
