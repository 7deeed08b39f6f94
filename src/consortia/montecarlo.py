"""Monte Carlo validation of the claims: error rates of the verdicts, coverage and power at
known truths.

The claims step (:func:`consortia.claims.evaluate_claims`) reports, per claim and
test, an estimate, a confidence interval and a verdict whose two errors are meant to be
rare: *supported* when the claim is false, *contradicted* when it is true, each at most
the registry's error rate (5%). That can only be checked where the truth is known: on
worlds drawn by :func:`consortia.simulate.simulate_world` under named truths
(``config/montecarlo.yaml``), each a set of overrides of the simulator's default
parameters (the review's claims), at several sizes.

Per world: draw a clean world (no mess: this validates inference, not cleaning),
build the panel and the task table with :mod:`consortia.measures` as the workflow
does, run the claims of the registry the truth names (all by default), and record per
test the estimate, the CI, the verdict, the **true estimand** taken from the world's
own ``truth`` (:data:`TRUE_ESTIMANDS` says where each comes from; nothing is typed in)
and whether the claim is true, false or neither there (:func:`claim_status`, the
verdict module's own true and false sets).

Definitions (:func:`summarise`), per truth, size, claim and test:

* coverage: share of worlds whose CI contains the true estimand; target 93–97% for
  95% intervals;
* P(supported | false): share of worlds with *supported* where the claim is false;
  P(contradicted | true): share with *contradicted* where it is true; each ≤ the
  error rate up to Monte Carlo error (its standard error is reported);
* P(supported | true): the power to support a true claim.

Seeds: world ``j`` of batch ``b`` uses ``SeedSequence([seed, b, j])`` for the world
and the claims' bootstraps, whatever the truth or the size (common random numbers:
differences between truths are not sampling noise of different draws). The same seed,
batch, size and truth give identical rows.
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

from consortia import measures
from consortia.claims import evaluate_claims, load_registry
from consortia.claims.registry import ClaimRecord, Registry
from consortia.claims.verdict import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_TESTABLE,
    SUPPORTED,
)
from consortia.simulate import default_truth, simulate_world
from consortia.simulate.truth import claim_truths, merge_overrides

log = logging.getLogger("consortia.montecarlo")

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "config" / "schemas" / "montecarlo.schema.yaml"
STUDIES = ("montecarlo", "montecarlo_smoke")  # the workflow's target rules
COVERAGE_TARGET = (0.93, 0.97)
CLAIM_LEVEL = ""  # the ``test`` of a row holding a claim's combined verdict

CLAIM_TRUE, CLAIM_FALSE, NEITHER = "true", "false", "neither"

BATCH_COLUMNS = [
    "truth",
    "n_consortia",
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
    "claim_status",
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
    registry = load_registry(ROOT / config["registry"])
    for name, truth in config["truths"].items():
        unknown = sorted(set(truth.get("claims") or []) - set(registry.ids))
        if unknown:
            problems.append(f"truths.{name}.claims: not in the registry: {unknown}")
    defaults = default_truth()
    for name, truth in config["truths"].items():
        try:
            merge_overrides(defaults, truth["overrides"])  # the simulator's own merge
        except ValueError as exc:
            problems.append(f"truths.{name}.overrides: {exc}")
    if problems:
        raise ValueError(f"{path}:\n  " + "\n  ".join(problems))
    return config


def truth_sizes(study: Mapping, truth: Mapping) -> list[int]:
    """The world sizes (consortia) a study draws a truth at: the truth's own, else the
    study's."""
    return [int(n) for n in (truth.get("sizes") or study["sizes"])]


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
    # Weibull durations: a time ratio r is a hazard ratio r^(−shape) (proportional hazards);
    # log-normal ones have no constant hazard ratio
    tr = _time_ratio(truth, claim)
    if tr is None or truth["parameters"]["tasks"].get("distribution", "weibull") != "weibull":
        return None
    shape = float(truth["parameters"]["tasks"]["weibull_shape"])
    return TrueEstimand(
        tr.value ** (-shape), "value", "time ratio ^ (−parameters.tasks.weibull_shape)"
    )


