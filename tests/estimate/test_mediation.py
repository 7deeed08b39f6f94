"""Mediation (structure → conduct → performance) with the vectorised cluster bootstrap.

* the vectorised replicates (cross-products, no refitting) equal those of the
  slow reference that rebuilds and refits both regressions on every resampled
  data set, for the same draws, to 1e-10 — with consortium FE (demeaned),
  pooled OLS with year dummies, clusters coarser than the FE, and replicates
  in which a year is missing (singular design);
* a, b, c′, the total effect and their SEs equal the package's own fits
  (``fit``, pyfixest) of the two equations — tolerance 1e-6 relative (pyfixest's
  iterative two-way demeaning);
* Sobel agrees with the delta-method formula computed by hand from those fits;
* recovery: on a simulated linear chain with known a·b the 95% intervals cover
  the truth in 100 seeded replications with a frequency inside the 99.9%
  binomial band around 0.95 ([0.87, 1.00]);
* determinism under the seed; JSON round trip; config entry; errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from consortia.estimate import SpecError, fit
from consortia.estimate.mediation import bootstrap_draws, mediation, mediation_from_dict
from consortia.estimate.mediation_refit import mediation_refit
from consortia.estimate.mediation_result import QUANTITIES, MediationResult

A, B, C = 0.5, 0.4, 0.2


def chain_panel(
    n: int = 120,
    T: int = 6,
    seed: int = 0,
    a: float = A,
    b: float = B,
    c: float = C,
    rare_year: bool = False,
) -> pd.DataFrame:
    """X → M → Y with consortium effects correlated with X, year effects, controls.

    ``rare_year`` adds a year observed in three consortia only, so that some
    bootstrap replicates do not contain it (its dummy is then all zero).
    """
    rng = np.random.default_rng(seed)
    i = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(T), n)
    alpha = rng.normal(size=n)[i]
    lam = rng.normal(0, 0.3, T)[t]
    N = n * T
    x = 0.5 * alpha + rng.normal(size=N)
    ctrl = rng.normal(size=N)
    phase = rng.choice(["early", "late", "mid"], size=N)
    m = a * x + 0.3 * ctrl + alpha + lam + 0.2 * (phase == "late") + rng.normal(size=N)
    y = c * x + b * m - 0.2 * ctrl + alpha + lam + rng.normal(size=N)
    d = pd.DataFrame(
        {
            "consortium_id": [f"C{k:04d}" for k in i],
            "year": 2010 + t,
            "industry": [f"I{k % 6}" for k in i],
            "lead_type": np.array(["enterprise", "university", "government"])[i % 3],
            "x": x,
            "m": m,
            "y": y,
            "ctrl": ctrl,
            "phase": phase,
        }
    )
    if rare_year:
        extra = d[d.year == 2010].iloc[:3].copy()
        extra["year"] = 2030
        d = pd.concat([d, extra], ignore_index=True)
    return d


CONFIGS = {
    "twfe": {"controls": ["ctrl", "phase"], "fixed_effects": ["consortium_id", "year"]},
    "pooled": {"controls": ["ctrl", "phase", "lead_type"], "fixed_effects": ["year"]},
    "industry_clusters": {
        "controls": ["ctrl"],
        "fixed_effects": ["consortium_id", "year"],
        "cluster": "industry",
    },
    "no_effects": {"controls": ["ctrl"], "fixed_effects": []},
}


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return chain_panel()


def _max_diff(r1: MediationResult, r2: MediationResult) -> float:
    return max(
        float(np.max(np.abs(np.asarray(r1.replicates[q]) - np.asarray(r2.replicates[q]))))
        for q in QUANTITIES
    )


@pytest.mark.slow
@pytest.mark.parametrize("config", list(CONFIGS))
def test_vectorised_replicates_equal_refit(panel, config):
    kw = dict(CONFIGS[config], n_boot=40, seed=11)
    fast = mediation(panel, "x", "m", "y", **kw)
    slow = mediation_refit(panel, "x", "m", "y", **kw)
    assert fast.method == "vectorised" and slow.method == "refit"
    assert _max_diff(fast, slow) < 1e-10
    for q in QUANTITIES:  # hence also the same intervals (BCa: same jackknife)
        assert fast.ci_percentile[q] == pytest.approx(slow.ci_percentile[q], abs=1e-10)
        assert fast.ci_bca[q] == pytest.approx(slow.ci_bca[q], abs=1e-10)
        assert fast.estimates[q] == pytest.approx(slow.estimates[q], abs=1e-12)


def test_replicates_without_a_year_still_equal_refit():
    d = chain_panel(n=60, T=4, seed=4, rare_year=True)
    kw = {"controls": ["ctrl"], "fixed_effects": ["consortium_id", "year"], "n_boot": 60, "seed": 2}
    fast = mediation(d, "x", "m", "y", **kw)
    slow = mediation_refit(d, "x", "m", "y", **kw)
    assert fast.n_degenerate > 0  # some replicates lack year 2030: singular cross-product
    assert any("singular" in n for n in fast.notes)
    assert _max_diff(fast, slow) < 1e-10


def test_singular_jackknife_samples_equal_refit():
    """A year observed in two consortia, and a control equal to its dummy but for one of
    them: leaving that consortium out makes the jackknife cross-product singular with
    every column non-zero (the case the cheap certificate of non-singularity must leave
    to the eigenvalue check); the jackknife, hence BCa, still equals the refit's."""
    d = chain_panel(n=60, T=4, seed=4).assign(flag=0.0)
    rare = d[d.year == 2010].iloc[:2].assign(year=2030)
    rare.loc[rare.index[0], "flag"] = 1.0
    d = pd.concat([d, rare], ignore_index=True)
    kw = {"controls": ["ctrl", "flag"], "fixed_effects": ["year"], "n_boot": 30, "seed": 5}
    fast = mediation(d, "x", "m", "y", **kw)
    slow = mediation_refit(d, "x", "m", "y", **kw)
    for q in QUANTITIES:
        assert fast.bca[q]["acceleration"] == pytest.approx(
            slow.bca[q]["acceleration"], rel=1e-9, abs=1e-12
        )
        assert fast.ci_bca[q] == pytest.approx(slow.ci_bca[q], abs=1e-10)


