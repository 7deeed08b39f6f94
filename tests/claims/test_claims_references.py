"""The claims' estimators against published values and hand computations.

* Cox on the Rossi recidivism data (Rossi, Berk & Lenihan 1980; lifelines ships it), through
  the breakthrough_speed evaluator: fin = −0.3794, se(coef) = 0.1914 (R ``coxph``, Efron ties;
  Fox & Weisberg, *Cox Proportional-Hazards Regression for Survival Data in R*, appendix to
  *An R Companion to Applied Regression*, Table/printout of ``mod.allison``).
* Newcombe (1998, Statistics in Medicine 17:873–890), Table II, example (a): 56/70 − 48/80,
  hybrid score interval (method 10) 0.0524 to 0.3339; example (b): 9/10 − 3/10, 0.1705 to
  0.8090.
* Wilson (1927) intervals against statsmodels; Kaplan–Meier and the number at risk on a hand
  example.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from consortia.claims import evaluate_claims, load_registry
from consortia.claims.cox import cox_cluster_fit
from consortia.claims.driver import adjust_across_registry
from consortia.claims.figures import kaplan_meier, number_at_risk
from consortia.claims.intervals import newcombe_interval, wilson_interval

ROSSI_COVARIATES = ["age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    from lifelines.datasets import load_rossi

    return load_rossi()


@pytest.mark.slow
def test_cox_on_rossi_through_the_breakthrough_evaluator(rossi, registry_raw):
    """fin = 1 plays an enterprise-led task, fin = 0 a university-led one; each released
    prisoner is their own consortium; the other covariates are the claim's controls."""
    tasks = pd.DataFrame(
        {
            "consortium_id": [f"P{i:03d}" for i in range(len(rossi))],
            "lead_type": np.where(rossi["fin"] == 1, "enterprise", "university"),
            "duration_years": rossi["week"].astype(float),
            "event": rossi["arrest"].astype(float),
            **{c: rossi[c].astype(float) for c in ROSSI_COVARIATES},
        }
    )
    raw = copy.deepcopy(registry_raw)
    record = next(c for c in raw["claims"] if c["id"] == "breakthrough_speed")
    record["requires"] = {
        "tasks": ["consortium_id", "lead_type", "duration_years", "event", *ROSSI_COVARIATES]
    }
    record["params"]["controls"] = ROSSI_COVARIATES
    record["tests"] = [
        dict(t, role="primary") for t in record["tests"] if t["name"] == "hazard_ratio"
    ]
    raw["claims"] = [record]
    hr = evaluate_claims(load_registry(raw), None, tasks, seed=1)["breakthrough_speed"]
    hr = hr.test("hazard_ratio")
    assert math.log(hr.estimate) == pytest.approx(-0.3794, abs=5e-5)
    assert hr.details["model_se"] == pytest.approx(0.1914, abs=5e-5)
    assert hr.n_obs == 432 and hr.details["events"] == 114


def test_cox_cluster_sandwich_reduces_to_lifelines_robust(rossi):
    from lifelines import CoxPHFitter

    X = rossi[["fin", *ROSSI_COVARIATES]].astype(float)
    T, E = rossi["week"].to_numpy(), rossi["arrest"].to_numpy()
    n = len(rossi)
    fit = cox_cluster_fit(X, T, E, np.arange(n), small_sample=False)
    robust = CoxPHFitter().fit(rossi, "week", "arrest", robust=True).standard_errors_
    np.testing.assert_allclose(fit["cluster_se"], robust[X.columns], rtol=1e-8)
    corrected = cox_cluster_fit(X, T, E, np.arange(n))
    np.testing.assert_allclose(corrected["cluster_se"], fit["cluster_se"] * math.sqrt(n / (n - 1)))
    # pairs of prisoners as clusters: a different sandwich, same point estimates
    paired = cox_cluster_fit(X, T, E, np.arange(n) // 2)
    np.testing.assert_allclose(paired["coef"], fit["coef"])
    assert not np.allclose(paired["cluster_se"], corrected["cluster_se"])


def test_cox_cluster_fit_equals_lifelines_cluster_col_with_ties():
    """Clustered tasks, durations rounded to a tenth (heavy ties), censoring: coefficients,
    model SEs and the cluster sandwich equal lifelines' ``cluster_col`` fit (lifelines has
    no G/(G−1); ``small_sample=False`` drops ours)."""
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(11)
    n, g = 1500, 200
    cluster = rng.integers(0, g, n)
    frailty = rng.normal(0, 0.5, g)[cluster]
    X = pd.DataFrame(
        {
            "lead": rng.integers(0, 2, n).astype(float),
            "size": rng.normal(3, 2, n),
            "field": rng.integers(0, 3, n).astype(float),
        }
    )
    scale = np.exp(-(0.5 * X["lead"] - 0.2 * X["size"]).to_numpy() - frailty)
    T = np.ceil(10 * rng.exponential(scale)) / 10
    E = (rng.random(n) < 0.7).astype(float)
    assert len(np.unique(T)) < n / 5  # ties at most times
    ours = cox_cluster_fit(X, T, E, cluster, small_sample=False)
    ref = CoxPHFitter().fit(X.assign(T=T, E=E, c=cluster), "T", "E", cluster_col="c")
    np.testing.assert_allclose(ours["coef"], ref.params_[X.columns], rtol=1e-8)
    model_se = np.sqrt(np.diag(ref.variance_matrix_.loc[X.columns, X.columns]))
    np.testing.assert_allclose(ours["model_se"], model_se, rtol=1e-8)
    np.testing.assert_allclose(ours["cluster_se"], ref.standard_errors_[X.columns], rtol=1e-8)
    assert not np.allclose(ours["cluster_se"], ours["model_se"], rtol=1e-3)


def test_newcombe_hybrid_score_interval_published_example():
    lo, hi = newcombe_interval(56, 70, 48, 80)
    assert lo == pytest.approx(0.0524, abs=5e-5)
    assert hi == pytest.approx(0.3339, abs=5e-5)
    # Table II, example (b): 9/10 − 3/10
    assert newcombe_interval(9, 10, 3, 10) == pytest.approx((0.1705, 0.8090), abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (81, 263), (10, 10)])
