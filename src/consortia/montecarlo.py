"""Monte Carlo validation of the claims step: interval coverage, verdicts and power at known truths.

The claims step (:func:`consortia.claims.evaluate_claims`) reports, per claim and
test, an estimate, a 95% confidence interval and a verdict. Whether the intervals
cover and the verdicts are right can only be checked where the truth is known:
on worlds drawn by :func:`consortia.simulate.simulate_world` under named truths
(``config/montecarlo.yaml``), each a set of overrides of the simulator's default
parameters (the review's claims).

Per world: draw a clean world (no mess: this validates inference, not cleaning),
build the panel and the task table with :mod:`consortia.measures` as the workflow
does, run every claim of the registry, and record per test the estimate, the CI,
the verdict, and the **true estimand** taken from the world's own ``truth`` (what
``truth.json`` holds; :data:`TRUE_ESTIMANDS` says where each comes from). Nothing
is typed in: change a truth's overrides and the estimands follow.

Definitions (:func:`summarise`):

* coverage: share of worlds whose CI contains the true estimand (worlds where the
  test could be computed); target 93–97% for 95% intervals;
* expected verdict: the verdict of an infinitely precise study, i.e. the verdict
  rules of :mod:`consortia.claims.verdict` applied to the degenerate interval
  [θ, θ]; "correct" = the world's verdict equals it. For a true value on the rival
  (no effect) the expected verdict is ``inconclusive``;
* power: share of worlds whose CI excludes the rival value (the two-sided 5% test
  of the rival), drawn against the normal-theory curve in :func:`power_figure`.

Seeds: world ``j`` of batch ``b`` uses ``SeedSequence([seed, b, j])`` for the world
and the claims' bootstraps, whatever the truth (common random numbers: differences
between truths are not sampling noise of different draws). The same seed, batch,
size and truth give identical rows.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import yaml
from scipy import stats

from consortia import measures, simulate
from consortia.claims import evaluate_claims, load_registry
from consortia.claims.registry import ClaimRecord, Registry
from consortia.claims.verdict import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_TESTABLE,
    SUPPORTED,
    classify,
    combine,
)

log = logging.getLogger("consortia.montecarlo")

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "config" / "schemas" / "montecarlo.schema.yaml"
STUDIES = ("montecarlo", "montecarlo_smoke")  # the workflow's target rules
COVERAGE_TARGET = (0.93, 0.97)
CLAIM_LEVEL = ""  # the ``test`` of a row holding a claim's combined verdict

BATCH_COLUMNS = [
    "truth",
    "batch",
    "world",
    "world_seed",
    "claim",
    "test",
    "role",
    "truth_kind",
    "true_value",
    "truth_source",
    "estimate",
    "ci_lower",
    "ci_upper",
    "se",
    "scale",
    "rival",
    "verdict",
    "expected_verdict",
]


# --------------------------------------------------------------------------- configuration


def load_config(path: str | Path) -> dict:
    """Read ``config/montecarlo.yaml``, validate it against its schema, check the names.

    Every study a target rule runs (:data:`STUDIES`) must exist, every truth a study
    names must be defined, and every truth's overrides must be parameters the
    simulator knows (merged exactly as :func:`simulate_world` will merge them).
    """
    path = Path(path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(config),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    if errors:
        where = "\n  ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
        )
        raise ValueError(f"{path} does not follow {SCHEMA_PATH.name}:\n  {where}")
    problems = [f"studies: no study {s!r}" for s in STUDIES if s not in config["studies"]]
    for name, study in config["studies"].items():
        problems += [
            f"studies.{name}.truths: no truth {t!r} under truths:"
            for t in study["truths"]
            if t not in config["truths"]
        ]
    defaults = simulate.default_truth()
    for name, truth in config["truths"].items():
        try:
            simulate._merge(defaults, truth["overrides"])  # the simulator's own merge
        except ValueError as exc:
            problems.append(f"truths.{name}.overrides: {exc}")
    if problems:
        raise ValueError(f"{path}:\n  " + "\n  ".join(problems))
    return config


def batch_sizes(worlds_per_truth: int, batch_size: int) -> list[int]:
    """Worlds in each batch of one truth: full batches, then the remainder."""
    full, rest = divmod(int(worlds_per_truth), int(batch_size))
    return [int(batch_size)] * full + ([rest] if rest else [])


# --------------------------------------------------------------------------- true estimands


@dataclass(frozen=True)
class TrueEstimand:
    """What a test estimates, in the world that was drawn.

    ``kind`` "value": ``value`` is the estimand on the estimate's scale (ratios as
    ratios); "sign": only its sign is known (the evaluator's scale differs from the
    simulator's parameters), enough to judge a direction claim.
    """

    value: float
    kind: str
    source: str


def _lead(claim: ClaimRecord) -> str:
    return str(claim.params.get("lead", "enterprise"))


def _estimand(truth: dict, name: str, *keys: str) -> float:
    node = truth["estimands"][name]
    for key in keys:
        node = node[key]
    return float(node)


def _transfer_level(truth, claim):
    if _lead(claim) != "enterprise":
        return None
    v = _estimand(truth, "transfer_rate_enterprise_led", "value")
    return TrueEstimand(v, "value", "estimands.transfer_rate_enterprise_led")


def _transfer_gap(truth, claim):
    if _lead(claim) != "enterprise" or claim.comparison != "other_led":
        return None
    v = _estimand(truth, "transfer_rate_enterprise_led", "value") - _estimand(
        truth, "transfer_rate_other_led", "value"
    )
    return TrueEstimand(v, "value", "estimands.transfer_rate_enterprise_led − _other_led")


def _time_ratio(truth, claim):
    if _lead(claim) != "enterprise" or claim.comparison != "university":
        return None
    v = _estimand(truth, "breakthrough_time_ratio_enterprise_vs_university", "value")
    return TrueEstimand(v, "value", "estimands.breakthrough_time_ratio_enterprise_vs_university")


def _hazard_ratio(truth, claim):
    # Weibull durations: a time ratio r is a hazard ratio r^(−shape) (proportional hazards)
    tr = _time_ratio(truth, claim)
    if tr is None:
        return None
    shape = float(truth["parameters"]["tasks"]["weibull_shape"])
    return TrueEstimand(
        tr.value ** (-shape), "value", "time ratio ^ (−parameters.tasks.weibull_shape)"
    )


def _median_ratio(truth, claim):
    # industries are drawn independently of lead type, so both lead types mix the same
    # Weibull scales: every quantile of the pooled durations scales by the time ratio
    tr = _time_ratio(truth, claim)
    if tr is None:
        return None
    return TrueEstimand(tr.value, "value", "time ratio (same industry mix in both groups)")


def _academic_ratio(truth, claim):
    if claim.comparison != "enterprise_only":
        return None
    v = _estimand(truth, "academic_partner_transfer_ratio", "value")
    return TrueEstimand(v, "value", "estimands.academic_partner_transfer_ratio")


def _lead_share(truth, claim):
    shares = truth["parameters"]["lead_type_shares"]
    return TrueEstimand(float(shares[_lead(claim)]), "value", "parameters.lead_type_shares")


def _lead_share_margin(truth, claim):
    shares = {k: float(v) for k, v in truth["parameters"]["lead_type_shares"].items()}
    lead = shares.pop(_lead(claim))
    return TrueEstimand(
        lead - max(shares.values()), "value", "parameters.lead_type_shares: lead − runner-up"
    )


def _lead_weight_mean(truth, claim):
    v = _estimand(truth, "lead_decision_weight_mean", "value", _lead(claim))
    return TrueEstimand(v, "value", "estimands.lead_decision_weight_mean")


def _lead_weight_share_above(truth, claim):
    # the lead's weight is Beta(mean·κ, (1 − mean)·κ) (rounded to 4 decimals)
    s = truth["parameters"]["structure"]
    m = float(s["lead_decision_weight_mean"][_lead(claim)])
    kappa = float(s["lead_decision_weight_concentration"])
    threshold = float(claim.params.get("threshold", 0.6))
    v = float(stats.beta.sf(threshold, m * kappa, (1 - m) * kappa))
    return TrueEstimand(v, "value", "P(Beta(parameters.structure lead weight) > threshold)")


def _industrial_share(truth, claim):
    # also the pooled Σ industrial / Σ total: task counts are drawn independently of the share
    v = _estimand(truth, "industrial_task_share_mean", "value", _lead(claim))
    return TrueEstimand(v, "value", "estimands.industrial_task_share_mean")


def _subsidy_elasticity(truth, claim):
    p = claim.params
    if p.get("outcome", "rd_expenditure") != "rd_expenditure" or p.get("subsidy") != "subsidy":
        return None
    v = _estimand(truth, "subsidy_elasticity_rd", "mean")
    return TrueEstimand(v, "value", "estimands.subsidy_elasticity_rd.mean")


def _heterogeneity_ok(claim: ClaimRecord) -> bool:
    p = claim.params
    return (
        p.get("outcome", "new_product_revenue") == "new_product_revenue"
        and p.get("log_outcome", True)
        and p.get("subsidy", "subsidy") == "subsidy"
        and p.get("share", "industrial_task_share") == "industrial_task_share"
    )


def _subsidy_high_tech(truth, claim):
    # log revenue = rd_elasticity · log R&D + ...; log R&D = elasticity_g · log subsidy + ...
    if not _heterogeneity_ok(claim):
        return None
    e = truth["estimands"]["subsidy_elasticity_rd"]["value"]
    rd = float(truth["parameters"]["performance"]["new_product_revenue"]["rd_elasticity"])
    v = rd * (float(e["high_tech"]) - float(e["traditional"]))
    return TrueEstimand(
        v, "value", "new_product_revenue.rd_elasticity × (subsidy elasticity high-tech − trad.)"
    )


def _industrial_traditional(truth, claim):
    if not _heterogeneity_ok(claim):
        return None
    e = truth["estimands"]["industrial_share_semi_elasticity_new_product_revenue"]["value"]
    v = float(e["traditional"]) - float(e["high_tech"])
    return TrueEstimand(
        v, "value", "estimands.industrial_share_semi_elasticity_new_product_revenue: trad. − h.-t."
    )


_SCP_TESTS = {
    "collab_intensity": "via_collaboration",
    "industrial_task_share": "via_task_allocation",
}


def _scp_sign(mediator: str) -> Callable:
    """The sign of the indirect effect a·b through ``mediator``: the evaluator's linear
    equations on patent counts are on another scale than the simulator's log link."""

    def derive(truth, claim):
        p = claim.params
        if (
            p.get("treatment") != "lead_decision_weight"
            or p.get("outcome") != "patents_filed"
            or (p.get("mediators") or {}).get(_SCP_TESTS[mediator]) != mediator
        ):
            return None
        paths = truth["derived"]["scp_paths"]
        ab = float(paths["a"][mediator]) * float(paths["b_patents"][mediator])
        return TrueEstimand(
            float(np.sign(ab)), "sign", f"sign of derived.scp_paths a × b_patents ({mediator})"
        )

    return derive


# (claim id, test name) -> derivation from a world's truth; a derivation returns None
# when the registry record asks for something else than the estimand it knows.
TRUE_ESTIMANDS: dict[tuple[str, str], Callable[[dict, ClaimRecord], TrueEstimand | None]] = {
    ("transfer_rate", "level"): _transfer_level,
    ("transfer_rate", "gap"): _transfer_gap,
    ("breakthrough_speed", "time_ratio"): _time_ratio,
    ("breakthrough_speed", "hazard_ratio"): _hazard_ratio,
    ("breakthrough_speed", "median_ratio"): _median_ratio,
    ("academic_partner_conversion", "ratio"): _academic_ratio,
    ("enterprise_led_share", "share"): _lead_share,
    ("enterprise_led_share", "highest"): _lead_share_margin,
    ("lead_decision_weight", "mean"): _lead_weight_mean,
    ("lead_decision_weight", "share_above"): _lead_weight_share_above,
    ("industrial_task_share", "mean"): _industrial_share,
    ("industrial_task_share", "pooled"): _industrial_share,
    ("scp_chain", "via_collaboration"): _scp_sign("collab_intensity"),
    ("scp_chain", "via_task_allocation"): _scp_sign("industrial_task_share"),
    ("industry_heterogeneity", "subsidy_high_tech"): _subsidy_high_tech,
    ("industry_heterogeneity", "industrial_traditional"): _industrial_traditional,
    ("subsidy_crowding_in", "elasticity"): _subsidy_elasticity,
}


def true_estimand(truth: dict, claim: ClaimRecord, test: str) -> TrueEstimand | None:
    derive = TRUE_ESTIMANDS.get((claim.id, test))
    return None if derive is None else derive(truth, claim)


def expected_verdict(claim: ClaimRecord, test: str, true: TrueEstimand | None) -> str | None:
    """The verdict of an infinitely precise study: the rules applied to [θ, θ]."""
    if true is None:
        return None
    spec = claim.test(test)
    c = spec.claimed
    if c.kind == "best":
        return None
    if true.kind == "sign" and not (c.kind == "direction" and c.min_effect == 0):
        return None  # a sign decides a direction claim only
    return classify(true.value, true.value, c.region(), spec.rival)


# --------------------------------------------------------------------------- one batch


def world_seed(seed: int, batch_index: int, world_index: int) -> int:
    """The seed of world ``world_index`` of batch ``batch_index`` (any truth)."""
    state = np.random.SeedSequence([int(seed), int(batch_index), int(world_index)]).generate_state(
        2, np.uint32
    )
    return int(state[0]) << 31 | int(state[1]) >> 1


def evaluate_world(
    registry: Registry,
    n_consortia: int,
    n_years: int,
    first_year: int,
    seed: int,
    overrides: Mapping,
) -> tuple[dict, list]:
    """Draw one clean world and run the claims on it; returns (truth, claim results)."""
    w = simulate.simulate_world(
        n_consortia=n_consortia,
        n_years=n_years,
        first_year=first_year,
        seed=seed,
        truth=copy.deepcopy(dict(overrides)),
        mess={},
    )
    panel = measures.build_panel(w.consortia, w.members, w.panel)
    tasks = measures.build_tasks(
        w.tasks, w.consortia, censoring_date=w.truth["simulator"]["cutoff_date"]
    )
    results = evaluate_claims(registry, panel, tasks, consortia=w.consortia, seed=seed)
    return w.truth, results.claims


def world_rows(registry: Registry, truth: dict, claims: Sequence) -> list[dict]:
    """One row per test and one per claim (``test`` = :data:`CLAIM_LEVEL`) of one world."""
    rows = []
    for result in claims:
        record = registry.claim(result.id)
        primary_expected = []
        for t in result.tests:
            true = true_estimand(truth, record, t.name)
            expected = expected_verdict(record, t.name, true)
            if t.role == "primary":
                primary_expected.append(expected)
            rows.append(
                {
                    "claim": result.id,
                    "test": t.name,
                    "role": t.role,
                    "truth_kind": "none" if true is None else true.kind,
                    "true_value": math.nan if true is None else true.value,
                    "truth_source": "" if true is None else true.source,
                    "estimate": _float(t.estimate),
                    "ci_lower": _float(t.ci_lower),
                    "ci_upper": _float(t.ci_upper),
                    "se": _float(t.se),
                    "scale": t.scale,
                    "rival": _float(t.rival),
                    "verdict": t.verdict,
                    "expected_verdict": expected,
                }
            )
        claim_expected = (
            combine(primary_expected)
            if primary_expected and all(e is not None for e in primary_expected)
            else None
        )
        rows.append(
            {
                "claim": result.id,
                "test": CLAIM_LEVEL,
                "role": "claim",
                "truth_kind": "none" if claim_expected is None else "verdict",
                "true_value": math.nan,
                "truth_source": "",
                "estimate": math.nan,
                "ci_lower": math.nan,
                "ci_upper": math.nan,
                "se": math.nan,
                "scale": "",
                "rival": math.nan,
                "verdict": result.verdict,
                "expected_verdict": claim_expected,
            }
        )
    return rows


def _float(x) -> float:
    return math.nan if x is None else float(x)


def run_batch(
    truth_name: str,
    batch_index: int,
    n_worlds: int,
    world_size: int,
    seed: int,
    *,
    overrides: Mapping | None = None,
    n_years: int = 8,
    first_year: int = 2016,
    registry: Registry | str | Path = ROOT / "config" / "claims.yaml",
) -> pd.DataFrame:
    """Claims on ``n_worlds`` worlds of ``world_size`` consortia drawn under one truth.

    ``overrides``: the truth's overrides of ``simulate.default_truth()`` (the truth
    named ``truth_name`` in the config). One row per world and test, plus one per
    world and claim (:data:`BATCH_COLUMNS`).
    """
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    rows = []
    for j in range(int(n_worlds)):
        s = world_seed(seed, batch_index, j)
        started = time.perf_counter()
        truth, claims = evaluate_world(reg, world_size, n_years, first_year, s, overrides or {})
        log.info(
            "truth %s batch %d world %d (seed %d): %.2f s",
            truth_name,
            batch_index,
            j,
            s,
            time.perf_counter() - started,
        )
        for row in world_rows(reg, truth, claims):
            rows.append(
                {"truth": truth_name, "batch": batch_index, "world": j, "world_seed": s, **row}
            )
    frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    return frame.astype({"batch": "int64", "world": "int64", "world_seed": "int64"})


# --------------------------------------------------------------------------- summary


def score(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`run_batch` with 1/0 indicators (NaN where undefined) added:
    ``covered`` (the CI contains a known true value), ``rival_excluded`` (the CI
    excludes the rival) and ``correct`` (the verdict equals the expected one)."""
    out = rows.copy()
    has_ci = out["ci_lower"].notna() & out["ci_upper"].notna()
    inside = (out["ci_lower"] <= out["true_value"]) & (out["true_value"] <= out["ci_upper"])
    out["covered"] = inside.astype(float).where(has_ci & (out["truth_kind"] == "value"))
    rival_in = (out["ci_lower"] <= out["rival"]) & (out["rival"] <= out["ci_upper"])
    out["rival_excluded"] = (~rival_in).astype(float).where(has_ci & out["rival"].notna())
    expected = out["expected_verdict"]
    out["correct"] = (out["verdict"] == expected).astype(float).where(expected.notna())
    return out


def _mean(values: pd.Series) -> float:
    v = values.dropna()
    return float(v.mean()) if len(v) else math.nan


def _share_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n and math.isfinite(p) else math.nan


def summarise(batches: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Per truth, claim and test: coverage, power, verdict shares, share correct.

    ``batches``: rows of :func:`run_batch` (one frame or several). Groups keep the
    order in which they first appear (truths as listed, claims in registry order).
    """
    frame = score(batches if isinstance(batches, pd.DataFrame) else pd.concat(list(batches)))
    out = []
    for (truth, claim, test), g in frame.groupby(["truth", "claim", "test"], sort=False):
        n = len(g)
        kind = g["truth_kind"].iloc[0]
        true_value = float(g["true_value"].iloc[0])
        if g["true_value"].nunique(dropna=False) > 1:
            raise ValueError(f"{truth}/{claim}/{test}: the true estimand differs across worlds")
        est = g.dropna(subset=["ci_lower", "ci_upper"])
        cov = _mean(g["covered"])
        n_cov = int(g["covered"].notna().sum())
        correct = _mean(g["correct"])
        n_correct = int(g["correct"].notna().sum())
        expected = g["expected_verdict"].dropna().unique()
        verdicts = g["verdict"].value_counts()
        mean_estimate = _mean(est["estimate"])
        out.append(
            {
                "truth": truth,
                "claim": claim,
                "test": test,
                "role": g["role"].iloc[0],
                "truth_kind": kind,
                "true_value": true_value,
                "truth_source": g["truth_source"].iloc[0],
                "worlds": n,
                "estimated": len(est),
                "mean_estimate": mean_estimate,
                "bias": mean_estimate - true_value if kind == "value" else math.nan,
                "sd_estimate": float(est["estimate"].std(ddof=1)) if len(est) > 1 else math.nan,
                "median_se": float(est["se"].median()) if len(est) else math.nan,
                "coverage": cov,
                "coverage_mc_se": _share_se(cov, n_cov),
                "coverage_in_target": (COVERAGE_TARGET[0] <= cov <= COVERAGE_TARGET[1])
                if n_cov
                else None,
                "rival_excluded": _mean(g["rival_excluded"]),
                "expected_verdict": "/".join(expected) if len(expected) else None,
                "correct": correct,
                "correct_mc_se": _share_se(correct, n_correct),
                **{
                    f"share_{v}": verdicts.get(v, 0) / n
                    for v in (SUPPORTED, INCONCLUSIVE, CONTRADICTED, NOT_TESTABLE)
                },
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- outputs


def _pct(x, decimals: int = 1) -> str:
    from consortia.tables import MISSING

    return MISSING if x is None or not math.isfinite(x) else f"{100 * x:.{decimals}f}"


def coverage_table(summary: pd.DataFrame, study: Mapping, truths: Mapping):
    """The coverage table (a :class:`consortia.tables.Table`; ``data`` = ``summary``)."""
    from consortia.tables import MISSING, Table, format_number

    body, index = [], []
    for _, r in summary.iterrows():
        name = (
            f"{r['claim']} (claim verdict)"
            if r["test"] == CLAIM_LEVEL
            else (f"{r['claim']} · {r['test']}")
        )
        true = MISSING
        if r["truth_kind"] == "value":
            true = format_number(r["true_value"], 3)
        elif r["truth_kind"] == "sign":
            true = {1.0: "> 0", -1.0: "< 0", 0.0: "0"}[r["true_value"]]
        body.append(
            {
                "role": r["role"],
                "true": true,
                "mean": format_number(r["mean_estimate"], 3),
                "coverage": _pct(r["coverage"]),
                "power": _pct(r["rival_excluded"]),
                "expected": r["expected_verdict"] or MISSING,
                "correct": _pct(r["correct"]),
                "verdicts": "/".join(
                    _pct(r[f"share_{v}"], 0) for v in (SUPPORTED, INCONCLUSIVE, CONTRADICTED)
                ),
                "n": f"{int(r['estimated'])}/{int(r['worlds'])}"
                if r["test"] != CLAIM_LEVEL
                else (f"{int(r['worlds'])}"),
            }
        )
        index.append((truths[r["truth"]]["label"], name))
    frame = pd.DataFrame(body, index=pd.MultiIndex.from_tuples(index))
    world = study["world"]
    lo, hi = COVERAGE_TARGET
    se_points = 100 * math.sqrt(0.95 * 0.05 / study["worlds_per_truth"])
    notes = [
        (
            f"{study['worlds_per_truth']} simulated worlds per truth, {world['n_consortia']} "
            f"consortia × {world.get('n_years', 8)} years each, clean tables (no mess); claims "
            "evaluated by consortia.claims.evaluate_claims with the registry, exactly as the "
            f"workflow's claims step; seed {study['seed']}, batches of {study['batch_size']} worlds."
        ),
        (
            "True: the estimand in the drawn truth (truth.json), derived by "
            "consortia.montecarlo.TRUE_ESTIMANDS; '> 0' where only its sign is known; – where "
            "the simulator's truth does not define the test's estimand (no coverage, no "
            "expected verdict)."
        ),
        (
            f"Coverage: % of worlds whose 95% CI contains the true value (target "
            f"{100 * lo:.0f}–{100 * hi:.0f}%; Monte Carlo SE ≈ {se_points:.1f} points). "
            "Power: % of worlds whose CI excludes the test's rival value."
        ),
        (
            "Expected: the verdict the rules give an infinitely precise study (the CI shrunk "
            "to the true value); Correct: % of worlds with that verdict. C/I/X: % supported / "
            "inconclusive / contradicted. N: worlds with an estimate / worlds."
        ),
        "Truths: "
        + "; ".join(
            f"{v['label']}: {v['description'].strip().rstrip('.')}" for v in truths.values()
        ),
    ]
    return Table(
        body=frame,
        title="Monte Carlo validation of the claims: coverage, verdicts and power",
        column_labels={
            "role": "Role",
            "true": "True",
            "mean": "Mean est.",
            "coverage": "Coverage %",
            "power": "Power %",
            "expected": "Expected",
            "correct": "Correct %",
            "verdicts": "C/I/X %",
            "n": "N",
        },
        stub_header=("Truth", "Claim · test"),
        notes=notes,
        label="tab:montecarlo",
        data=summary,
    )


TRUTH_COLOURS = ("#000000", "#D55E00", "#56B4E9", "#F0E442")  # Okabe–Ito, not lead-type colours


def power_figure(summary: pd.DataFrame, batches: pd.DataFrame, truths: Mapping):
    """Power curves of the primary tests with a known true value.

    Points: the Monte Carlo share of worlds whose 95% CI excludes the rival, at each
    truth's estimand (Wilson 95% bars). Curve: normal-theory power
    Φ(d/SE − 1.96) + Φ(−d/SE − 1.96), d = θ − rival (log ratio for ratios), SE the
    median reported SE across all worlds.
    """
    from matplotlib.figure import Figure

    from consortia.figures import theme

    tests = summary[(summary["role"] == "primary") & (summary["truth_kind"] == "value")]
    keys = list(dict.fromkeys(zip(tests["claim"], tests["test"])))
    ncols = min(4, max(1, len(keys)))
    nrows = max(1, math.ceil(len(keys) / ncols))
    z = stats.norm.ppf(0.975)
    truth_names = list(dict.fromkeys(summary["truth"]))
    colours = {t: TRUTH_COLOURS[i % len(TRUTH_COLOURS)] for i, t in enumerate(truth_names)}
    with theme():
        fig = Figure(figsize=(3.2 * ncols, 2.6 * nrows + 0.8), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (claim, test) in zip(axes, keys, strict=False):
            rows = tests[(tests["claim"] == claim) & (tests["test"] == test)]
            b = batches[(batches["claim"] == claim) & (batches["test"] == test)]
            rival = float(b["rival"].dropna().iloc[0])
            log_scale = (b["scale"] == "log").any()
            f = np.log if log_scale else (lambda v: v)
            finv = np.exp if log_scale else (lambda v: v)
            se = float(b["se"].median())
            points = np.r_[f(rows["true_value"].to_numpy(float)), f(rival)]
            span = max(points.max() - points.min(), 4 * se)
            grid = np.linspace(points.min() - 0.25 * span, points.max() + 0.25 * span, 201)
            d = (grid - f(rival)) / se
            ax.plot(
                finv(grid), stats.norm.cdf(d - z) + stats.norm.cdf(-d - z), color="0.55", lw=1.2
            )
            ax.axvline(rival, color="0.7", ls=":", lw=1)
            ax.axhline(0.05, color="0.8", lw=0.8)
            ax.axhline(0.80, color="0.8", lw=0.8, ls="--")
            for _, r in rows.iterrows():
                p = float(r["rival_excluded"])
                lo, hi = _wilson(p, int(r["estimated"]))
                # truths sharing a true value are set side by side, not on top of each other
                peers = [
                    t
                    for t, v in zip(rows["truth"], rows["true_value"], strict=True)
                    if math.isclose(v, r["true_value"])
                ]
                dodge = (peers.index(r["truth"]) - (len(peers) - 1) / 2) * 0.02 * span
                ax.errorbar(
                    finv(f(r["true_value"]) + dodge),
                    p,
                    yerr=[[p - lo], [hi - p]],
                    fmt="o",
                    ms=4,
                    color=colours[r["truth"]],
                    label=truths[r["truth"]]["label"],
                )
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{claim} · {test}", fontsize="small")
            ax.set_xlabel("true value" + (" (ratio)" if log_scale else ""), fontsize="x-small")
            ax.tick_params(labelsize="x-small")
        for ax in axes[len(keys) :]:
            ax.set_visible(False)
        axes[0].set_ylabel("share of worlds\nexcluding the rival", fontsize="x-small")
        handles = [
            axes[0].scatter([], [], color=colours[t], s=16, label=truths[t]["label"])
            for t in truth_names
        ]
        fig.legend(
            handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small"
        )
        fig.suptitle(
            "Power of the claims' tests: Monte Carlo (points, Wilson 95%) vs normal theory "
            "(curve); dotted: rival value"
        )
    return fig


def _wilson(p: float, n: int, level: float = 0.95) -> tuple[float, float]:
    if n == 0 or not math.isfinite(p):
        return (math.nan, math.nan)
    z = stats.norm.ppf(0.5 + level / 2)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


# --------------------------------------------------------------------------- workflow steps


def batch_step(
    output_path: str | Path,
    registry_path: str | Path,
    truth_name: str,
    overrides: Mapping,
    batch_index: int,
    n_worlds: int,
    world: Mapping,
    seed: int,
) -> None:
    """Rule ``montecarlo_batch``: one batch of worlds to Parquet."""
    slurm_job = os.environ.get("SLURM_JOB_ID")
    log.info(
        "batch %s/%d on %s",
        truth_name,
        batch_index,
        f"SLURM job {slurm_job}" if slurm_job else "the local machine",
    )
    frame = run_batch(
        truth_name,
        batch_index,
        n_worlds,
        int(world["n_consortia"]),
        seed,
        overrides=overrides,
        n_years=int(world.get("n_years", 8)),
        first_year=int(world.get("first_year", 2016)),
        registry=registry_path,
    )
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(output_path, index=False)


def summary_step(
    batch_paths: Sequence[str | Path],
    table_stem: str | Path,
    figure_stem: str | Path,
    study: Mapping,
    truths: Mapping,
) -> pd.DataFrame:
    """Rule ``montecarlo_summary``: coverage table (CSV/MD/HTML/TeX) and power figure."""
    from consortia.figures import save_figure
    from consortia.tables import write_table

    slurm_job = os.environ.get("SLURM_JOB_ID")
    if slurm_job:
        log.info("summary on SLURM job %s", slurm_job)
    batches = pd.concat([pd.read_parquet(p) for p in batch_paths], ignore_index=True)
    summary = summarise(batches)
    labelled = {
        name: {"label": spec.get("label", name), "description": spec["description"]}
        for name, spec in truths.items()
    }
    write_table(coverage_table(summary, study, labelled), table_stem)
    save_figure(power_figure(summary, batches, labelled), figure_stem)
    return summary