def _median_ratio(truth, claim):
    # durations are accelerated-failure-time in every industry (Weibull or log-normal):
    # the medians of the standardised curves differ by the time ratio
    tr = _time_ratio(truth, claim)
    if tr is None:
        return None
    return TrueEstimand(tr.value, "value", "time ratio (AFT durations in every industry)")


def _academic_ratio(name: str) -> Callable:
    def derive(truth, claim):
        if claim.comparison != "enterprise_only" or _lead(claim) != "enterprise":
            return None
        return TrueEstimand(_estimand(truth, name, "value"), "value", f"estimands.{name}")

    return derive


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
    if not p.get("net_of_subsidy", False):
        return TrueEstimand(v, "value", "estimands.subsidy_elasticity_rd.mean")
    # R&D net of the subsidy: d log(R − S)/d log S = (εR − S)/(R − S), which has no one value;
    # only its sign is certain when no subsidy raises R&D (ε ≤ 0: the private part falls)
    e = truth["parameters"]["rd"]["subsidy_elasticity"]
    if max(float(e["traditional"]), float(e["high_tech"])) <= 0:
        return TrueEstimand(-1.0, "sign", "private R&D falls when the subsidy elasticity ≤ 0")
    return None


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


def _scp_chain(link: str, a_key: str, b_path: tuple[str, str]) -> Callable:
    """The paper's chain in the simulator (``derived.scp_chain_of_the_paper``): only whether
    the standardised indirect effect is zero is known in closed form (a or b zero);
    otherwise its size depends on the population's spread and the nonlinear links."""

    def derive(truth, claim):
        chain = truth["derived"]["scp_chain_of_the_paper"][link]
        a = float(chain["a"])
        b = float(truth["parameters"]["performance"][b_path[0]][b_path[1]])
        if a * b == 0:
            return TrueEstimand(0.0, "sign", f"derived.scp_chain_of_the_paper.{link}: a·b = 0")
        return TrueEstimand(float(np.sign(a * b)), "sign", f"sign of a·b ({link}, {a_key})")

    return derive


# Derivations by the name the simulator's truth file gives them (``true_estimands`` of each
# claim in consortia/simulate/truth.yaml): a name alone is the derivation; a name under
# ``derive:`` with arguments is a factory called with them.
DERIVATIONS: dict[str, Callable] = {
    "transfer_level": _transfer_level,
    "transfer_gap": _transfer_gap,
    "time_ratio": _time_ratio,
    "hazard_ratio": _hazard_ratio,
    "median_ratio": _median_ratio,
    "academic_ratio": _academic_ratio,
    "lead_share": _lead_share,
    "lead_share_margin": _lead_share_margin,
    "lead_weight_mean": _lead_weight_mean,
    "lead_weight_share_above": _lead_weight_share_above,
    "industrial_share": _industrial_share,
    "scp_chain": _scp_chain,
    "subsidy_high_tech": _subsidy_high_tech,
    "industrial_traditional": _industrial_traditional,
    "subsidy_elasticity": _subsidy_elasticity,
}


def _derivation(spec: str | Mapping) -> Callable[[dict, ClaimRecord], TrueEstimand | None]:
    if isinstance(spec, str):
        return DERIVATIONS[spec]
    arguments = dict(spec)
    return DERIVATIONS[arguments.pop("derive")](**arguments)


# (claim id, test name) -> derivation from a world's truth; a derivation returns None
# when the registry record asks for something else than the estimand it knows.
TRUE_ESTIMANDS: dict[tuple[str, str], Callable[[dict, ClaimRecord], TrueEstimand | None]] = {
    (claim_id, test): _derivation(spec)
    for claim_id, claim in claim_truths().items()
    for test, spec in claim.get("true_estimands", {}).items()
}