def test_wilson_matches_statsmodels(k, n):
    from statsmodels.stats.proportion import proportion_confint

    assert wilson_interval(k, n, 0.9) == pytest.approx(
        proportion_confint(k, n, alpha=0.1, method="wilson"), abs=1e-12
    )


def test_unclustered_gap_is_the_newcombe_interval_of_the_pooled_counts(demo_results):
    t = demo_results["transfer_rate"].test("gap_unclustered")
    d = t.details
    lo, hi = newcombe_interval(
        d["transferred_lead"], d["achievements_lead"],
        d["transferred_comparison"], d["achievements_comparison"],
    )  # fmt: skip
    assert (t.ci_lower, t.ci_upper) == pytest.approx((lo, hi))
    assert t.estimate == pytest.approx(demo_results["transfer_rate"].test("gap").estimate)
    # treating achievements as independent understates the uncertainty of the clustered gap
    gap = demo_results["transfer_rate"].test("gap")
    assert t.ci_upper - t.ci_lower < gap.ci_upper - gap.ci_lower


def test_kaplan_meier_and_number_at_risk_by_hand():
    t = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    e = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    s = kaplan_meier(t, e)
    # S(1) = 4/5; at t = 2 one event among 4 at risk: 0.8·3/4; at t = 3 one among 2: 0.3
    assert s.loc[0.0] == 1.0
    assert s.loc[1.0] == pytest.approx(0.8)
    assert s.loc[2.0] == pytest.approx(0.6)
    assert s.loc[3.0] == pytest.approx(0.3)
    assert s.loc[5.0] == pytest.approx(0.3)
    np.testing.assert_array_equal(number_at_risk(t, np.array([0, 1, 2, 2.5, 4, 5, 6])),
                                  [5, 5, 4, 2, 1, 1, 0])  # fmt: skip


def test_holm_across_the_registry_by_hand(demo_results):
    tested = [c for c in demo_results.claims if c.p_value is not None]
    assert len(tested) == sum(c.verdict != "not_testable" for c in demo_results.claims)
    for c in tested:  # the claim's p: the largest over its testable primary tests
        primary = [t.p_support for t in c.tests
                   if t.role == "primary" and t.p_support is not None]
        assert c.p_value == max(primary)
    # Holm (1979) step-down by hand: sort, multiply by m − i, running maximum, cap at 1
    order = sorted(tested, key=lambda c: c.p_value)
    m, running = len(order), 0.0
    for i, c in enumerate(order):
        running = max(running, min(1.0, (m - i) * c.p_value))
        assert c.p_holm == pytest.approx(running)
    # not-testable claims carry no p-value and do not enlarge the family
    for c in demo_results.claims:
        if c.verdict == "not_testable":
            assert c.p_value is None and c.p_holm is None
    again = copy.deepcopy(demo_results.claims)
    adjust_across_registry(again)
    assert [c.p_holm for c in again] == [c.p_holm for c in demo_results.claims]
