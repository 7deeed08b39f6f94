"""The true estimand of each registry test in a drawn world (read from its ``truth.json``
as ``consortia/simulate/truth.yaml`` says) and whether the claim is true, false or neither
there."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from consortia.claims.records import ClaimRecord
from consortia.simulate.truth import claim_truths

CLAIM_TRUE, CLAIM_FALSE, NEITHER = "true", "false", "neither"


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