def true_estimand(truth: dict, claim: ClaimRecord, test: str) -> TrueEstimand | None:
    derive = TRUE_ESTIMANDS.get((claim.id, test))
    return None if derive is None else derive(truth, claim)


def claim_status(claim: ClaimRecord, test: str, true: TrueEstimand | None) -> str | None:
    """Whether the test's claim is true, false or neither (a positive effect below the
    smallest of interest) at the true estimand: the true and false sets of
    :mod:`consortia.claims.verdict`. None where the truth does not say (unknown, or only a
    nonzero sign for a claim with a smallest effect of interest)."""
    if true is None:
        return None
    c = claim.test(test).claimed
    v = true.value
    if c.kind == "best":
        return None
    if c.kind in ("value", "above", "below"):
        if true.kind != "value":
            return None
        ((lo, hi),) = c.region()
        return CLAIM_TRUE if lo <= v <= hi else CLAIM_FALSE
    # direction claims
    sign = {"positive": 1.0, "negative": -1.0}.get(c.direction)
    if true.kind == "sign":
        if v == 0 or (sign is not None and v == -sign):
            return CLAIM_FALSE
        return None
    magnitude = v if sign is None else sign * v
    if sign is None:
        magnitude = abs(v)
        if v == 0:
            return CLAIM_FALSE
    elif magnitude <= 0:
        return CLAIM_FALSE
    return CLAIM_TRUE if magnitude >= c.min_effect else NEITHER


