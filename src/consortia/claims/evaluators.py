"""One evaluator per method of the claims registry, and the driver :func:`evaluate_claims`.

An evaluator takes a claim record, the clean data (:class:`ClaimData`) and a
:class:`Context` (confidence levels, the claim's seed, which of its tests to
compute) and returns, per test name, an :class:`Estimate` (point estimate,
confidence intervals, standard error, N) or an :class:`Unavailable` (why
that test cannot be computed). The driver then applies the verdict rules of
:mod:`.verdict` and the power calculations of :mod:`.power`; evaluators never
decide verdicts.

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
import sys
import warnings
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from consortia.estimate.spec import ESTIMATOR_LABELS
from consortia.estimate.vcov import cluster_sums, codes
from consortia.files import json_safe, software_versions

from . import power as pw
from .cox import CoxFitError, cox_cluster_fit
from .cr2 import ROUNDING, CR2Fit, CR2Tails
from .inference import BinomialTails, BootstrapTails, IntervalTails, Tails, WaldTails
from .intervals import newcombe_interval
from .registry import ClaimRecord, Registry, TestSpec, load_registry
from .survival import standardised_median_draws
from .verdict import (
    NOT_TESTABLE,
    STATISTICAL_VERDICTS,
    Contrast,
    combine,
    decide,
    holm,
    judge_contrasts,
    p_values,
)

CID = "consortium_id"
# The packages whose versions claims.json records.
CLAIMS_SOFTWARE = ("numpy", "pandas", "scipy", "statsmodels", "lifelines", "pyfixest")


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


def _estimate(
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
    return _with_tails(
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


def _rate_groups_test(
    d: pd.DataFrame,
    groups: Mapping[str, pd.Series],
    restriction: Callable[[float], tuple[np.ndarray, float]],
    estimate: float,
    ctx: Context,
    *,
    scale: str = "absolute",
    **fields,
) -> Estimate | Unavailable:
    """A test on achievement-weighted transfer rates with CR2 standard errors and
    Bell–McCaffrey degrees of freedom (:mod:`.cr2`): CR1 with t(G − 1) over-rejects when a
    compared group has few consortia, and CR2 gives CR1's answer when every group has many.

    The rates are the coefficients of a regression of the consortium-year rate on one
    dummy per group (``groups``: disjoint masks of ``d``'s consortium-years) weighted by
    achievements (Σ transferred / Σ achievements per group); ``restriction(θ₀)`` states
    the hypothesis θ = θ₀ as c′β = r. The reported SE (on the log scale for a ratio) is
    the delta method's from the CR2 variance, the df those of c′β at the estimate;
    ``fields``: the rest of the :class:`Estimate` (method, details, short).
    """
    clusters = {name: int(d.loc[m, CID].nunique()) for name, m in groups.items()}
    fewest = min(clusters, key=clusters.get)
    if clusters[fewest] < 2:
        return Unavailable(
            f"the {fewest} group has {clusters[fewest]} consortium: no cluster-robust "
            "inference on its rate"
        )
    rows = pd.concat(list(groups.values()), axis=1).any(axis=1).to_numpy()
    sub = d.loc[rows]
    fit = CR2Fit(
        np.column_stack([m[rows].to_numpy(dtype=float) for m in groups.values()]),
        (sub["achievements_transferred"] / sub["achievements"]).to_numpy(),
        sub[CID].to_numpy(),
        weights=sub["achievements"].to_numpy(),
    )
    c, _ = restriction(estimate)

    def excess(theta: float) -> float:
        c_theta, r_theta = restriction(theta)
        return float(c_theta @ fit.beta) - r_theta

    # the delta method: SE(θ̂) = SE(c′β̂) / |∂(c(θ)′β̂ − r(θ))/∂θ| (exact for restrictions
    # linear in θ, as every rate test's is)
    step = 1e-6 * max(abs(estimate), 1.0)
    slope = abs(excess(estimate + step) - excess(estimate - step)) / (2 * step)
    se = fit.se(c) / slope / (estimate if scale == "log" else 1.0)
    df = fit.df(c)
    if not (fit.varies(c) and math.isfinite(se) and se > 0 and math.isfinite(df)):
        return Unavailable(
            f"no CR2 standard error (SE {se:.3g}, df {df:.3g}): the rates do not vary "
            "within the groups"
        )
    details = fields.pop("details", {})
    return _with_tails(
        CR2Tails(fit, estimate, restriction, spread=se, scale=scale),
        ctx,
        estimate=estimate,
        se=se,
        n_obs=int(rows.sum()),
        n_clusters=int(sub[CID].nunique()),
        scale=scale,
        df=df,
        details=dict(details, consortia_by_group=clusters),
        **fields,
    )


def _with_tails(tails: Tails, ctx: Context, **fields) -> Estimate:
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


def _binomial(
    k: int, n: int, ctx: Context, method: str, details: dict, short: str = "Exact binomial"
) -> Estimate:
    if n == 0:
        raise NotTestable("no consortia in the sample")
    p = k / n
    se = math.sqrt(max(p * (1 - p), 1e-12) / n)
    return _with_tails(
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


def _as_bool(s: pd.Series) -> pd.Series:
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


def _cols(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    return df.loc[:, list(dict.fromkeys(cols))]


def _model_columns(panel: pd.DataFrame, *column_lists: Sequence[str]) -> pd.DataFrame:
    """A copy of the panel's consortium, year and listed columns (those it has): all a
    model fit reads (:func:`consortia.estimate.build_design` keeps the spec's columns and
    the panel's entity and time), without copying a wide panel of a million rows."""
    listed = [c for cols in column_lists for c in cols]
    return panel.loc[:, [c for c in dict.fromkeys([CID, "year", *listed]) if c in panel]]


def _fit(spec: dict, data: pd.DataFrame):
    from consortia.estimate import SpecError, fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit(spec, data)
    except SpecError as exc:
        raise NotTestable(str(exc)) from exc


def _fit_or_unavailable(spec: dict, data: pd.DataFrame):
    """:func:`_fit`, or the Unavailable record of one test when the data cannot support the
    model (so the claim's other tests still run)."""
    try:
        return _fit(spec, data)
    except NotTestable as exc:
        return Unavailable(exc.reason, exc.missing)


def _coef(res, term: str, ctx: Context, method: str, details: dict | None = None, short: str = ""):
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
    return _estimate(
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


# --------------------------------------------------------------------------- transfer rates


def _transfer_frame(panel: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    d = _cols(panel, [CID, "lead_type", "achievements", "achievements_transferred", *extra])
    d = d.dropna(subset=[CID, "lead_type", "achievements", "achievements_transferred"])
    d = d[pd.to_numeric(d["achievements"]) > 0].copy()
    d["achievements"] = pd.to_numeric(d["achievements"]).astype(float)
    d["achievements_transferred"] = pd.to_numeric(d["achievements_transferred"]).astype(float)
    return d


@evaluator(
    "transfer_rate",
    tests=("level", "gap", "gap_adjusted", "gap_unclustered"),
    description="achievement-weighted transfer rate of the lead group (level), its gap to the "
    "comparison group, the fractional-logit AME of the lead group with controls, and the gap "
    "with Newcombe's unclustered score interval",
    allowed_params=("lead", "adjusted"),
    comparisons=("other_led", "all"),
)
def eval_transfer_rate(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    comparison = claim.comparison
    d = _transfer_frame(data.panel)
    is_lead = d["lead_type"].astype(str) == lead
    comp = ~is_lead if comparison == "other_led" else pd.Series(True, index=d.index)
    if not is_lead.any():
        raise NotTestable(f"no {lead}-led consortium-years with at least one achievement")
    out: Result = {}
    r1, psi1 = ratio_influence(
        d.loc[is_lead, "achievements_transferred"],
        d.loc[is_lead, "achievements"],
        d.loc[is_lead, CID],
    )
    cr2 = "CR2 SE clustered by consortium, Bell–McCaffrey df"
    base = {
        "rate_lead": r1,
        "achievements_lead": float(d.loc[is_lead, "achievements"].sum()),
        "consortium_years_lead": int(is_lead.sum()),
    }
    if "level" in ctx.wanted:
        out["level"] = _rate_groups_test(
            d,
            {f"{lead}-led": is_lead},
            lambda v: (np.array([1.0]), v),
            r1,
            ctx,
            method=f"achievement-weighted rate Σ transferred / Σ achievements over {lead}-led "
            f"consortium-years; {cr2}",
            details=dict(base),
            short="Weighted rate, CR2",
        )
    if "gap" in ctx.wanted:
        if not comp.any():
            out["gap"] = Unavailable(f"no consortium-years in the comparison group {comparison!r}")
        else:
            r0, psi0 = ratio_influence(
                d.loc[comp, "achievements_transferred"],
                d.loc[comp, "achievements"],
                d.loc[comp, CID],
            )
            det = dict(
                base,
                rate_comparison=r0,
                comparison=comparison,
                consortium_years_comparison=int(comp.sum()),
            )
            what = (
                f"difference of achievement-weighted rates, {lead}-led minus "
                f"{comparison.replace('_', '-')}"
            )
            if comparison == "other_led":
                out["gap"] = _rate_groups_test(
                    d,
                    {f"{lead}-led": is_lead, comparison: comp},
                    lambda v: (np.array([1.0, -1.0]), v),
                    r1 - r0,
                    ctx,
                    method=f"{what}; {cr2}",
                    details=det,
                    short="Difference of weighted rates, CR2",
                )
            else:
                # the comparison group contains the lead group: not a regression on disjoint
                # group dummies, so the linearised CR1 SE with t(G − 1)
                se, g = linearised_se([(1.0, psi1), (-1.0, psi0)])
                out["gap"] = _estimate(
                    r1 - r0,
                    se,
                    g - 1,
                    ctx,
                    n_obs=int((is_lead | comp).sum()),
                    n_clusters=g,
                    method=f"{what}; linearised SE clustered by consortium (CR1, covariance of "
                    "the overlapping groups included), t(G−1) CI",
                    details=det,
                    short="Difference of weighted rates, cluster-robust",
                )
    if "gap_unclustered" in ctx.wanted:
        out["gap_unclustered"] = _gap_unclustered(d, is_lead, comp, comparison, lead, ctx)
    if "gap_adjusted" in ctx.wanted:
        adj = dict(claim.params.get("adjusted") or {})
        controls = list(adj.get("controls", ["industry", "n_members"]))
        fes = list(adj.get("fixed_effects", ["year"]))
        pan = _model_columns(
            data.panel,
            ["lead_type", "transfer_rate", "achievements", "achievements_transferred"],
            controls,
            fes,
        )
        pan["lead_is_" + lead] = (pan["lead_type"].astype(str) == lead).astype(float)
        if "transfer_rate" not in pan:
            ach = pd.to_numeric(pan["achievements"])
            pan["transfer_rate"] = (pd.to_numeric(pan["achievements_transferred"]) / ach).where(
                ach > 0
            )
        term = "lead_is_" + lead
        spec = {
            "name": f"claim_{claim.id}_fraclogit",
            "outcome": "transfer_rate",
            "regressors": [term],
            "controls": controls,
            "estimator": "fraclogit",
            "fixed_effects": fes,
            "cluster": [CID],
        }
        res = _fit_or_unavailable(spec, pan)
        me = None if isinstance(res, Unavailable) else (res.marginal_effects or {}).get(term)
        if isinstance(res, Unavailable):
            out["gap_adjusted"] = res
        elif me is None:
            out["gap_adjusted"] = Unavailable(f"no marginal effect for {term}")
        else:
            note = (
                ""
                if comparison == "other_led"
                else " (the AME always compares with all other-led consortia, whatever the "
                "comparison group of the raw gap)"
            )
            g = int(res.n_clusters.get(CID, 0))
            out["gap_adjusted"] = _estimate(
                me["estimate"],
                me["std_error"],
                None,
                ctx,
                n_obs=res.nobs,
                n_clusters=g,
                method="fractional logit (Papke–Wooldridge QMLE) of the consortium-year transfer "
                f"rate on a {lead}-led dummy + {', '.join(controls)}, "
                f"{' + '.join(fes)} effects; average discrete change 0→1 (AME), "
                "delta-method SE clustered by consortium (CR1)" + note,
                details={
                    "model": res.name,
                    "formula": res.formula,
                    "coefficient": res.params.get(term),
                    "notes": res.notes,
                    "weighting": "one observation per consortium-year with ≥ 1 "
                    "achievement (not achievement-weighted)",
                },
                short="Fractional logit AME, controls",
            )
    return out


def _gap_unclustered(
    d: pd.DataFrame, is_lead: pd.Series, comp: pd.Series, comparison: str, lead: str, ctx: Context
) -> Estimate | Unavailable:
    """The gap of pooled rates with Newcombe's hybrid score interval, every achievement an
    independent trial: the interval a reader ignoring clustering would report."""
    if comparison != "other_led":
        return Unavailable(
            f"comparison {comparison!r} contains the {lead}-led consortia: the two rates are "
            "not independent samples (Newcombe's interval needs comparison: other_led)"
        )
    if not comp.any():
        return Unavailable(f"no consortium-years in the comparison group {comparison!r}")
    k1, n1 = (float(d.loc[is_lead, c].sum()) for c in ("achievements_transferred", "achievements"))
    k0, n0 = (float(d.loc[comp, c].sum()) for c in ("achievements_transferred", "achievements"))
    p1, p0 = k1 / n1, k0 / n0
    return _with_tails(
        IntervalTails(p1 - p0, lambda level: newcombe_interval(k1, n1, k0, n0, level)),
        ctx,
        estimate=p1 - p0,
        se=math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0),
        n_obs=int(n1 + n0),
        n_clusters=int(d.loc[is_lead | comp, CID].nunique()),
        method=f"difference of pooled transfer rates, {lead}-led minus other-led, with "
        "Newcombe's (1998) hybrid score interval treating the N achievements as independent "
        "trials (unclustered; SE: unclustered Wald, for power only)",
        details={
            "transferred_lead": k1,
            "achievements_lead": n1,
            "transferred_comparison": k0,
            "achievements_comparison": n0,
        },
        short="Newcombe score interval, unclustered",
    )


@evaluator(
    "rate_ratio",
    tests=("ratio", "ratio_within_lead"),
    description="ratio of achievement-weighted transfer rates, consortium-years with ≥ 1 "
    "university / research-institute member vs the comparison group",
    allowed_params=("lead",),
    comparisons=("enterprise_only", "no_academic_partner"),
)
def eval_rate_ratio(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    comparison = claim.comparison
    lead = claim.params.get("lead", "enterprise")
    extra = ["has_academic_partner"] + (
        ["share_enterprise"] if comparison == "enterprise_only" else []
    )
    d = _transfer_frame(data.panel, extra).dropna(subset=extra)
    acad = _as_bool(d["has_academic_partner"])
    if comparison == "enterprise_only":
        comp = pd.to_numeric(d["share_enterprise"]).astype(float) >= 1 - 1e-9
    else:
        comp = ~acad
    out: Result = {}
    for name, within in (("ratio", None), ("ratio_within_lead", lead)):
        if name not in ctx.wanted:
            continue
        m = (
            pd.Series(True, index=d.index)
            if within is None
            else (d["lead_type"].astype(str) == within)
        )
        a, c = acad & m, comp & m
        if not a.any() or not c.any():
            out[name] = Unavailable(
                "no consortium-years "
                + (
                    "with an academic partner"
                    if not a.any()
                    else f"in the comparison group {comparison!r}"
                )
                + ("" if within is None else f" among {within}-led consortia")
            )
            continue
        ra, rc = (
            float(d.loc[g, "achievements_transferred"].sum() / d.loc[g, "achievements"].sum())
            for g in (a, c)
        )
        if ra <= 0 or rc <= 0:
            out[name] = Unavailable("a transfer rate of zero: the ratio is not defined")
            continue
        out[name] = _rate_groups_test(
            d,
            {"academic-partner": a, comparison.replace("_", "-"): c},
            lambda v: (np.array([1.0, -v]), 0.0),
            ra / rc,
            ctx,
            scale="log",
            method="ratio of achievement-weighted transfer rates (academic partner / "
            f"{comparison.replace('_', '-')})"
            + ("" if within is None else f" within {within}-led consortia")
            + "; CR2 SE clustered by consortium (delta method for the log ratio), "
            "Bell–McCaffrey df, CI by inverting the tests of rate_a = θ·rate_c",
            details={
                "rate_academic": ra,
                "rate_comparison": rc,
                "comparison": comparison,
                "consortium_years_academic": int(a.sum()),
                "consortium_years_comparison": int(c.sum()),
            },
            short="Ratio of weighted rates, CR2",
        )
    return out


# --------------------------------------------------------------------------- shares of consortia


def _consortium_leads(data: ClaimData) -> pd.DataFrame:
    src = data.consortia
    if src is None or "lead_type" not in src or CID not in src:
        src = data.panel
    return src[[CID, "lead_type"]].dropna().drop_duplicates(CID)


@evaluator(
    "lead_share",
    tests=("share", "highest"),
    description="share of consortia led by the lead type (exact binomial CI) and its margin "
    "over the next most common lead type",
    allowed_params=("lead",),
    comparisons=(None,),
)
def eval_lead_share(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    c = _consortium_leads(data)
    n = len(c)
    counts = c["lead_type"].astype(str).value_counts()
    k = int(counts.get(lead, 0))
    src = (
        "consortia table"
        if data.consortia is not None and "lead_type" in data.consortia
        else "distinct consortia of the panel"
    )
    out: Result = {}
    if "share" in ctx.wanted:
        out["share"] = _binomial(
            k,
            n,
            ctx,
            method=f"share of {lead}-led consortia ({src}); exact Clopper–Pearson CI",
            details={"counts": {str(i): int(v) for i, v in counts.items()}},
            short="Share of consortia, exact binomial",
        )
    if "highest" in ctx.wanted:
        others = counts.drop(lead, errors="ignore")
        if n == 0 or others.empty:
            out["highest"] = Unavailable("no other lead type in the data")
        else:
            p1, p2 = k / n, float(others.iloc[0]) / n
            se = math.sqrt(max(p1 + p2 - (p1 - p2) ** 2, 1e-12) / n)
            out["highest"] = _estimate(
                p1 - p2,
                se,
                None,
                ctx,
                n_obs=n,
                n_clusters=n,
                method=f"share of {lead}-led minus the share of the next most common lead type "
                f"({others.index[0]}); multinomial SE, normal CI",
                details={
                    "runner_up": str(others.index[0]),
                    "share_lead": p1,
                    "share_runner_up": p2,
                },
                short="Difference of shares, multinomial SE",
            )
    return out


# --------------------------------------------------------------------------- means over consortia


@evaluator(
    "lead_decision_weight",
    tests=("mean", "share_above"),
    description="mean decision weight of the lead member over lead-type-led consortia, and the "
    "share of those consortia whose lead holds more than the threshold",
    allowed_params=("lead", "threshold"),
    comparisons=(None,),
)
def eval_lead_weight(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    thr = float(claim.params.get("threshold", 0.6))
    p = data.panel
    d = p.loc[p["lead_type"].astype(str) == lead, [CID, "lead_decision_weight"]].dropna()
    x = pd.to_numeric(d["lead_decision_weight"]).astype(float).groupby(d[CID]).mean()
    g = len(x)
    if g < 2:
        raise NotTestable(f"{g} {lead}-led consortia with a known lead decision weight")
    out: Result = {}
    if "mean" in ctx.wanted:
        se = float(x.std(ddof=1) / math.sqrt(g))
        out["mean"] = _estimate(
            float(x.mean()),
            se,
            g - 1,
            ctx,
            n_obs=g,
            n_clusters=g,
            method=f"mean over {lead}-led consortia of the lead member's decision weight "
            "(one value per consortium: its mean over years); t(G−1) CI",
            details={"consortia": g},
            short="Mean over consortia, t test",
        )
    if "share_above" in ctx.wanted:
        out["share_above"] = _binomial(
            int((x > thr).sum()),
            g,
            ctx,
            method=f"share of {lead}-led consortia whose lead holds a decision weight > {thr:g}; "
            "exact Clopper–Pearson CI",
            details={"threshold": thr},
            short="Share of consortia, exact binomial",
        )
    return out


@evaluator(
    "industrial_task_share",
    tests=("mean", "pooled"),
    description="industrial share of R&D tasks in lead-type-led consortia: mean of the "
    "consortium-year shares, and the pooled Σ industrial / Σ total",
    allowed_params=("lead",),
    comparisons=(None,),
)
def eval_industrial_share(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    p = data.panel
    mine = p["lead_type"].astype(str) == lead
    out: Result = {}
    if "mean" in ctx.wanted:
        d = p.loc[mine, [CID, "industrial_task_share"]].dropna()
        if d.empty:
            raise NotTestable(f"no {lead}-led consortium-years with a defined industrial share")
        y = pd.to_numeric(d["industrial_task_share"]).astype(float)
        m, psi = ratio_influence(y, pd.Series(1.0, index=d.index), d[CID])
        se, g = linearised_se([(1.0, psi)])
        out["mean"] = _estimate(
            m,
            se,
            g - 1,
            ctx,
            n_obs=len(d),
            n_clusters=g,
            method=f"mean of tasks_industrial / tasks_total over {lead}-led consortium-years; "
            "SE clustered by consortium, t(G−1) CI",
            short="Mean share, cluster-robust",
        )
    if "pooled" in ctx.wanted:
        d = p.loc[mine, [CID, "tasks_industrial", "tasks_total"]].dropna()
        d = d[pd.to_numeric(d["tasks_total"]) > 0]
        if d.empty:
            out["pooled"] = Unavailable("no consortium-years with tasks")
        else:
            r, psi = ratio_influence(
                pd.to_numeric(d["tasks_industrial"]).astype(float),
                pd.to_numeric(d["tasks_total"]).astype(float),
                d[CID],
            )
            se, g = linearised_se([(1.0, psi)])
            out["pooled"] = _estimate(
                r,
                se,
                g - 1,
                ctx,
                n_obs=len(d),
                n_clusters=g,
                method=f"Σ tasks_industrial / Σ tasks_total over {lead}-led consortium-years; "
                "linearised SE clustered by consortium, t(G−1) CI",
                short="Pooled ratio, cluster-robust",
            )
    return out


# --------------------------------------------------------------------------- survival


def _with_consortium_columns(
    tasks: pd.DataFrame, consortia: pd.DataFrame | None, columns: Sequence[str]
) -> pd.DataFrame:
    """Tasks with the ``columns`` they lack taken from their consortium's row of the
    consortia table (e.g. a funding scheme as a control; the registry's ``requires``
    names it under ``consortia``)."""
    wanted = [c for c in columns if c not in tasks and consortia is not None and c in consortia]
    if not wanted:
        return tasks
    return tasks.join(consortia.drop_duplicates(CID).set_index(CID)[wanted], on=CID)


def _design_tasks(
    tasks: pd.DataFrame, lead: str, reference: str, controls: Sequence[str], lead_types: str
):
    need = [CID, "lead_type", "duration_years", "event", *controls]
    d = _cols(tasks, need).dropna().copy()
    d["lead_type"] = d["lead_type"].astype(str)
    if lead_types == "pair":
        d = d[d["lead_type"].isin([lead, reference])]
    d["T"] = pd.to_numeric(d["duration_years"]).astype(float)
    d["E"] = pd.to_numeric(d["event"]).astype(float)
    n_nonpos = int((d["T"] <= 0).sum())
    d = d[d["T"] > 0]
    for grp in (lead, reference):
        sub = d[d["lead_type"] == grp]
        if sub.empty or sub["E"].sum() == 0:
            raise NotTestable(f"no {grp}-led tasks with an achieved breakthrough")
    X = pd.DataFrame(index=d.index)
    for lt in sorted(d["lead_type"].unique()):
        if lt != reference:
            X[f"lead_{lt}"] = (d["lead_type"] == lt).astype(float)
    for c in controls:
        s = d[c]
        if s.dtype == bool or str(s.dtype) == "boolean" or pd.api.types.is_numeric_dtype(s):
            X[c] = s.astype(float)
        else:
            levels = sorted(s.astype(str).unique())
            for lev in levels[1:]:
                X[f"{c}[{lev}]"] = (s.astype(str) == lev).astype(float)
    X = X.loc[:, X.std(ddof=0) > 0]
    return d, X, n_nonpos


def weibull_aft_cluster_vcov(
    aft,
    X: pd.DataFrame,
    T: np.ndarray,
    E: np.ndarray,
    cluster: np.ndarray,
    small_sample: bool = True,
) -> pd.DataFrame:
    """Cluster-robust sandwich covariance of a lifelines WeibullAFTFitter fit.

    Model (lifelines' parametrisation): S(t|x) = exp(−(t/λ)^ρ), log λ = x'β,
    log ρ = γ. With u = ρ (log t − x'β) the log-likelihood of one task is
    E (log ρ − log t + u) − e^u, so the scores are
    ∂/∂β = −ρ x (E − e^u) and ∂/∂γ = E (1 + u) − u e^u. The covariance is
    V (Σ_g s_g s_g') V with V the inverse Hessian lifelines reports and s_g the
    score sums over the tasks of consortium g, times G/(G−1) when
    ``small_sample``. (lifelines' own ``robust=True`` is the same with one task
    per cluster and no G/(G−1).)
    """
    T = np.asarray(T, dtype=float)
    E = np.asarray(E, dtype=float)
    params = aft.params_
    V = aft.variance_matrix_.loc[params.index, params.index].to_numpy()
    lam_cov = list(params.loc["lambda_"].index)
    Xl = np.column_stack(
        [np.ones(len(X)) if c == "Intercept" else X[c].to_numpy(float) for c in lam_cov]
    )
    beta = params.loc["lambda_"].to_numpy(float)
    gamma = float(params.loc[("rho_", "Intercept")])
    rho = math.exp(gamma)
    u = rho * (np.log(T) - Xl @ beta)
    eu = np.exp(u)
    s_beta = (-rho * (E - eu))[:, None] * Xl
    s_gamma = E * (1 + u) - u * eu
    # order of params_: lambda_ block then rho_ block (as in params.index)
    scores = np.zeros((len(T), len(params)))
    pos = {k: i for i, k in enumerate(params.index)}
    for j, c in enumerate(lam_cov):
        scores[:, pos[("lambda_", c)]] = s_beta[:, j]
    scores[:, pos[("rho_", "Intercept")]] = s_gamma
    S = cluster_sums(scores, codes(cluster))
    g = len(S)
    meat = S.T @ S
    Vc = V @ meat @ V * (g / (g - 1) if small_sample and g > 1 else 1.0)
    return pd.DataFrame(Vc, index=params.index, columns=params.index)


def _thin_levels(X: pd.DataFrame, most: int = 2) -> str:
    """A hint for a failed Cox fit: dummies of the controls held by at most ``most`` tasks,
    with which the partial likelihood can keep rising as a coefficient runs off to ±∞
    (lifelines' estimator stops there too)."""
    dummies = X.loc[:, ~X.columns.str.startswith("lead_")]
    counts = dummies.sum()
    thin = counts[(counts <= most) & dummies.isin([0.0, 1.0]).all()]
    if thin.empty:
        return ""
    return (
        f"; {len(thin)} level(s) of the controls have at most {most} tasks (e.g. "
        f"{thin.index[0]}): their coefficients can run off to ±∞"
    )


def _check_breakthrough(claim: ClaimRecord) -> None:
    if claim.comparison == claim.params.get("lead", "enterprise"):
        raise ValueError("the comparison lead type equals the lead type under test")


@evaluator(
    "breakthrough_time",
    tests=("time_ratio", "hazard_ratio", "median_ratio"),
    description="time to breakthrough of lead-type-led vs reference-led tasks: Weibull AFT time "
    "ratio (right-censored), Cox hazard ratio and Kaplan–Meier median ratio",
    allowed_params=("lead", "controls", "lead_types", "n_boot"),
    comparisons=("university", "research_institute", "government", "other", "enterprise"),
    check=_check_breakthrough,
)
def eval_breakthrough(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    from lifelines import WeibullAFTFitter

    lead = claim.params.get("lead", "enterprise")
    ref = claim.comparison
    controls = list(claim.params.get("controls", ["industry"]))
    lead_types = claim.params.get("lead_types", "all")
    tasks = _with_consortium_columns(data.tasks, data.consortia, controls)
    d, X, n_nonpos = _design_tasks(tasks, lead, ref, controls, lead_types)
    T, E, cl = d["T"].to_numpy(), d["E"].to_numpy(), d[CID].to_numpy()
    g_all = int(pd.Series(cl).nunique())
    term = f"lead_{lead}"
    base = {
        "lead": lead,
        "reference": ref,
        "tasks": len(d),
        "events": int(E.sum()),
        "censored": int(len(d) - E.sum()),
        "nonpositive_durations_dropped": n_nonpos,
        "controls": controls,
        "sample": "all lead types (reference: " + ref + ")"
        if lead_types == "all"
        else f"{lead}- and {ref}-led tasks only",
    }
    out: Result = {}
    shape = math.nan
    if {"time_ratio", "hazard_ratio"} & ctx.wanted:
        frame = X.assign(T=T, E=E)
        aft = WeibullAFTFitter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aft.fit(frame, "T", "E")
        Vc = weibull_aft_cluster_vcov(aft, X, T, E, cl)
        b = float(aft.params_.loc[("lambda_", term)])
        variance = float(Vc.loc[("lambda_", term), ("lambda_", term)])
        shape = float(math.exp(aft.params_.loc[("rho_", "Intercept")]))
        if "time_ratio" in ctx.wanted and not (math.isfinite(variance) and variance > 0):
            out["time_ratio"] = Unavailable(
                f"the cluster-robust variance of the Weibull AFT {term} coefficient is not "
                f"positive ({variance:.3g}) with {g_all} consortia"
            )
        elif "time_ratio" in ctx.wanted:
            se = math.sqrt(variance)
            out["time_ratio"] = _estimate(
                math.exp(b),
                se,
                None,
                ctx,
                n_obs=len(d),
                n_clusters=g_all,
                scale="log",
                method=f"Weibull AFT (lifelines) of time to breakthrough, abandoned/ongoing tasks "
                f"right-censored; time ratio exp(β) of {lead}- vs {ref}-led tasks"
                + (f", controls: {', '.join(controls)}" if controls else "")
                + "; sandwich SE clustered by consortium (G/(G−1)), normal CI",
                short="Weibull AFT, clustered sandwich",
                details=dict(
                    base,
                    weibull_shape=shape,
                    model_se=float(aft.standard_errors_.loc[("lambda_", term)]),
                ),
            )
    cox = None
    if "hazard_ratio" in ctx.wanted:
        try:
            cox = cox_cluster_fit(X, T, E, cl).loc[term]
        except CoxFitError as exc:
            out["hazard_ratio"] = Unavailable(str(exc) + _thin_levels(X))
    if cox is not None:
        b, se = float(cox["coef"]), float(cox["cluster_se"])
        implied = None
        if math.isfinite(shape) and claim.tests:
            tr = next(
                (
                    t.claimed.value
                    for t in claim.tests
                    if t.name == "time_ratio" and t.claimed.kind == "value"
                ),
                None,
            )
            implied = None if tr is None else float(tr ** (-shape))
        out["hazard_ratio"] = _estimate(
            math.exp(b),
            se,
            None,
            ctx,
            n_obs=len(d),
            n_clusters=g_all,
            scale="log",
            method=f"Cox proportional hazards (Efron ties, lifelines' estimator); hazard ratio of "
            f"{lead}- vs {ref}-led tasks; sandwich SE clustered by consortium "
            "(G/(G−1)), normal CI",
            short="Cox PH, clustered sandwich",
            details=dict(
                base,
                hr_implied_by_claimed_time_ratio_and_aft_shape=implied,
                aft_weibull_shape=shape if math.isfinite(shape) else None,
                model_se=float(cox["model_se"]),
            ),
        )
    if "median_ratio" in ctx.wanted:
        out["median_ratio"] = _standardised_median_ratio(
            d, lead, ref, controls, int(claim.params.get("n_boot", 199)), ctx, base
        )
    return out


def _years(median: float) -> str:
    return f"{median:.2f} years" if math.isfinite(median) else "not reached"


def _standardised_median_ratio(
    d: pd.DataFrame,
    lead: str,
    ref: str,
    controls: Sequence[str],
    n_boot: int,
    ctx: Context,
    base: dict,
) -> Estimate | Unavailable:
    """Ratio of the medians of the two groups' survival curves standardised over the strata
    of ``controls`` (:mod:`.survival`), with a consortium-bootstrap percentile interval.
    Strata without tasks of both groups are left out (no comparison within them)."""
    pair = d[d["lead_type"].isin([lead, ref])]
    is_lead = (pair["lead_type"] == lead).to_numpy()
    # stratum codes from the controls' value combinations (no per-row strings: 300k tasks)
    if controls:
        grouped = pair.groupby(list(controls), sort=True, observed=True)
        cells = grouped.ngroup().to_numpy()
        keys = [k if isinstance(k, tuple) else (k,) for k in grouped.size().index]
    else:
        cells, keys = np.zeros(len(pair), dtype=np.int64), [("all",)]
    n_cells = len(keys)
    common = (np.bincount(cells[is_lead], minlength=n_cells) > 0) & (
        np.bincount(cells[~is_lead], minlength=n_cells) > 0
    )
    keep = common[cells]
    if not keep.any():
        return Unavailable(
            f"no stratum of {', '.join(controls)} has tasks of both {lead}- and {ref}-led "
            "consortia"
        )
    dropped_strata = [
        " | ".join(map(str, key)) for key, shared in zip(keys, common, strict=True) if not shared
    ]
    pair = pair[keep]
    T, E = pair["T"].to_numpy(), pair["E"].to_numpy()
    group = is_lead[keep].astype(int)
    stratum = np.unique(cells[keep], return_inverse=True)[1]
    codes, clusters = pd.factorize(pair[CID])
    m1, m0 = (
        float(v[0])
        for v in standardised_median_draws(
            T, E, group, stratum, codes, np.ones((1, len(clusters)), dtype=np.int64)
        )
    )
    if not (math.isfinite(m1) and math.isfinite(m0)):
        return Unavailable(
            "a standardised Kaplan–Meier median is not reached (survival stays above 0.5): "
            f"{lead}-led {_years(m1)}, {ref}-led {_years(m0)}"
        )
    rng = ctx.rng()
    counts = np.stack(
        [
            np.bincount(rng.integers(0, len(clusters), len(clusters)), minlength=len(clusters))
            for _ in range(n_boot)
        ]
    )
    lead_draws, ref_draws = standardised_median_draws(T, E, group, stratum, codes, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.log(lead_draws) - np.log(ref_draws)
    # dropped, and counted: draws in which no stratum has tasks of both groups (NaN medians)
    # and draws in which neither median is reached (no ratio); kept: draws in which one
    # median is not reached (±inf: they sort to the end they belong to)
    no_stratum = np.isnan(lead_draws) | np.isnan(ref_draws)
    neither_reached = np.isinf(lead_draws) & np.isinf(ref_draws)
    n_no_stratum, n_neither = int(no_stratum.sum()), int(neither_reached.sum())
    if n_no_stratum + n_neither > 0.1 * n_boot:
        return Unavailable(
            f"of {n_boot} bootstrap draws, {n_no_stratum} have no stratum with tasks of both "
            f"groups and {n_neither} reach neither median: too few consortia or too few "
            "breakthroughs for a bootstrap interval"
        )
    kept = draws[~(no_stratum | neither_reached)]
    finite = kept[np.isfinite(kept)]
    return _with_tails(
        BootstrapTails(kept, scale="log"),
        ctx,
        estimate=m1 / m0,
        se=float(finite.std(ddof=1)) if finite.size > 2 else math.nan,
        n_obs=len(pair),
        n_clusters=len(clusters),
        scale="log",
        method=f"ratio of the median times to breakthrough of {lead}- and {ref}-led tasks, "
        "from Kaplan–Meier curves"
        + (
            f" standardised over {', '.join(controls)} (the pooled mix of both groups)"
            if controls
            else ""
        )
        + f"; no shape assumed; percentile CI from {n_boot} consortium-bootstrap draws",
        short="Standardised KM medians, cluster bootstrap",
        details=dict(
            base,
            median_lead_years=m1,
            median_reference_years=m0,
            strata=int(common.sum()),
            strata_without_both_groups=dropped_strata,
            n_boot=n_boot,
            draws_without_a_group=n_no_stratum,
            draws_neither_median_reached=n_neither,
            draws_median_not_reached=int(len(kept) - finite.size),
        ),
    )


# --------------------------------------------------------------------------- regressions


def _check_best(claim: ClaimRecord) -> None:
    comparison = claim.comparison
    for t in claim.tests:
        if t.claimed.kind == "best" and (
            not isinstance(comparison, tuple) or set(comparison) != set(t.claimed.over)
        ):
            raise ValueError(
                f"test {t.name!r} compares {t.claimed.best!r} with {list(t.claimed.over)} but the "
                f"record's comparison is {comparison!r}: they must list the same levels"
            )
    unknown = sorted(set(claim.params.get("models") or {}) - {t.name for t in claim.tests})
    if unknown:
        raise ValueError(f"params.models has entries for no test: {unknown}")


@evaluator(
    "best_level",
    tests=("transfer_rate", "patents", "achievements", "new_product_revenue"),
    description="pairwise contrasts of a performance outcome across lead types (regression with "
    "controls), Holm-adjusted; the claimed best level must beat every other",
    supports_best=True,
    best_tests=("transfer_rate", "patents", "achievements", "new_product_revenue"),
    allowed_params=("factor", "models"),
    comparisons=None,
    check=_check_best,
)
def eval_best_level(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    factor = claim.params.get("factor", "lead_type")
    models = dict(claim.params.get("models") or {})
    out: Result = {}
    for test in claim.tests:
        if test.name not in ctx.wanted:
            continue
        if test.name not in models:
            raise NotTestable(f"params.models has no entry for test {test.name!r}")
        m = dict(models[test.name])
        best, over = test.claimed.best, list(test.claimed.over)
        levels = [best, *over]
        pan = _model_columns(
            data.panel,
            [factor, m["outcome"]],
            m.get("controls", []),
            m.get("fixed_effects", ["year"]),
        )
        pan = pan[pan[factor].astype(str).isin(levels)].copy()
        pan[factor] = pan[factor].astype(str)
        present = set(pan[factor].unique())
        missing = [lv for lv in levels if lv not in present]
        if missing:
            out[test.name] = Unavailable(f"no rows for {factor} level(s) {missing}")
            continue
        spec = {
            "name": f"claim_{claim.id}_{test.name}",
            "outcome": m["outcome"],
            "regressors": [factor],
            "controls": list(m.get("controls", [])),
            "estimator": m.get("estimator", "ols"),
            "fixed_effects": list(m.get("fixed_effects", ["year"])),
            "cluster": [CID],
            "reference_levels": {factor: best},
        }
        terms = {lv: f"{factor}[{lv}]" for lv in over}
        contrasts = _cr2_contrasts if spec["estimator"] == "ols" else _fitted_contrasts
        try:  # one outcome's model failing leaves the other tests of the claim
            fitted = contrasts(spec, pan, terms, best, ctx.ci_level)
        except NotTestable as exc:
            out[test.name] = Unavailable(exc.reason, exc.missing)
            continue
        cons = fitted.contrasts
        judge_contrasts(test.claimed, cons)
        binding = max(cons, key=lambda c: c.p_support)
        estimator = spec["estimator"]
        unit = {"ppml": "log points", "fraclogit": "log-odds"}.get(estimator, "outcome units")
        est = _with_tails(
            binding.tails,
            ctx,
            estimate=binding.estimate,
            se=binding.std_error,
            df=binding.tails.df,
            n_obs=fitted.nobs,
            n_clusters=fitted.n_clusters,
            method=f"{ESTIMATOR_LABELS[estimator]} of {m['outcome']} on {factor} "
            f"(reference {best})"
            + (f" + {', '.join(spec['controls'])}" if spec["controls"] else "")
            + f", {' + '.join(spec['fixed_effects'])} effects; {fitted.inference}; "
            f"the {len(cons)} contrasts {best} − each other level ({unit}); supported only "
            "if every one is above 0 (intersection–union test); the estimate shown is the "
            "contrast nearest to failing",
            contrasts=cons,
            short=f"{estimator.upper()} contrasts, intersection–union",
            details={
                "model": spec["name"],
                "formula": fitted.formula,
                "binding_rival": binding.second,
                "notes": fitted.notes,
            },
        )
        out[test.name] = est
    return out


def _contrast(res, terms: dict[str, str], best: str, other: str, level: float) -> Contrast:
    """``best − other`` from a fit with ``best`` as the reference level (coef = other − best).
    NotTestable when its standard error is not positive (a level held by too few consortia
    for a cluster-robust variance)."""
    est = -float(res.params[terms[other]])
    se = float(res.std_errors[terms[other]])
    if not (math.isfinite(se) and se > 0):
        raise NotTestable(
            f"the {best} − {other} contrast has no positive standard error ({se}): too few "
            "consortia of one level for a cluster-robust variance"
        )
    tails = WaldTails(est, se, res.df_inference)
    lo, hi = tails.interval(level)
    return Contrast(best, other, est, se, lo, hi, tails=tails)


@dataclass
class LevelContrasts:
    """The contrasts of a best-level test and what the table says about their model."""

    contrasts: list[Contrast]
    inference: str
    nobs: int
    n_clusters: int
    formula: str
    notes: list[str]


def _fitted_contrasts(
    spec: dict, pan: pd.DataFrame, terms: dict[str, str], best: str, level: float
) -> LevelContrasts:
    """``best − other`` for each level of ``terms`` from the model of ``spec`` (the
    estimator's own cluster-robust variance)."""
    res = _fit(spec, pan)
    if any(t not in res.params for t in terms.values()):
        raise NotTestable(f"a contrast of {list(terms)} is not estimable: {res.dropped_terms}")
    return LevelContrasts(
        contrasts=[_contrast(res, terms, best, other, level) for other in terms],
        inference=f"SE clustered by consortium ({res.small_sample}), "
        f"{'t(G−1)' if res.df_inference else 'normal'} tests",
        nobs=res.nobs,
        n_clusters=int(res.n_clusters.get(CID, 0)),
        formula=res.formula,
        notes=res.notes,
    )


def _cr2_contrasts(
    spec: dict, pan: pd.DataFrame, terms: dict[str, str], best: str, level: float
) -> LevelContrasts:
    """``best − other`` for each level of ``terms`` from the OLS fit of ``spec`` with CR2
    standard errors and Bell–McCaffrey df (:mod:`.cr2`): a lead type held by a few dozen
    consortia or fewer makes CR1 with t(G − 1) over-reject. The design (sample, dummies,
    columns the data identify) is the estimation module's; the fixed effects enter as
    dummies, so the hat matrix CR2 adjusts by is the fit's own."""
    from consortia.estimate import SpecError
    from consortia.estimate.design import build_design
    from consortia.estimate.identification import identify
    from consortia.estimate.linear import not_identified_notes
    from consortia.estimate.spec import ModelSpec

    try:
        design = identify(build_design(ModelSpec.from_dict(spec), pan))
    except SpecError as exc:
        raise NotTestable(str(exc)) from exc
    column = {design.labels.get(c, c): c for c in design.X.columns}
    if any(t not in column for t in terms.values()):
        raise NotTestable(
            f"a contrast of {list(terms)} is not estimable: {sorted(design.not_identified)}"
        )
    effects = [
        pd.get_dummies(design.frame[fe], prefix=fe, drop_first=True, dtype=float)
        for fe in design.absorbed
    ]
    X = pd.concat(
        [pd.Series(1.0, index=design.X.index, name="_constant"), design.X, *effects], axis=1
    )
    clusters = design.clusters[:, 0]
    fit = CR2Fit(X.to_numpy(dtype=float), design.y.to_numpy(dtype=float), clusters)
    out = []
    for other, term in terms.items():
        c = -(X.columns == column[term]).astype(float)  # the coefficient is other − best
        se, df = fit.se(c), fit.df(c)
        if not (fit.varies(c) and math.isfinite(se) and math.isfinite(df)):
            raise NotTestable(
                f"the {best} − {other} contrast has no CR2 standard error beyond rounding "
                f"({se:.3g})"
            )
        estimate = float(c @ fit.beta)
        tails = WaldTails(estimate, se, df)
        out.append(Contrast(best, other, estimate, se, *tails.interval(level), tails=tails))
    return LevelContrasts(
        contrasts=out,
        inference="CR2 SE clustered by consortium, Bell–McCaffrey df",
        nobs=len(design.y),
        n_clusters=len(np.unique(clusters)),
        formula=design.formula(),
        notes=design.notes + not_identified_notes(design.not_identified),
    )


def _log_positive(s: pd.Series) -> pd.Series:
    x = pd.to_numeric(s, errors="coerce").astype(float)
    return np.log(x.where(x > 0))


@evaluator(
    "industry_heterogeneity",
    tests=("subsidy_high_tech", "industrial_traditional"),
    description="performance equation (two-way FE) with high_tech × log subsidy and "
    "traditional × industrial_task_share interactions",
    allowed_params=("outcome", "log_outcome", "subsidy", "share", "controls", "estimator"),
    comparisons=(None,),
)
def eval_industry_heterogeneity(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    p = claim.params
    outcome = p.get("outcome", "new_product_revenue")
    subsidy = p.get("subsidy", "subsidy")
    share = p.get("share", "industrial_task_share")
    controls = list(p.get("controls", ["n_members"]))
    pan = _model_columns(data.panel, ["high_tech", outcome, subsidy, share], controls)
    ht = _as_bool(pan["high_tech"]).where(pan["high_tech"].notna())
    if ht.dropna().nunique() < 2:
        raise NotTestable("high_tech does not vary across consortia: no interaction to estimate")
    y = f"log_{outcome}" if p.get("log_outcome", True) else outcome
    if p.get("log_outcome", True):
        pan[y] = _log_positive(pan[outcome])
    pan["log_subsidy"] = _log_positive(pan[subsidy])
    pan["high_tech_x_log_subsidy"] = ht.astype(float) * pan["log_subsidy"]
    pan[f"traditional_x_{share}"] = (1 - ht.astype(float)) * pd.to_numeric(pan[share])
    regs = ["log_subsidy", "high_tech_x_log_subsidy", share, f"traditional_x_{share}"]
    spec = {
        "name": f"claim_{claim.id}",
        "outcome": y,
        "regressors": regs,
        "controls": controls,
        "estimator": p.get("estimator", "twfe"),
        "fixed_effects": [CID, "year"],
        "cluster": [CID],
    }
    res = _fit(spec, pan)
    how = (
        f"{res.estimator_label}: {y} on log subsidy, {share}, their interactions with "
        f"high_tech / traditional"
        + (f" + {', '.join(controls)}" if controls else "")
        + "; consortium and year effects; SE clustered by consortium (CR1)"
    )
    out: Result = {}
    if "subsidy_high_tech" in ctx.wanted:
        out["subsidy_high_tech"] = _coef(
            res,
            "high_tech_x_log_subsidy",
            ctx,
            "interaction high_tech × log subsidy — " + how,
            short="TWFE interaction, CR1",
        )
    if "industrial_traditional" in ctx.wanted:
        out["industrial_traditional"] = _coef(
            res,
            f"traditional_x_{share}",
            ctx,
            f"interaction traditional × {share} — " + how,
            short="TWFE interaction, CR1",
        )
    return out


@evaluator(
    "subsidy_elasticity",
    tests=("elasticity",),
    description="within-consortium elasticity of R&D expenditure with respect to the subsidy "
    "(two-way fixed effects)",
    allowed_params=("outcome", "subsidy", "controls", "net_of_subsidy"),
    comparisons=(None,),
)
def eval_subsidy_elasticity(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    p = claim.params
    outcome = p.get("outcome", "rd_expenditure")
    subsidy = p.get("subsidy", "subsidy")
    controls = list(p.get("controls", ["n_members"]))
    pan = _model_columns(data.panel, [outcome, subsidy], controls)
    n_not_private = 0
    if p.get("net_of_subsidy", False):
        # R&D spending that includes the subsidy rises with it by construction: crowding-in
        # is about the part the consortium pays itself
        private = pd.to_numeric(pan[outcome]) - pd.to_numeric(pan[subsidy])
        n_not_private = int((private <= 0).sum())
        outcome = f"private_{outcome}"
        pan[outcome] = private
    pan[f"log_{outcome}"] = _log_positive(pan[outcome])
    pan[f"log_{subsidy}"] = _log_positive(pan[subsidy])
    spec = {
        "name": f"claim_{claim.id}",
        "outcome": f"log_{outcome}",
        "regressors": [f"log_{subsidy}"],
        "controls": controls,
        "estimator": "twfe",
        "fixed_effects": [CID, "year"],
        "cluster": [CID],
    }
    res = _fit(spec, pan)
    out: Result = {}
    if "elasticity" in ctx.wanted:
        out["elasticity"] = _coef(
            res,
            f"log_{subsidy}",
            ctx,
            f"two-way FE (consortium, year) of log {outcome} on log {subsidy}"
            + (f" + {', '.join(controls)}" if controls else "")
            + "; SE clustered by consortium (CR1); within-consortium association, not an "
            "instrumented causal effect",
            details={
                "rows_dropped_missing_or_nonpositive_money": int(
                    res.sample_report.get("n_dropped_missing", 0)
                ),
                "rows_with_subsidy_at_least_rd": n_not_private,
            },
            short="TWFE log-log, CR1",
        )
    return out


@evaluator(
    "rate_effect",
    tests=("ame", "within"),
    description="effect of a consortium-year regressor on the transfer rate: fractional-logit "
    "average marginal effect with controls, and the within-consortium (two-way FE) slope",
    allowed_params=("regressor", "outcome", "controls", "fixed_effects"),
    comparisons=(None,),
)
def eval_rate_effect(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    p = claim.params
    regressor = p.get("regressor", "chain_coverage")
    outcome = p.get("outcome", "transfer_rate")
    controls = list(p.get("controls", ["lead_type", "industry", "n_members"]))
    fes = list(p.get("fixed_effects", ["year"]))
    pan = _model_columns(
        data.panel, [regressor, outcome, "achievements", "achievements_transferred"], controls, fes
    )
    if outcome == "transfer_rate" and "transfer_rate" not in pan:
        ach = pd.to_numeric(pan["achievements"])
        pan["transfer_rate"] = (pd.to_numeric(pan["achievements_transferred"]) / ach).where(ach > 0)
    x = pd.to_numeric(pan[regressor], errors="coerce")
    if x.dropna().nunique() < 2:
        raise NotTestable(f"{regressor} does not vary: no effect to estimate")
    out: Result = {}
    if "ame" in ctx.wanted:
        res = _fit_or_unavailable(
            {
                "name": f"claim_{claim.id}_fraclogit",
                "outcome": outcome,
                "regressors": [regressor],
                "controls": controls,
                "estimator": "fraclogit",
                "fixed_effects": fes,
                "cluster": [CID],
            },
            pan,
        )
        me = None if isinstance(res, Unavailable) else (res.marginal_effects or {}).get(regressor)
        if isinstance(res, Unavailable):
            out["ame"] = res
        elif me is None:
            out["ame"] = Unavailable(f"no marginal effect for {regressor}")
        else:
            out["ame"] = _estimate(
                me["estimate"],
                me["std_error"],
                None,
                ctx,
                n_obs=res.nobs,
                n_clusters=int(res.n_clusters.get(CID, 0)),
                method=f"fractional logit (Papke–Wooldridge QMLE) of the consortium-year {outcome} "
                f"on {regressor} + {', '.join(controls)}, {' + '.join(fes)} effects; average "
                f"marginal effect of {regressor} (derivative averaged over the sample, per unit), "
                "delta-method SE clustered by consortium (CR1)",
                details={
                    "model": res.name,
                    "formula": res.formula,
                    "coefficient": res.params.get(regressor),
                    "notes": res.notes,
                },
                short="Fractional logit AME, controls",
            )
    if "within" in ctx.wanted:
        within_controls = [c for c in controls if c in ("n_members",)]
        res = _fit_or_unavailable(
            {
                "name": f"claim_{claim.id}_twfe",
                "outcome": outcome,
                "regressors": [regressor],
                "controls": within_controls,
                "estimator": "twfe",
                "fixed_effects": [CID, "year"],
                "cluster": [CID],
            },
            pan,
        )
        out["within"] = _coef(
            res,
            regressor,
            ctx,
            f"two-way FE (consortium, year) linear model of {outcome} on {regressor}"
            + (f" + {', '.join(within_controls)}" if within_controls else "")
            + "; identified by changes in membership within a consortium; SE clustered by "
            "consortium (CR1)",
            short="TWFE within slope, CR1",
        )
    return out


@evaluator(
    "organised_cycle",
    tests=("time_ratio",),
    description="time ratio of breakthrough cycles, tasks run by a consortium vs comparison "
    "tasks run outside any consortium (Weibull AFT, right-censored)",
    allowed_params=("flag", "controls"),
    comparisons=("non_consortium",),
)
def eval_organised_cycle(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    from lifelines import WeibullAFTFitter

    flag = claim.params.get("flag", "in_consortium")
    controls = list(claim.params.get("controls", []))
    d = _cols(data.tasks, [CID, "duration_years", "event", flag, *controls]).dropna().copy()
    inside = _as_bool(d[flag])
    if inside.all() or not inside.any():
        raise NotTestable(
            f"tasks.{flag} is {'true' if inside.all() else 'false'} for every task: the data "
            "have no "
            + ("non-consortium comparison tasks" if inside.all() else "consortium tasks")
            + f" (the claim compares consortium tasks with tasks run outside any consortium; "
            f"a tasks.{flag} column with both values makes it testable)"
        )
    d["T"] = pd.to_numeric(d["duration_years"]).astype(float)
    d["E"] = pd.to_numeric(d["event"]).astype(float)
    keep = d["T"] > 0
    d, inside = d[keep], inside[keep]
    for label, grp in (("consortium", inside), ("non-consortium", ~inside)):
        if d.loc[grp, "E"].sum() == 0:
            raise NotTestable(f"no {label} tasks with an achieved breakthrough")
    X = pd.DataFrame({flag: inside.astype(float)}, index=d.index)
    for c in controls:
        levels = sorted(d[c].astype(str).unique())
        for lev in levels[1:]:
            X[f"{c}[{lev}]"] = (d[c].astype(str) == lev).astype(float)
    X = X.loc[:, X.std(ddof=0) > 0]
    T, E, cl = d["T"].to_numpy(), d["E"].to_numpy(), d[CID].to_numpy()
    aft = WeibullAFTFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aft.fit(X.assign(T=T, E=E), "T", "E")
    V = weibull_aft_cluster_vcov(aft, X, T, E, cl)
    b = float(aft.params_.loc[("lambda_", flag)])
    return {
        "time_ratio": _estimate(
            math.exp(b),
            math.sqrt(V.loc[("lambda_", flag), ("lambda_", flag)]),
            None,
            ctx,
            n_obs=len(d),
            n_clusters=int(pd.Series(cl).nunique()),
            scale="log",
            method="Weibull AFT (lifelines) of time to breakthrough, abandoned/ongoing tasks "
            f"right-censored; time ratio exp(β) of consortium vs non-consortium tasks ({flag})"
            + (f", controls: {', '.join(controls)}" if controls else "")
            + "; sandwich SE clustered by consortium (G/(G−1)), normal CI",
            short="Weibull AFT, clustered sandwich",
            details={
                "tasks_consortium": int(inside.sum()),
                "tasks_non_consortium": int((~inside).sum()),
                "events": int(E.sum()),
                "weibull_shape": float(math.exp(aft.params_.loc[("rho_", "Intercept")])),
            },
        )
    }


@evaluator(
    "single_case",
    tests=("case",),
    description="a claim resting on one reported case: recorded as not testable, with the reason",
    allowed_params=("case", "why"),
    comparisons=(None,),
)
def eval_single_case(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    case = claim.params.get("case", "one case")
    why = claim.params.get("why", "")
    raise NotTestable(
        f"a single case ({case}): one before/after pair with no sampling variation and no "
        "comparison group, so no estimate with a confidence interval exists; consortium data "
        "can test a general version of the claim only with its outcome measured across many "
        "consortia" + (f" ({why})" if why else "")
    )


# --------------------------------------------------------------------------- mediation


@evaluator(
    "mediation",
    tests=(
        "members_via_collaboration",
        "types_via_task_allocation",
        "members_via_task_allocation",
        "types_via_collaboration",
    ),
    description="structure → conduct → performance: standardised indirect effect a·b of a "
    "structural variable on a performance variable through a conduct variable "
    "(consortia.estimate.mediation)",
    allowed_params=("paths", "controls", "fixed_effects", "n_boot"),
    comparisons=(None,),
)
def eval_mediation(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    from consortia.estimate.mediation import mediation

    p = claim.params
    paths = dict(p.get("paths") or {})
    fes = list(p.get("fixed_effects", ["year"]))
    n_boot = int(p.get("n_boot", 499))
    out: Result = {}
    for k, name in enumerate(t.name for t in claim.tests):
        if name not in ctx.wanted:
            continue
        if name not in paths:
            out[name] = Unavailable(f"params.paths has no path for test {name!r}")
            continue
        path = paths[name]
        treatment, mediator, outcome = path["treatment"], path["mediator"], path["outcome"]
        controls = [c for c in p.get("controls", []) if c not in (treatment, mediator, outcome)]
        seed = int(np.random.SeedSequence(ctx.seed.entropy, spawn_key=(k,)).generate_state(1)[0])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = mediation(
                    data.panel,
                    treatment,
                    mediator,
                    outcome,
                    controls=controls,
                    fixed_effects=fes,
                    cluster=CID,
                    n_boot=n_boot,
                    seed=seed,
                    ci=ctx.ci_level,
                    bca=False,
                )
        except ValueError as exc:  # SpecError is a ValueError
            out[name] = Unavailable(str(exc))
            continue
        sample = data.panel[[treatment, mediator, outcome, *controls, *fes]].dropna()
        sd_treatment, sd_outcome = (
            _standard_deviation(sample[column]) for column in (treatment, outcome)
        )
        both_vary = _varies(sample[treatment], sd_treatment) and _varies(
            sample[outcome], sd_outcome
        )
        scale = sd_treatment / sd_outcome if both_vary else math.nan
        if not (math.isfinite(scale) and scale > 0):
            out[name] = Unavailable(f"{treatment} or {outcome} does not vary in the sample")
            continue
        out[name] = _from_mediation(res, ctx, n_boot, scale)
    return out


def _standard_deviation(values: pd.Series) -> float:
    return float(pd.to_numeric(values, errors="coerce").astype(float).std(ddof=1))


def _varies(values: pd.Series, sd: float) -> bool:
    """A standard deviation beyond rounding (a constant column's SD is ~1e-17, not 0)."""
    level = float(pd.to_numeric(values, errors="coerce").abs().mean())
    return math.isfinite(sd) and sd > ROUNDING * max(1.0, level)


def _from_mediation(res: Any, ctx: Context, n_boot: int, scale: float) -> Estimate:
    """The indirect effect a·b of a MediationResult in standard deviations of the outcome
    per standard deviation of the treatment (``scale`` = SD(treatment) / SD(outcome) in the
    sample, held fixed across replicates), with its cluster-bootstrap intervals."""
    est = scale * float(res.estimates["indirect"])
    reps = scale * np.asarray((res.replicates or {}).get("indirect", []), dtype=float)
    reps = reps[np.isfinite(reps)]
    se = scale * float(res.boot_se["indirect"])
    if not (math.isfinite(est) and math.isfinite(se) and reps.size >= 2):
        raise NotTestable("the mediation estimate or its bootstrap replicates are not finite")
    return _with_tails(
        BootstrapTails(reps),
        ctx,
        estimate=est,
        se=se,
        n_obs=int(res.nobs),
        n_clusters=int(res.n_clusters),
        method="standardised product of coefficients a·b × SD(treatment) / SD(outcome) "
        f"(linear a- and b-equations, {res.treatment} → "
        f"{res.mediator} → {res.outcome}"
        + (f", controls: {', '.join(res.controls)}" if res.controls else "")
        + (f", {' + '.join(res.fixed_effects)} effects" if res.fixed_effects else "")
        + f"); percentile CI from {n_boot} consortium-bootstrap replicates "
        "(consortia.estimate.mediation)",
        short="Mediation a·b, cluster bootstrap",
        details={
            "indirect_raw": res.estimates["indirect"],
            "standardisation": scale,
            "a": res.estimates["a"],
            "b": res.estimates["b"],
            "direct": res.estimates["direct"],
            "total": res.estimates["total"],
            "sobel": dict(res.sobel),
            "n_boot": n_boot,
            "seed": int(res.seed),
            "clustering": res.clustering,
            "notes": list(res.notes),
        },
    )


# --------------------------------------------------------------------------- the driver


@dataclass
class TestResult:
    name: str
    role: str
    estimand: str
    claimed: dict[str, Any]
    claimed_text: str
    rival: float | None
    rival_label: str
    region: list[list[float]] | None
    verdict: str
    reason: str = ""
    missing_columns: list[str] = field(default_factory=list)
    estimate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    ci_level: float | None = None
    se: float | None = None
    scale: str = "absolute"
    df: int | None = None
    ci_one_sided: list[float] | None = None  # the (1 − 2α) interval
    p_support: float | None = None  # p-value of "the claim is false" (verdict module)
    p_contradict: float | None = None  # p-value of "the claim is true"
    contradict_level: float | None = None  # α, or α/m for one of a claim's m primary tests
    n_obs: int | None = None
    n_clusters: int | None = None
    method: str = ""
    method_short: str = ""
    power: dict[str, Any] = field(default_factory=dict)
    contrasts: list[dict[str, Any]] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    __test__ = False


@dataclass
class ClaimResult:
    id: str
    label: str
    quote: str
    section: str
    source: str
    estimand: str
    method: str
    comparison: Any
    verdict: str
    reason: str
    tests: list[TestResult]
    missing_columns: list[str] = field(default_factory=list)
    partial: bool = False
    notes: str = ""
    p_value: float | None = None
    p_holm: float | None = None
    # cross-checks whose verdict differs from the claim's
    disagreements: list[str] = field(default_factory=list)

    def test(self, name: str) -> TestResult:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(name)


@dataclass
class ClaimsResults:
    claims: list[ClaimResult]
    registry: dict[str, Any]
    settings: dict[str, Any]
    data: dict[str, Any]
    software: dict[str, str]

    def __getitem__(self, claim_id: str) -> ClaimResult:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"no result for claim {claim_id!r}")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.claims]

    @property
    def verdicts(self) -> dict[str, str]:
        return {c.id: c.verdict for c in self.claims}


def _missing_columns(requires: Mapping[str, Sequence[str]], data: ClaimData) -> list[str]:
    missing = []
    for table, cols in requires.items():
        df = data.table(table)
        if df is None:
            missing += [f"{table}.{c} (table absent)" for c in cols]
            continue
        for c in cols:
            if c not in df.columns:
                missing.append(f"{table}.{c}")
            elif len(df) and df[c].isna().all():
                missing.append(f"{table}.{c} (all values missing)")
    return missing


def _n_consortia(data: ClaimData) -> int | None:
    """Consortia in the dataset (consortia table, else the panel's distinct consortia)."""
    for df in (data.consortia, data.panel):
        if df is not None and CID in df:
            return int(df[CID].nunique())
    return None


def _support_edge(claimed) -> float | None:
    """The edge of the claim's false set that a supporting test must clear (None for a
    band, judged by equivalence)."""
    if claimed.kind == "above":
        return claimed.region()[0][0]
    if claimed.kind == "below":
        return claimed.region()[0][1]
    if claimed.kind in ("direction", "best"):
        return 0.0
    return None


def _power(
    test: TestSpec, e: Estimate, alpha: float, power: float, n_total: int | None = None
) -> dict[str, Any]:
    """How many consortia it would take for the test to reach *supported* with the given
    power, if the truth were the design value (the claimed value for a band; otherwise the
    estimate, or the smallest effect of interest if the estimate is smaller)."""
    se, g = e.se, e.n_clusters
    log = e.scale == "log"
    f = math.log if log else (lambda v: v)
    c = test.claimed
    two_sided = c.kind == "direction" and c.direction == "nonzero"
    out: dict[str, Any] = {
        "assumption": "SE ∝ 1/sqrt(G) (G = consortia), normal tests at the error rate "
        f"{alpha:g} ({'two-sided' if two_sided else 'one-sided'}), power {power:g}",
        "n_clusters": g,
        "se": se,
        "se_scale": "log" if log else "estimand",
    }
    # a one-sided test at α is the two-sided formula at 2α
    level = alpha if two_sided else 2 * alpha
    m = pw.mde(se, level, power)
    out["mde"] = m
    if log:  # beyond any float ratio (a huge SE): no detectable ratio, left empty
        out["mde_ratio"] = math.exp(m) if m < math.log(sys.float_info.max) else None
    if c.kind == "value":
        out["design_value"] = "claimed value (centre of the band)"
        out["clusters_needed_to_support"] = pw.clusters_for_equivalence(
            se, g, c.tolerance, alpha, power
        )
    else:
        edge = _support_edge(c)
        sign = -1 if c.kind == "below" or c.direction == "negative" else 1
        design = e.estimate
        if c.direction == "nonzero" and c.min_effect:
            design = math.copysign(max(abs(design), c.min_effect), design)
        elif c.kind in ("direction", "best") and c.min_effect:
            design = sign * max(sign * design, c.min_effect)
        out["design_value"] = "point estimate" + (
            " (at least the smallest effect of interest)" if c.kind in ("direction", "best")
            else ""
        )
        if c.direction == "nonzero":
            distance = abs(design) if design else None
        elif not log or (design > 0 and edge > 0):
            distance = sign * (f(design) - f(edge))
        else:
            distance = None
        if distance is not None and distance > 0:
            out["distance_to_edge"] = distance
            out["power_now"] = pw.power_at(se, distance, level)
            out["clusters_needed_to_support"] = pw.clusters_needed(se, g, distance, level, power)
        else:
            out["clusters_needed_to_support"] = None
            out["why_none"] = "the estimate lies on the side where the claim is false"
    # the same numbers for the whole dataset: the estimation sample is a share g / n_total
    # of the dataset's consortia (e.g. only enterprise-led ones); scaled at that share
    if n_total and g:
        out["dataset_consortia"] = int(n_total)
        out["sample_share_of_dataset"] = g / n_total
        if out.get("clusters_needed_to_support") is not None:
            out["dataset_consortia_needed_to_support"] = math.ceil(
                out["clusters_needed_to_support"] * n_total / g - 1e-9
            )
    return out


def _claim_seed(seed: int, claim_id: str) -> np.random.SeedSequence:
    """Per-claim stream: adding or removing another claim does not change this one's draws."""
    return np.random.SeedSequence([int(seed), zlib.crc32(claim_id.encode("utf-8"))])


def evaluate_claim(
    claim: ClaimRecord, data: ClaimData, registry: Registry, seed: int = 0
) -> ClaimResult:
    """Evaluate one claim record (see :func:`evaluate_claims`)."""
    ev = EVALUATORS[claim.method]
    missing = _missing_columns(claim.requires, data)
    alpha = registry.error_rate

    def blank(t: TestSpec, verdict: str, reason: str, miss=()) -> TestResult:
        region = None if t.claimed.kind == "best" else [list(r) for r in t.claimed.region()]
        return TestResult(
            name=t.name,
            role=t.role,
            estimand=t.estimand,
            claimed=dict(t.raw_claimed),
            claimed_text=t.claimed.describe(),
            rival=t.rival,
            rival_label=t.rival_label,
            region=region,
            verdict=verdict,
            reason=reason,
            missing_columns=list(miss),
        )

    if missing:
        reason = "required column(s) missing: " + ", ".join(missing)
        tests = [blank(t, NOT_TESTABLE, reason, missing) for t in claim.tests]
        return _claim_result(claim, tests, NOT_TESTABLE, reason, missing)

    test_missing = {t.name: _missing_columns(t.requires, data) for t in claim.tests}
    wanted = frozenset(n for n, m in test_missing.items() if not m)
    ctx = Context(
        ci_level=registry.ci_level,
        error_rate=registry.error_rate,
        seed=_claim_seed(seed, claim.id),
        wanted=wanted,
        claimed={t.name: t.claimed for t in claim.tests},
    )
    try:
        raw = ev.func(claim, data, ctx) if wanted else {}
    except NotTestable as exc:
        tests = [blank(t, NOT_TESTABLE, exc.reason, exc.missing) for t in claim.tests]
        return _claim_result(claim, tests, NOT_TESTABLE, exc.reason, exc.missing)

    # a false contradiction of a true claim may come from any of its primary tests:
    # each is judged at α/m (Bonferroni), so the claim's chance stays ≤ α
    m = sum(
        1 for t in claim.tests if t.role == "primary" and isinstance(raw.get(t.name), Estimate)
    )
    tests = []
    for t in claim.tests:
        if test_missing[t.name]:
            reason = "required column(s) missing: " + ", ".join(test_missing[t.name])
            tests.append(blank(t, NOT_TESTABLE, reason, test_missing[t.name]))
            continue
        e = raw.get(t.name)
        if e is None:
            tests.append(blank(t, NOT_TESTABLE, f"the evaluator did not compute {t.name!r}"))
            continue
        if isinstance(e, Unavailable):
            tests.append(blank(t, NOT_TESTABLE, e.reason, e.missing))
            continue
        contradict_level = alpha / m if t.role == "primary" else alpha
        tests.append(_judge(t, e, registry, contradict_level, _n_consortia(data)))
    primaries = [r.verdict for r in tests if r.role == "primary"]
    verdict = combine(primaries)
    untested = [r.name for r in tests if r.role == "primary" and r.verdict == NOT_TESTABLE]
    reason = ""
    if untested and verdict != NOT_TESTABLE:
        reason = (
            f"primary test(s) not testable: {untested}; the verdict rests on the others and "
            "cannot be supported without them"
        )
    elif verdict == NOT_TESTABLE:
        reason = "; ".join(f"{r.name}: {r.reason}" for r in tests if r.role == "primary")
    res = _claim_result(claim, tests, verdict, reason, [])
    res.partial = bool(untested) and verdict != NOT_TESTABLE
    res.disagreements = cross_check_disagreements(tests, verdict)
    return res


def cross_check_disagreements(tests: Sequence[TestResult], verdict: str) -> list[str]:
    """A line for each cross-check whose verdict differs from the claim's (a cross-check
    estimates the same thing another way; secondary tests are other readings, which may
    rightly differ)."""
    if verdict not in STATISTICAL_VERDICTS:
        return []
    return [
        f"cross-check {r.name} says {r.verdict}, the primary verdict is {verdict}"
        for r in tests
        if r.role == "cross_check" and r.verdict in STATISTICAL_VERDICTS and r.verdict != verdict
    ]


def _judge(
    t: TestSpec,
    e: Estimate,
    registry: Registry,
    contradict_level: float,
    n_total: int | None = None,
) -> TestResult:
    c = t.claimed
    lo, hi = e.ci
    common = {
        "name": t.name,
        "role": t.role,
        "estimand": t.estimand,
        "claimed": dict(t.raw_claimed),
        "claimed_text": c.describe(),
        "rival": t.rival,
        "rival_label": t.rival_label,
        "estimate": e.estimate,
        "ci_lower": lo,
        "ci_upper": hi,
        "ci_level": registry.ci_level,
        "se": e.se,
        "scale": e.scale,
        "df": e.df,
        "n_obs": e.n_obs,
        "n_clusters": e.n_clusters,
        "method": e.method,
        "method_short": e.short,
        "details": json_safe(e.details),
    }
    if c.kind == "best":
        p_support, p_contradict = judge_contrasts(c, e.contrasts or [])
    else:
        p_support, p_contradict = p_values(c, e.tails)
    decision = decide(p_support, p_contradict, registry.error_rate, contradict_level)
    return TestResult(
        **common,
        region=None if c.kind == "best" else [list(r) for r in c.region()],
        verdict=decision.verdict,
        ci_one_sided=None if e.ci_one_sided is None else list(e.ci_one_sided),
        p_support=decision.p_support,
        p_contradict=decision.p_contradict,
        contradict_level=contradict_level,
        power=_power(t, e, registry.error_rate, registry.power, n_total),
        contrasts=None if e.contrasts is None else [json_safe(k.record()) for k in e.contrasts],
    )


def _claim_result(claim: ClaimRecord, tests, verdict, reason, missing) -> ClaimResult:
    return ClaimResult(
        id=claim.id,
        label=claim.label,
        quote=claim.quote,
        section=claim.section,
        source=claim.source,
        estimand=claim.estimand,
        method=claim.method,
        comparison=list(claim.comparison)
        if isinstance(claim.comparison, tuple)
        else claim.comparison,
        verdict=verdict,
        reason=reason,
        tests=tests,
        missing_columns=list(missing),
        notes=claim.notes,
    )


def evaluate_claims(
    registry: Registry | str | Mapping[str, Any],
    panel: pd.DataFrame,
    tasks: pd.DataFrame | None = None,
    consortia: pd.DataFrame | None = None,
    seed: int = 0,
    only: Sequence[str] | None = None,
) -> ClaimsResults:
    """Evaluate every claim of the registry on the clean data.

    ``registry``: a :class:`Registry`, a path to ``claims.yaml`` or a dict.
    ``panel``: the consortium-year panel (``panel.parquet``); ``tasks``: the task
    table (``tasks.parquet``), None when the dataset has none (the survival
    claim is then not_testable); ``consortia``: the clean consortia table,
    optional (used for the lead-type share; otherwise the panel's distinct
    consortia). ``seed``: the study seed (bootstraps), split per claim so that
    one claim's draws do not depend on which other claims run. ``only``: a
    subset of claim ids.
    """
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    if only is not None:
        reg = reg.select(only)
    data = ClaimData(panel=panel, tasks=tasks, consortia=consortia)
    results = [evaluate_claim(c, data, reg, seed) for c in reg.claims]
    adjust_across_registry(results)
    return ClaimsResults(
        claims=results,
        registry={
            "source": reg.source,
            "sha256": reg.sha256,
            "version": reg.version,
            "document": dict(reg.document),
            "ids": reg.ids,
        },
        settings={
            "ci_level": reg.ci_level,
            "power": reg.power,
            "error_rate": reg.error_rate,
            "seed": int(seed),
        },
        data={
            "panel_rows": None if panel is None else len(panel),
            "panel_consortia": None
            if panel is None or CID not in panel
            else int(panel[CID].nunique()),
            "tasks_rows": None if tasks is None else len(tasks),
            "consortia_rows": None if consortia is None else len(consortia),
        },
        software=software_versions(CLAIMS_SOFTWARE, python=True),
    )


def claim_p_value(claim: ClaimResult) -> float | None:
    """The p-value of a claim: the largest ``p_support`` of its testable primary tests (the
    p-value of "the claim is false", one-sided in the claimed direction). A claim is
    supported only if every primary test is, so this is the intersection–union test
    (Berger 1982): valid at the same level, no adjustment within the claim."""
    ps = [
        t.p_support
        for t in claim.tests
        if t.role == "primary" and t.verdict in STATISTICAL_VERDICTS and t.p_support is not None
    ]
    return max(ps) if ps else None


def adjust_across_registry(claims: Sequence[ClaimResult]) -> None:
    """Set each claim's ``p_value`` and its Holm-adjusted ``p_holm`` over the registry's
    testable claims (one p-value per claim: the family is the registry)."""
    for c in claims:
        c.p_value = claim_p_value(c)
    tested = [c for c in claims if c.p_value is not None]
    for c, p in zip(tested, holm([c.p_value for c in tested]), strict=True):
        c.p_holm = p


__all__ = [
    "EVALUATORS",
    "ClaimData",
    "ClaimResult",
    "ClaimsResults",
    "Context",
    "Estimate",
    "NotTestable",
    "TestResult",
    "Unavailable",
    "adjust_across_registry",
    "claim_p_value",
    "cox_cluster_fit",
    "evaluate_claim",
    "evaluate_claims",
    "linearised_se",
    "ratio_influence",
    "wald",
    "weibull_aft_cluster_vcov",
]