def test_jackknife_certificate_flags_exactly_what_it_must():
    """The bound that lets the jackknife skip eigenvalue checks: it must flag the
    consortium whose removal makes the design singular (above), and every cluster it
    does not flag must pass the check it skips."""
    import importlib

    from consortia.estimate.mediation_sample import prepare_sample

    med = importlib.import_module("consortia.estimate.mediation")
    d = chain_panel(n=60, T=4, seed=4).assign(flag=0.0)
    rare = d[d.year == 2010].iloc[:2].assign(year=2030)
    rare.loc[rare.index[0], "flag"] = 1.0
    d = pd.concat([d, rare], ignore_index=True)
    P = prepare_sample(
        d, "x", "m", "y", ["ctrl", "flag"], ["year"], "consortium_id", "consortium_id",
        "year", None, None, None, "t",
    )  # fmt: skip
    G = len(P.cluster_labels)
    C, iu = med._cluster_crossproducts(P.Z, P.cluster_codes, G)
    pos = med._positions(iu, P.Z.shape[1])
    suspects = med._jackknife_suspects(C, C.sum(axis=0), pos, P.reg_b)
    loo = C.sum(axis=0)[None, :] - C
    _, singular = med._batched_ols(loo, pos, P.reg_b, P.idx_y)  # every cluster checked
    culprit = list(P.cluster_labels).index(str(rare["consortium_id"].iloc[1]))
    assert singular[culprit] and suspects[culprit]
    assert not singular[~suspects].any()
    assert suspects.sum() < G  # the bound is not vacuous