def combined_status(statuses: Sequence[str | None]) -> str | None:
    """A claim's status from its primary tests': false if any is false (a supported verdict
    needs every one), true if all are true, otherwise neither or unknown."""
    if CLAIM_FALSE in statuses:
        return CLAIM_FALSE
    if statuses and all(s == CLAIM_TRUE for s in statuses):
        return CLAIM_TRUE
    return None if None in statuses else NEITHER


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
    w = simulate_world(
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
        primary_status = []
        for t in result.tests:
            true = true_estimand(truth, record, t.name)
            status = claim_status(record, t.name, true)
            if t.role == "primary":
                # the claim's truth is the truth of all its parts, whether or not the
                # world's data let each be tested
                primary_status.append(status)
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
                    "claim_status": status,
                }
            )
        rows.append(
            {
                "claim": result.id,
                "test": CLAIM_LEVEL,
                "role": "claim",
                "truth_kind": "verdict",
                "true_value": math.nan,
                "truth_source": "",
                "estimate": math.nan,
                "ci_lower": math.nan,
                "ci_upper": math.nan,
                "se": math.nan,
                "scale": "",
                "rival": math.nan,
                "verdict": result.verdict,
                "claim_status": combined_status(primary_status) if primary_status else None,
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
    claims: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Claims on ``n_worlds`` worlds of ``world_size`` consortia drawn under one truth.

    ``overrides``: the truth's overrides of ``simulate.default_truth()`` (the truth
    named ``truth_name`` in the config); ``claims``: the claim ids to evaluate (all of
    the registry's by default). One row per world and test, plus one per world and
    claim (:data:`BATCH_COLUMNS`).
    """
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    if claims is not None:
        reg = reg.select(claims)
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
                {
                    "truth": truth_name,
                    "n_consortia": int(world_size),
                    "batch": batch_index,
                    "world": j,
                    "world_seed": s,
                    **row,
                }
            )
    frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    return frame.astype(
        {"n_consortia": "int64", "batch": "int64", "world": "int64", "world_seed": "int64"}
    )


# --------------------------------------------------------------------------- summary


def score(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`run_batch` with 1/0 indicators (NaN where undefined) added:
    ``covered`` (the CI contains a known true value), ``supported_if_false`` and
    ``supported_if_true`` (the verdict is supported, where the claim is false / true) and
    ``contradicted_if_true`` (contradicted where it is true)."""
    out = rows.copy()
    has_ci = out["ci_lower"].notna() & out["ci_upper"].notna()
    inside = (out["ci_lower"] <= out["true_value"]) & (out["true_value"] <= out["ci_upper"])
    out["covered"] = inside.astype(float).where(has_ci & (out["truth_kind"] == "value"))
    supported = (out["verdict"] == SUPPORTED).astype(float)
    contradicted = (out["verdict"] == CONTRADICTED).astype(float)
    is_false, is_true = out["claim_status"] == CLAIM_FALSE, out["claim_status"] == CLAIM_TRUE
    out["supported_if_false"] = supported.where(is_false)
    out["supported_if_true"] = supported.where(is_true)
    out["contradicted_if_true"] = contradicted.where(is_true)
    return out


def _mean(values: pd.Series) -> float:
    v = values.dropna()
    return float(v.mean()) if len(v) else math.nan


def _share_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n and math.isfinite(p) else math.nan


def _rate(g: pd.DataFrame, column: str) -> dict[str, float]:
    n = int(g[column].notna().sum())
    p = _mean(g[column])
    return {column: p, f"{column}_mc_se": _share_se(p, n), f"{column}_worlds": n}


def summarise(batches: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Per truth, size, claim and test: coverage, the two error rates, power, verdict shares.

    ``batches``: rows of :func:`run_batch` (one frame or several). Groups keep the
    order in which they first appear (truths as listed, claims in registry order).
    """
    frame = score(batches if isinstance(batches, pd.DataFrame) else pd.concat(list(batches)))
    out = []
    keys = ["truth", "n_consortia", "claim", "test"]
    for (truth, size, claim, test), g in frame.groupby(keys, sort=False):
        n = len(g)
        kind = g["truth_kind"].iloc[0]
        true_value = float(g["true_value"].iloc[0])
        if g["true_value"].nunique(dropna=False) > 1:
            raise ValueError(f"{truth}/{claim}/{test}: the true estimand differs across worlds")
        est = g.dropna(subset=["ci_lower", "ci_upper"])
        cov = _mean(g["covered"])
        n_cov = int(g["covered"].notna().sum())
        statuses = g["claim_status"].dropna().unique()
        verdicts = g["verdict"].value_counts()
        mean_estimate = _mean(est["estimate"])
        out.append(
            {
                "truth": truth,
                "n_consortia": int(size),
                "claim": claim,
                "test": test,
                "role": g["role"].iloc[0],
                "truth_kind": kind,
                "true_value": true_value,
                "truth_source": g["truth_source"].iloc[0],
                "claim_status": "/".join(statuses) if len(statuses) else None,
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
                **_rate(g, "supported_if_false"),
                **_rate(g, "contradicted_if_true"),
                **_rate(g, "supported_if_true"),
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


def _rate_text(r, column: str) -> str:
    from consortia.tables import MISSING

    p, se = r[column], r[f"{column}_mc_se"]
    if not math.isfinite(p):
        return MISSING
    return f"{_pct(p)} ({_pct(se)})"


def coverage_table(
    summary: pd.DataFrame, study: Mapping, truths: Mapping, claim_labels: Mapping[str, str]
):
    """The error-rate and coverage table (a :class:`consortia.tables.Table`; ``data`` =
    ``summary``): claim verdicts and primary tests; ``claim_labels``: the registry's labels
    by claim id."""
    from consortia.claims.outputs import test_label
    from consortia.tables import MISSING, Table, format_number

    shown = summary[summary["role"].isin(["claim", "primary"])]
    body, index = [], []
    for _, r in shown.iterrows():
        claim = claim_labels.get(r["claim"], r["claim"])
        name = (
            f"{claim} (verdict)"
            if r["test"] == CLAIM_LEVEL
            else f"{claim} · {test_label(r['test'])}"
        )
        true = MISSING
        if r["truth_kind"] == "value":
            true = format_number(r["true_value"], 3)
        elif r["truth_kind"] == "sign":
            true = {1.0: "> 0", -1.0: "< 0", 0.0: "0"}[r["true_value"]]
        body.append(
            {
                "true": true,
                "status": r["claim_status"] or MISSING,
                "coverage": _pct(r["coverage"]),
                "false_support": _rate_text(r, "supported_if_false"),
                "false_contradiction": _rate_text(r, "contradicted_if_true"),
                "power": _pct(r["supported_if_true"]),
                "verdicts": "/".join(
                    _pct(r[f"share_{v}"], 0) for v in (SUPPORTED, INCONCLUSIVE, CONTRADICTED)
                ),
                "n": f"{int(r['estimated'])}/{int(r['worlds'])}"
                if r["test"] != CLAIM_LEVEL
                else f"{int(r['worlds'])}",
            }
        )
        index.append(
            (f"{truths[r['truth']]['label']}, {int(r['n_consortia']):,d} consortia", name)
        )
    frame = pd.DataFrame(body, index=pd.MultiIndex.from_tuples(index))
    world = study["world"]
    lo, hi = COVERAGE_TARGET
    notes = [
        (
            f"{study['worlds_per_truth']} simulated worlds per truth and size, consortia as "
            f"shown × {world.get('n_years', 8)} years, clean tables (no mess); claims "
            "evaluated by consortia.claims.evaluate_claims with the registry, exactly as the "
            f"workflow's claims step; seed {study['seed']}."
        ),
        (
            "True: the estimand in the drawn truth (truth.json), derived by "
            "consortia.montecarlo.TRUE_ESTIMANDS; '0', '> 0', '< 0' where only that is known. "
            "Status: whether the claim is true, false or neither there (the verdict rules' own "
            "sets; a claim is false if one of its primary tests is)."
        ),
        (
            f"Coverage: % of worlds whose 95% CI contains the true value (target "
            f"{100 * lo:.0f}–{100 * hi:.0f}%). Supported | false and Contradicted | true: % of "
            "worlds with that wrong verdict where the claim is false / true (Monte Carlo SE in "
            "parentheses); each should be at most 5%. Supported | true: the power to support a "
            "true claim. S/I/C: % supported / inconclusive / contradicted. N: worlds with an "
            "estimate / worlds."
        ),
        "Truths: "
        + "; ".join(
            f"{v['label']}: {v['description'].strip().rstrip('.')}" for v in truths.values()
        ),
    ]
    return Table(
        body=frame,
        title="Monte Carlo validation of the claims: error rates of the verdicts and coverage",
        column_labels={
            "true": "True",
            "status": "Status",
            "coverage": "Coverage %",
            "false_support": "Supported | false %",
            "false_contradiction": "Contradicted | true %",
            "power": "Supported | true %",
            "verdicts": "S/I/C %",
            "n": "N",
        },
        stub_header=("Truth, world size", "Claim · test"),
        notes=notes,
        label="tab:montecarlo",
        data=summary,
    )


SIZE_MARKERS = ("o", "s", "^", "D", "v", "P")
ERROR_PANELS = (
    ("supported_if_false", "Supported although the claim is false"),
    ("contradicted_if_true", "Contradicted although the claim is true"),
)


def error_rate_figure(
    summary: pd.DataFrame,
    truths: Mapping,
    claim_labels: Mapping[str, str],
    error_rate: float = 0.05,
):
    """The two error rates of the claims' verdicts with Wilson 95% bars, per truth, claim and
    size: supported where the claim is false (top), contradicted where it is true (bottom);
    the dashed line is the error rate the rules promise. The caption says so."""
    from matplotlib.figure import Figure

    from consortia.figures import set_caption, theme

    claims = summary[summary["test"] == CLAIM_LEVEL]
    sizes = sorted(claims["n_consortia"].unique())
    markers = {n: SIZE_MARKERS[k % len(SIZE_MARKERS)] for k, n in enumerate(sizes)}

    def label(r) -> str:
        return f"{truths[r['truth']]['label']} · {claim_labels.get(r['claim'], r['claim'])}"

    rows_of = {column: claims[claims[column].notna()] for column, _ in ERROR_PANELS}
    labels_of = {
        column: list(dict.fromkeys(label(r) for _, r in rows.iterrows()))
        for column, rows in rows_of.items()
    }
    heights = [max(1, len(labels)) for labels in labels_of.values()]
    with theme():
        # one panel above the other: the labels (truth · claim) need the width
        fig = Figure(figsize=(6.5, 1.6 + 0.24 * sum(heights)), layout="constrained")
        axes = fig.subplots(2, 1, height_ratios=heights, sharex=True)
        for ax, (column, title) in zip(axes, ERROR_PANELS, strict=True):
            rows, labels = rows_of[column], labels_of[column]
            for _, r in rows.iterrows():
                k = sizes.index(r["n_consortia"])
                y = labels.index(label(r)) + (k - (len(sizes) - 1) / 2) * 0.15
                p = float(r[column])
                lo, hi = _wilson(p, int(r[f"{column}_worlds"]))
                # Wilson bounds at a share of 0 or 1 sit on it up to rounding
                xerr = [[max(0.0, p - lo)], [max(0.0, hi - p)]]
                ax.errorbar(p, y, xerr=xerr, fmt=markers[r["n_consortia"]],
                            ms=3.5, color="0.15", lw=0.8)
            ax.axvline(error_rate, color="#D55E00", ls="--", lw=1)
            ax.set_yticks(range(len(labels)), labels, fontsize="x-small")
            ax.set_ylim(max(1, len(labels)) - 0.5, -0.5)
            ax.set_xlim(-0.01, 0.3)
            ax.set_title(title, fontsize="small", loc="left")
            ax.tick_params(axis="x", labelsize="x-small")
        axes[-1].set_xlabel("share of worlds", fontsize="small")
        handles = [axes[0].scatter([], [], marker=markers[n], color="0.15", s=14,
                                   label=f"{n:,d} consortia") for n in sizes]
        fig.legend(handles=handles, loc="outside lower center", ncols=max(1, len(handles)),
                   fontsize="x-small")
    worlds = int(claims["worlds"].max()) if len(claims) else 0
    return set_caption(
        fig,
        "Monte Carlo error rates of the claims' verdicts: the share of simulated worlds "
        "in which a claim was supported although it is false there (top) or contradicted "
        f"although it is true (bottom), per truth and claim, {worlds} worlds per truth and "
        "size (markers: consortia per world), with Wilson 95% intervals; dashed: the "
        f"{error_rate:.0%} error rate the verdict rules promise.",
    )


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
    n_consortia: int,
    world: Mapping,
    seed: int,
    claims: Sequence[str] | None = None,
) -> None:
    """Rule ``montecarlo_batch``: one batch of worlds of ``n_consortia`` consortia to
    Parquet (``claims``: the truth's claims, all when None)."""
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
        int(n_consortia),
        seed,
        overrides=overrides,
        n_years=int(world.get("n_years", 8)),
        first_year=int(world.get("first_year", 2016)),
        registry=registry_path,
        claims=claims,
    )
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(output_path, index=False)


def summary_step(
    batch_paths: Sequence[str | Path],
    table_stem: str | Path,
    figure_stem: str | Path,
    study: Mapping,
    truths: Mapping,
    registry_path: str | Path,
) -> pd.DataFrame:
    """Rule ``montecarlo_summary``: the error-rate and coverage table (CSV/MD/HTML/TeX) and
    the error-rate figure, claims named by the registry's labels."""
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
    claim_labels = {c.id: c.label for c in load_registry(registry_path).claims}
    write_table(coverage_table(summary, study, labelled, claim_labels), table_stem)
    save_figure(error_rate_figure(summary, labelled, claim_labels), figure_stem)
    return summary
