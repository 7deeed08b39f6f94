"""The claims the simulator does not encode (chain coverage, organised research, a single
case), each on data whose truth the test sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from consortia.claims import evaluate_claims
from consortia.claims.verdict import CONTRADICTED, NOT_TESTABLE, SUPPORTED

LEAD_LOGIT = {"enterprise": 0.6, "university": -0.3, "research_institute": 0.0,
              "government": -0.2, "other": -0.4}  # fmt: skip


def with_chain_effect(panel: pd.DataFrame, beta: float, seed: int) -> tuple[pd.DataFrame, float]:
    """Redraw the transferred achievements with logit P = a_lead + beta · chain_coverage; return
    the panel and the true average marginal effect over the rows the estimator uses."""
    rng = np.random.default_rng(seed)
    p = panel.copy()
    index = p["lead_type"].astype(str).map(LEAD_LOGIT) + beta * p["chain_coverage"]
    prob = expit(index.to_numpy(dtype=float))
    ach = p["achievements"].fillna(0).astype(int).to_numpy()
    p["achievements_transferred"] = rng.binomial(ach, np.nan_to_num(prob))
    p["transfer_rate"] = (p["achievements_transferred"] / p["achievements"]).where(
        p["achievements"] > 0
    )
    used = p[["transfer_rate", "chain_coverage", "lead_type", "industry", "n_members"]].notna()
    used = used.all(axis=1).to_numpy()
    return p, float(np.mean(beta * prob[used] * (1 - prob[used])))


@pytest.mark.parametrize(("beta", "expected"), [(0.8, SUPPORTED), (-0.8, CONTRADICTED)])
def test_chain_coverage_effect_on_the_transfer_rate(registry, true_world, beta, expected):
    panel, true_ame = with_chain_effect(true_world.panel, beta, seed=5)
    res = evaluate_claims(registry, panel, seed=1, only=["chain_commercialisation"])
    c = res["chain_commercialisation"]
    ame = c.test("ame")
    assert ame.ci_lower <= true_ame <= ame.ci_upper
    assert ame.verdict == c.verdict == expected
    assert c.test("within").verdict in (expected, "inconclusive")  # membership changes only


def test_chain_claim_in_the_simulated_world_without_a_chain_effect(true_results):
    """The simulator's transfer rates do not depend on chain positions: not supported."""
    ame = true_results["chain_commercialisation"].test("ame")
    assert ame.ci_lower <= 0 <= ame.ci_upper
    assert ame.verdict != SUPPORTED


def organised_tasks(n_groups: int, time_ratio: float, seed: int) -> pd.DataFrame:
    """Per group (a consortium and its members' outside projects) three consortium tasks and
    two comparison tasks; Weibull durations, uniform censoring."""
    rng = np.random.default_rng(seed)
    inside = np.tile([True, True, True, False, False], n_groups)
    cid = np.repeat(np.arange(n_groups), 5)
    duration = 2.6 * np.where(inside, time_ratio, 1.0) * rng.weibull(1.6, cid.size)
    cutoff = rng.uniform(1.0, 8.0, cid.size)
    return pd.DataFrame(
        {
            "consortium_id": [f"C{i:04d}" for i in cid],
            "task_id": np.arange(cid.size),
            "duration_years": np.minimum(duration, cutoff),
            "event": (duration <= cutoff).astype(float),
            "in_consortium": inside,
        }
    )


def test_organised_research_testable_with_a_comparison_group(registry):
    tasks = organised_tasks(500, time_ratio=0.70, seed=3)
    c = evaluate_claims(registry, None, tasks, seed=1, only=["organised_research_cycle"])
    t = c["organised_research_cycle"].test("time_ratio")
    assert t.ci_lower <= 0.70 <= t.ci_upper
    assert t.verdict == c["organised_research_cycle"].verdict == SUPPORTED
    slow = organised_tasks(500, time_ratio=1.0, seed=4)
    c = evaluate_claims(registry, None, slow, seed=1, only=["organised_research_cycle"])
    assert c["organised_research_cycle"].verdict == CONTRADICTED


def test_organised_research_not_testable_without_a_comparison_group(registry, small_world):
    res = evaluate_claims(registry, None, small_world.tasks, only=["organised_research_cycle"])
    c = res["organised_research_cycle"]
    assert c.verdict == NOT_TESTABLE and c.missing_columns == ["tasks.in_consortium"]
    only_inside = organised_tasks(50, 0.7, seed=1).assign(in_consortium=True)
    c = evaluate_claims(registry, None, only_inside, only=["organised_research_cycle"])
    c = c["organised_research_cycle"]
    assert c.verdict == NOT_TESTABLE and "no non-consortium comparison tasks" in c.reason


def test_single_case_is_not_testable_with_its_reason(registry, small_world):
    assert dict(registry.claim("smic_yield_case").requires) == {}
    res = evaluate_claims(registry, small_world.panel, small_world.tasks, only=["smic_yield_case"])
    c = res["smic_yield_case"]
    assert c.verdict == NOT_TESTABLE and c.p_value is None
    assert "single case" in c.reason and "SMIC" in c.reason
