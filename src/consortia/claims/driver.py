"""The driver: evaluate each claim of the registry with its method, judge each test
(:mod:`.verdict`), size the consortia it would need (:mod:`.power`), and adjust the claims'
p-values across the registry (Holm)."""

from __future__ import annotations

import math
import sys
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from consortia.files import json_safe, software_versions

from . import methods  # noqa: F401  (imported for its effect: every method enters EVALUATORS)
from . import power as pw
from .catalogue import (
    CID,
    EVALUATORS,
    ClaimData,
    Context,
    Estimate,
    NotTestable,
    Unavailable,
)
from .records import ClaimRecord, Registry, TestSpec
from .registry import load_registry
from .results import ClaimResult, ClaimsResults, TestResult
from .verdict import (
    NOT_TESTABLE,
    STATISTICAL_VERDICTS,
    combine,
    decide,
    holm,
    judge_contrasts,
    p_values,
)

# The packages whose versions claims.json records.
CLAIMS_SOFTWARE = ("numpy", "pandas", "scipy", "statsmodels", "lifelines", "pyfixest")


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