def test_paths_and_ses_equal_the_package_fits(panel):
    controls = ["ctrl", "phase"]
    for fe, est in ((["consortium_id", "year"], "twfe"), (["year"], "ols")):
        res = mediation(
            panel, "x", "m", "y", controls=controls, fixed_effects=fe, n_boot=20, seed=1, bca=False
        )
        base = {"controls": controls, "estimator": est, "fixed_effects": fe}
        fa = fit(dict(base, name="a", outcome="m", regressors=["x"]), panel)
        fb = fit(dict(base, name="b", outcome="y", regressors=["x", "m"]), panel)
        ft = fit(dict(base, name="t", outcome="y", regressors=["x"]), panel)
        pairs = [
            ("a", fa, "x"),
            ("b", fb, "m"),
            ("direct", fb, "x"),
            ("total", ft, "x"),
        ]
        for q, f, term in pairs:
            assert res.estimates[q] == pytest.approx(f.params[term], rel=1e-6), (est, q)
            assert res.std_errors[q] == pytest.approx(f.std_errors[term], rel=1e-6), (est, q)
            assert res.conf_int[q] == pytest.approx(f.conf_int[term], rel=1e-6), (est, q)
        assert res.nobs == fa.nobs and res.n_clusters == fa.n_clusters["consortium_id"]
        assert res.small_sample == fa.small_sample and res.clustering == fa.clustering
        # the OLS identity: total = c′ + a·b, in the estimate and in every replicate
        assert res.estimates["total"] == pytest.approx(
            res.estimates["direct"] + res.estimates["indirect"], abs=1e-12
        )
        rep = res.replicate_frame()
        np.testing.assert_allclose(rep["total"], rep["direct"] + rep["a"] * rep["b"], atol=1e-12)


def test_sobel_is_the_delta_method_by_hand(panel):
    res = mediation(panel, "x", "m", "y", controls=["ctrl"], n_boot=20, seed=3, bca=False)
    fa = fit({"name": "a", "outcome": "m", "regressors": ["x"], "controls": ["ctrl"]}, panel)
    fb = fit({"name": "b", "outcome": "y", "regressors": ["x", "m"], "controls": ["ctrl"]}, panel)
    a, se_a = fa.params["x"], fa.std_errors["x"]
    b, se_b = fb.params["m"], fb.std_errors["m"]
    se = math.sqrt(b**2 * se_a**2 + a**2 * se_b**2)
    z = a * b / se
    assert res.sobel["se"] == pytest.approx(se, rel=1e-6)
    assert res.sobel["z"] == pytest.approx(z, rel=1e-6)
    assert res.sobel["p"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-5)
    assert res.std_errors["indirect"] == res.sobel["se"]
    q = stats.norm.ppf(0.975)
    assert res.conf_int["indirect"] == pytest.approx([a * b - q * se, a * b + q * se], rel=1e-6)
    # the covariance-aware delta SE differs from Sobel only through cov(â, b̂)
    with_cov = math.sqrt(se**2 + 2 * a * b * res.cov_ab)
    assert res.sobel["delta_se_with_cov"] == pytest.approx(with_cov, rel=1e-12)


def test_determinism_under_the_seed(panel):
    kw = {"controls": ["ctrl"], "n_boot": 50, "seed": 123}
    r1 = mediation(panel, "x", "m", "y", **kw)
    r2 = mediation(panel, "x", "m", "y", **kw)
    assert r1.replicates == r2.replicates
    assert r1.ci_percentile == r2.ci_percentile and r1.ci_bca == r2.ci_bca
    r3 = mediation(panel, "x", "m", "y", **dict(kw, seed=124))
    assert r3.replicates["indirect"] != r1.replicates["indirect"]
    # processing the replicates in blocks of 7 changes nothing but rounding
    r4 = mediation(panel, "x", "m", "y", **kw, chunk_size=7)
    assert _max_diff(r1, r4) < 1e-12
    # the documented draws: replicate r is rng.integers(0, G, size=G) from default_rng(seed)
    rng = np.random.default_rng(123)
    G = r1.n_clusters
    for draw in bootstrap_draws(123, G, 3):
        np.testing.assert_array_equal(draw, rng.integers(0, G, size=G))


def _band(reps: int, p: float = 0.95, level: float = 0.999) -> tuple[float, float]:
    lo, hi = stats.binom.interval(level, reps, p)
    return lo / reps, hi / reps


