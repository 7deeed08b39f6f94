"""Power formulas against closed forms and an independent implementation (statsmodels)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from consortia.claims import power as pw

Z975, Z80, Z95, Z90 = (stats.norm.ppf(q) for q in (0.975, 0.80, 0.95, 0.90))


def test_mde_is_z_sum_times_se():
    assert pw.mde(0.02) == pytest.approx((Z975 + Z80) * 0.02)
    assert pw.mde(0.02) == pytest.approx(2.8016 * 0.02, rel=1e-4)
    assert pw.mde(1.0, alpha=0.01, power=0.9) == pytest.approx(
        stats.norm.ppf(0.995) + stats.norm.ppf(0.9)
    )


@pytest.mark.parametrize(
    ("sigma", "delta", "g"), [(0.3, 0.05, 300), (1.0, 0.2, 50), (0.45, 0.23, 1000)]
)
def test_clusters_needed_matches_closed_form(sigma, delta, g):
    """One-sample z test: n = ((z_{1-α/2} + z_{power}) σ / Δ)², whatever the current G."""
    se = sigma / math.sqrt(g)
    closed = math.ceil(((Z975 + Z80) * sigma / delta) ** 2)
    assert pw.clusters_needed(se, g, delta) == closed
    assert pw.clusters_needed(se, g, -delta) == closed  # distance is absolute
    # and the power at that size is at least the target, one consortium fewer is short
    assert pw.power_at(pw.se_at(se, g, closed), delta) >= 0.80
    assert pw.power_at(pw.se_at(se, g, closed - 1), delta) < 0.80


def test_clusters_needed_matches_statsmodels():
    from statsmodels.stats.power import NormalIndPower

    sigma, delta, g = 0.4, 0.1, 250
    n_sm = NormalIndPower().solve_power(
        effect_size=delta / sigma, alpha=0.05, power=0.8, ratio=0, alternative="two-sided"
    )
    assert pw.clusters_needed(sigma / math.sqrt(g), g, delta) == math.ceil(n_sm)


def test_equivalence_sample_size_closed_form():
    """TOST, truth at the centre of ±δ: n = ((z_{1-α} + z_{1-β/2}) σ / δ)²."""
    sigma, delta, g = 0.5, 0.05, 400
    closed = math.ceil(((Z95 + Z90) * sigma / delta) ** 2)
    assert pw.clusters_for_equivalence(sigma / math.sqrt(g), g, delta) == closed


def test_degenerate_inputs():
    assert pw.clusters_needed(0.1, 100, 0.0) is None
    assert pw.clusters_needed(math.nan, 100, 0.1) is None
    assert pw.clusters_for_equivalence(0.1, 100, 0.0) is None
    assert math.isnan(pw.mde(math.nan))
    assert pw.power_at(0.1, 0.0) == pytest.approx(0.05)  # size of the test


def test_driver_power_uses_the_estimated_se(true_results):
    # a band: consortia for the TOST to place the truth (the claimed value) inside ±0.05
    t = true_results["transfer_rate"].test("level")
    p = t.power
    assert p["clusters_needed_to_support"] == pw.clusters_for_equivalence(
        t.se, t.n_clusters, 0.05, 0.05, 0.8
    )
    # a one-sided 5% test is the two-sided formula at 10%
    assert p["mde"] == pytest.approx((Z95 + Z80) * t.se)
    # a threshold: distance from the estimate to the threshold, one-sided
    m = true_results["lead_decision_weight"].test("mean")
    dist = m.estimate - 0.60
    assert m.power["distance_to_edge"] == pytest.approx(dist)
    assert m.power["clusters_needed_to_support"] == pw.clusters_needed(
        m.se, m.n_clusters, dist, 0.10, 0.8
    )
    # ratio claims: power on the log scale
    r = true_results["breakthrough_speed"].test("time_ratio")
    assert r.power["mde_ratio"] == pytest.approx(math.exp((Z95 + Z80) * r.se))


@pytest.mark.parametrize(("estimate", "distance"), [(-0.03, 0.05), (-0.2, 0.2), (0.3, 0.3)])
def test_a_nonzero_claim_is_powered_at_the_larger_of_the_estimate_and_the_smallest_effect(
    estimate, distance
):
    """Either sign supports "nonzero": the design value is ±max(|estimate|, δ) whatever the
    estimate's sign, and the test is two-sided."""
    from consortia.claims.catalogue import Estimate
    from consortia.claims.driver import _power
    from consortia.claims.inference import WaldTails
    from consortia.claims.registry import TestSpec
    from consortia.claims.verdict import Claimed

    claimed = Claimed(kind="direction", direction="nonzero", min_effect=0.05)
    spec = TestSpec(name="t", role="primary", estimand="e", claimed=claimed, rival=0.0)
    e = Estimate(
        estimate=estimate,
        ci=(0, 0),
        ci_one_sided=None,
        tails=WaldTails(estimate, 0.02),
        se=0.02,
        n_obs=200,
        n_clusters=200,
        method="m",
    )
    p = _power(spec, e, alpha=0.05, power=0.8)
    assert p["distance_to_edge"] == pytest.approx(distance)
    assert p["clusters_needed_to_support"] == pw.clusters_needed(0.02, 200, distance, 0.05, 0.8)


def test_a_log_scale_effect_beyond_any_float_ratio_is_unbounded():
    """A ratio estimated with an enormous SE on the log scale (found by the shape sweep:
    math.exp overflowed): no smallest detectable ratio (empty, as in claims.csv), not an
    error."""
    from consortia.claims.catalogue import Estimate
    from consortia.claims.driver import _power
    from consortia.claims.inference import WaldTails
    from consortia.claims.registry import TestSpec
    from consortia.claims.verdict import Claimed

    claimed = Claimed(kind="direction", direction="positive", min_effect=0.1)
    spec = TestSpec(name="t", role="primary", estimand="e", claimed=claimed, rival=0.0)
    e = Estimate(estimate=0.2, ci=(0, 0), ci_one_sided=None, tails=WaldTails(0.2, 400.0),
                 se=400.0, n_obs=9, n_clusters=9, method="m", scale="log")  # fmt: skip
    p = _power(spec, e, alpha=0.05, power=0.8)
    assert p["mde"] > 709 and p["mde_ratio"] is None
