"""The catalogue of evaluation methods, and the inference helpers they share.

A method (:class:`Evaluator`, entered in :data:`EVALUATORS` by the :func:`evaluator`
decorator) takes a claim record, the clean data (:class:`ClaimData`) and a
:class:`Context` (confidence levels, the claim's seed, which of its tests to compute) and
returns, per test name, an :class:`Estimate` (point estimate, confidence intervals,
standard error, N) or an :class:`Unavailable` (why that test cannot be computed). The
driver (:mod:`.driver`) then applies the verdict rules of :mod:`.verdict` and the power
calculations of :mod:`.power`; methods never decide verdicts. The methods themselves are
in :mod:`.methods`, one module per family.

Inference conventions (see docs/claims.md):

* every standard error is clustered by consortium (the unit of the claims:
  consortium-years of one consortium, or tasks of one consortium, are not
  independent);
* ratio estimators (achievement-weighted rates, mean shares) use the
  linearised (delta-method) cluster-robust variance with the G/(G−1) factor,
  and t(G−1) intervals;
* regression estimates come from :func:`consortia.estimate.fit` (CR1
  clustered; its own t/z convention);
* survival models: Weibull AFT (lifelines) and Cox (lifelines' estimator,
  vectorised in :mod:`.cox`) with cluster-robust sandwich variances (G/(G−1)),
  normal intervals; medians of industry-standardised Kaplan–Meier curves with a
  consortium (cluster) bootstrap (all draws from per-cluster tallies, :mod:`.survival`);
* proportions of consortia: exact (Clopper–Pearson) intervals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .inference import BinomialTails, Tails, WaldTails
from .records import ClaimRecord
from .verdict import Contrast

CID = "consortium_id"


# --------------------------------------------------------------------------- data types


class NotTestable(Exception):
    """The claim (all its tests) cannot be evaluated on these data; the message says why."""

    def __init__(self, reason: str, missing: Sequence[str] = ()):
        super().__init__(reason)
        self.reason = reason
        self.missing = list(missing)


@dataclass
class ClaimData:
    """The clean data a claim may use (docs/design.md): the consortium-year panel,
    the task table, and optionally the consortia table (one row per consortium)."""

    panel: pd.DataFrame | None = None
    tasks: pd.DataFrame | None = None
    consortia: pd.DataFrame | None = None

    def table(self, name: str) -> pd.DataFrame | None:
        return getattr(self, name)


@dataclass
class Context:
    ci_level: float
    error_rate: float
    seed: np.random.SeedSequence
    wanted: frozenset[str]
    claimed: Mapping[str, Any] = field(default_factory=dict)  # test name -> Claimed

    @property
    def one_sided_level(self) -> float:
        """The level of the two-sided interval whose ends are the one-sided bounds at the
        error rate (90% at 5%): a threshold claim is supported when it lies wholly above
        the threshold."""
        return 1 - 2 * self.error_rate

    def rng(self) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.seed))


@dataclass
class Estimate:
    """What an evaluator reports for one test.

    ``estimate`` and the intervals are on the estimand's natural scale (a
    ratio for ``scale='log'``); ``se`` is on the inference scale (the log for
    ratios), which is also the scale of the power calculations. ``tails`` is the
    inference the verdict uses (:mod:`.inference`); ``ci`` (at the registry's
    ``ci_level``) and ``ci_one_sided`` (the (1 − 2α) interval) are read off it.
    """

    estimate: float
    ci: tuple[float, float]
    ci_one_sided: tuple[float, float] | None
    tails: Tails
    se: float
    n_obs: int
    n_clusters: int
    method: str
    scale: str = "absolute"
    df: int | None = None
    contrasts: list[Contrast] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    short: str = ""  # a few words for the claims table


@dataclass
class Unavailable:
    reason: str
    missing: list[str] = field(default_factory=list)


Result = dict[str, Estimate | Unavailable]


@dataclass(frozen=True)
class Evaluator:
    name: str
    func: Callable[[ClaimRecord, ClaimData, Context], Result]
    tests: tuple[str, ...]
    description: str
    supports_best: bool = False
    best_tests: tuple[str, ...] = ()
    allowed_params: tuple[str, ...] = ()
    comparisons: tuple[str, ...] | None = None  # allowed values of the record's comparison
    check: Callable[[ClaimRecord], None] | None = None  # further consistency checks

    def check_params(self, claim: ClaimRecord) -> None:
        unknown = sorted(set(claim.params) - set(self.allowed_params))
        if unknown:
            raise ValueError(
                f"method {self.name!r} does not use param(s) {unknown} "
                f"(it takes: {list(self.allowed_params)})"
            )
        if self.comparisons is not None and claim.comparison not in self.comparisons:
            raise ValueError(
                f"method {self.name!r}: comparison must be one of {list(self.comparisons)}, "
                f"not {claim.comparison!r}"
            )
        if self.check is not None:
            self.check(claim)


# Filled by the @evaluator of each module of consortia.claims.methods when that package is
# imported: consortia.claims.registry and consortia.claims.driver import it explicitly.
EVALUATORS: dict[str, Evaluator] = {}


def evaluator(name: str, tests: Sequence[str], description: str, **kw) -> Callable:
    def deco(func):
        EVALUATORS[name] = Evaluator(
            name=name, func=func, tests=tuple(tests), description=description, **kw
        )
        return func

    return deco


# --------------------------------------------------------------------------- inference helpers


def _crit(level: float, df: int | None) -> float:
    q = 0.5 + level / 2
    return float(stats.t.ppf(q, df)) if df else float(stats.norm.ppf(q))


def wald(est: float, se: float, df: int | None, level: float, scale: str = "absolute"):
    """Wald interval; for ``scale='log'`` ``est`` is the ratio and ``se`` that of its log."""
    c = _crit(level, df)
    if scale == "log":
        return (float(est * math.exp(-c * se)), float(est * math.exp(c * se)))
    return (float(est - c * se), float(est + c * se))


def wald_estimate(
    est,
    se,
    df,
    ctx: Context,
    *,
    n_obs,
    n_clusters,
    method,
    short="",
    scale="absolute",
    details=None,
    contrasts=None,
) -> Estimate:
    if not (math.isfinite(est) and math.isfinite(se) and se > 0):
        raise NotTestable(f"the estimate or its standard error is not finite ({est}, {se})")
    return with_tails(
        WaldTails(float(est), float(se), df, scale),
        ctx,
        estimate=float(est),
        se=float(se),
        n_obs=int(n_obs),
        n_clusters=int(n_clusters),
        method=method,
        scale=scale,
        df=df,
        contrasts=contrasts,
        details=details or {},
        short=short,
    )



def with_tails(tails: Tails, ctx: Context, **fields) -> Estimate:
    """An :class:`Estimate` whose intervals are read off its inference ``tails``."""
    return Estimate(
        ci=tails.interval(ctx.ci_level),
        ci_one_sided=tails.interval(ctx.one_sided_level),
        tails=tails,
        **fields,
    )


def ratio_influence(num: pd.Series, den: pd.Series, cluster: pd.Series):
    """R = Σnum/Σden and its per-cluster influence sums ψ_g = Σ_g (num − R·den) / Σden."""
    total = float(den.sum())
    if total <= 0:
        raise NotTestable("the denominator of a ratio estimate sums to zero")
    r = float(num.sum()) / total
    psi = ((num - r * den) / total).groupby(cluster.to_numpy()).sum()
    return r, psi


def linearised_se(terms: Sequence[tuple[float, pd.Series]]) -> tuple[float, int]:
    """SE of Σ c_k θ_k from per-cluster influence sums (clusters aligned, absent = 0).

    Var = G/(G−1) Σ_g (Σ_k c_k ψ_kg)², G = the clusters appearing in any term.
    """
    combined = None
    for coef, psi in terms:
        s = coef * psi
        combined = s if combined is None else combined.add(s, fill_value=0.0)
    g = len(combined)
    if g < 2:
        raise NotTestable(f"{g} consortium (cluster) in the sample: no cluster-robust SE")
    return float(math.sqrt(g / (g - 1) * float((combined**2).sum()))), g


def binomial_estimate(
    k: int, n: int, ctx: Context, method: str, details: dict, short: str = "Exact binomial"
) -> Estimate:
    if n == 0:
        raise NotTestable("no consortia in the sample")
    p = k / n
    se = math.sqrt(max(p * (1 - p), 1e-12) / n)
    return with_tails(
        BinomialTails(int(k), int(n)),
        ctx,
        estimate=p,
        se=se,
        n_obs=n,
        n_clusters=n,
        method=method,
        details=dict(details, k=int(k), n=int(n)),
        short=short,
    )


def as_bool(s: pd.Series) -> pd.Series:
    """0/1, True/False, 'true'/'false' (any case) as bool; missing as False."""
    if s.dtype == bool:
        return s
    if isinstance(s.dtype, pd.BooleanDtype):
        return s.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float).fillna(0) != 0
    mapped = (
        s.astype("string")
        .str.strip()
        .str.lower()
        .map({"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False})
    )
    return mapped.fillna(False).astype(bool)


def select_columns(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    return df.loc[:, list(dict.fromkeys(cols))]


def model_columns(panel: pd.DataFrame, *column_lists: Sequence[str]) -> pd.DataFrame:
    """A copy of the panel's consortium, year and listed columns (those it has): all a
    model fit reads (:func:`consortia.estimate.build_design` keeps the spec's columns and
    the panel's entity and time), without copying a wide panel of a million rows."""
    listed = [c for cols in column_lists for c in cols]
    return panel.loc[:, [c for c in dict.fromkeys([CID, "year", *listed]) if c in panel]]


def fit_model(spec: dict, data: pd.DataFrame):
    from consortia.estimate import SpecError, fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit(spec, data)
    except SpecError as exc:
        raise NotTestable(str(exc)) from exc


def fit_or_unavailable(spec: dict, data: pd.DataFrame):
    """:func:`fit_model`, or the Unavailable record of one test when the data cannot support the
    model (so the claim's other tests still run)."""
    try:
        return fit_model(spec, data)
    except NotTestable as exc:
        return Unavailable(exc.reason, exc.missing)


def coefficient_estimate(
    res, term: str, ctx: Context, method: str, details: dict | None = None, short: str = ""
):
    if isinstance(res, Unavailable):
        return res
    if term not in res.params or not math.isfinite(res.std_errors.get(term, math.nan)):
        return Unavailable(
            f"term {term!r} not estimable in model {res.name!r} (dropped: {res.dropped_terms})"
        )
    g = int(res.n_clusters.get(CID, 0)) or int(res.nobs)
    d = {
        "model": res.name,
        "formula": res.formula,
        "clustering": res.clustering,
        "small_sample": res.small_sample,
        "notes": res.notes,
    }
    d.update(details or {})
    return wald_estimate(
        res.params[term],
        res.std_errors[term],
        res.df_inference,
        ctx,
        n_obs=res.nobs,
        n_clusters=g,
        method=method,
        details=d,
        short=short,
    )


def marginal_effect_estimate(
    res, term: str, ctx: Context, method: str, details: dict | None = None
) -> Estimate | Unavailable:
    """The fractional-logit average marginal effect of ``term`` in ``res`` (its delta-method
    SE clustered by consortium, normal CI), or why there is none; ``details`` adds to the
    model's."""
    if isinstance(res, Unavailable):
        return res
    me = (res.marginal_effects or {}).get(term)
    if me is None:
        return Unavailable(f"no marginal effect for {term}")
    return wald_estimate(
        me["estimate"],
        me["std_error"],
        None,
        ctx,
        n_obs=res.nobs,
        n_clusters=int(res.n_clusters.get(CID, 0)),
        method=method,
        details={
            "model": res.name,
            "formula": res.formula,
            "coefficient": res.params.get(term),
            "notes": res.notes,
            **(details or {}),
        },
        short="Fractional logit AME, controls",
    )


def add_transfer_rate(pan: pd.DataFrame) -> None:
    """The consortium-year transfer rate (transferred / achievements; missing without an
    achievement) as a column of ``pan``, where the panel does not carry it."""
    if "transfer_rate" not in pan:
        ach = pd.to_numeric(pan["achievements"])
        pan["transfer_rate"] = (pd.to_numeric(pan["achievements_transferred"]) / ach).where(
            ach > 0
        )