@pytest.mark.slow
def test_recovery_of_a_known_indirect_effect():
    """100 seeded simulated panels: the 95% percentile and BCa intervals of a·b cover
    the truth A·B with a frequency inside the 99.9% binomial band around 0.95."""
    reps = 100
    cover_pct, cover_bca, errors = [], [], []
    for r in range(reps):
        d = chain_panel(n=80, T=5, seed=5000 + r)
        res = mediation(d, "x", "m", "y", controls=["ctrl"], n_boot=199, seed=r)
        lo, hi = res.ci_percentile["indirect"]
        cover_pct.append(lo <= A * B <= hi)
        lo, hi = res.ci_bca["indirect"]
        cover_bca.append(lo <= A * B <= hi)
        errors.append(res.estimates["indirect"] - A * B)
    lo, hi = _band(reps)
    assert lo <= np.mean(cover_pct) <= hi, np.mean(cover_pct)
    assert lo <= np.mean(cover_bca) <= hi, np.mean(cover_bca)
    assert abs(np.mean(errors)) < 0.01  # no visible bias (SE of the mean ≈ 0.002)


def test_speed_vectorised_versus_refit():
    """300 consortia × 8 years: 999 replicates in well under a few seconds, and much
    faster than refitting (the full benchmark lives outside the test suite)."""
    d = chain_panel(n=300, T=8, seed=9)
    fast = mediation(d, "x", "m", "y", controls=["ctrl"], n_boot=999, seed=1)
    assert fast.timings["total_seconds"] < 10
    slow = mediation_refit(d, "x", "m", "y", controls=["ctrl"], n_boot=30, seed=1, bca=False)
    per_fast = fast.timings["bootstrap_seconds"] / 999
    per_slow = slow.timings["bootstrap_seconds"] / 30
    assert per_slow > 5 * per_fast, (per_slow, per_fast)


def test_json_round_trip(panel, tmp_path):
    res = mediation(panel, "x", "m", "y", controls=["ctrl"], n_boot=30, seed=8, name="chain")
    path = tmp_path / "med.json"
    res.to_json(path)
    back = MediationResult.from_json(path)
    assert back.to_dict() == res.to_dict()
    assert back.replicate_frame().equals(res.replicate_frame())
    light = MediationResult.from_json(res.to_json(include_replicates=False))
    assert light.replicates is None and light.ci_bca == res.ci_bca
    frame = res.to_frame()
    assert list(frame["quantity"]) == list(QUANTITIES)
    assert (
        frame.set_index("quantity").loc["indirect", "pct_lower"] == res.ci_percentile["indirect"][0]
    )


def test_config_entry(panel):
    entry = {
        "name": "x_m_y",
        "treatment": "x",
        "mediator": "m",
        "outcome": "y",
        "controls": "ctrl",
        "fixed_effects": ["consortium_id", "year"],
        "n_boot": 25,
        "seed": 5,
        "sample": "year >= 2011",
    }
    res = mediation_from_dict(entry, panel)
    direct = mediation(
        panel,
        "x",
        "m",
        "y",
        controls=["ctrl"],
        n_boot=25,
        seed=5,
        sample="year >= 2011",
        name="x_m_y",
    )
    assert res.replicates == direct.replicates and res.name == "x_m_y"
    assert res.sample_report["n_dropped_sample_filter"] == 120
    with pytest.raises(SpecError, match="unknown key"):
        mediation_from_dict(dict(entry, bootstrap=9), panel)
    with pytest.raises(SpecError, match="'seed' is required"):
        mediation_from_dict({k: v for k, v in entry.items() if k != "seed"}, panel)


def test_errors(panel):
    with pytest.raises(SpecError, match="three different"):
        mediation(panel, "x", "x", "y", seed=1)
    with pytest.raises(SpecError, match="numeric"):
        mediation(panel, "phase", "m", "y", seed=1)
    with pytest.raises(ValueError, match="n_boot"):
        mediation(panel, "x", "m", "y", seed=1, n_boot=1)
    with pytest.raises(TypeError, match="seed"):
        mediation(panel, "x", "m", "y", seed=None)
    with pytest.raises(TypeError):
        mediation(panel, "x", "m", "y")  # the seed is required
    with pytest.raises(SpecError, match="not in the data"):
        mediation(panel, "x", "m", "nope", seed=1)
    with pytest.raises(SpecError, match="no variation"):
        mediation(panel.assign(x=1.0), "x", "m", "y", seed=1, fixed_effects=["year"])


def test_entity_effects_must_nest_in_the_clusters():
    d = chain_panel(n=600, T=2, seed=1)
    with pytest.raises(SpecError, match="not nested"):
        mediation(d, "x", "m", "y", seed=1, cluster="year")
