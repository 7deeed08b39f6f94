"""CR2 with Bell–McCaffrey degrees of freedom (consortia.claims.cr2).

References: R clubSandwich 0.5.8 on a stored fixture (tests/reference/make_clubsandwich.R);
Welch's two-sample t test (scipy), which CR2/BM reproduces exactly with one observation per
cluster; a dense textbook implementation of the Imbens–Kolesár degrees of freedom
(eigenvalues of G′G); and coverage in simulations with a known difference.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from consortia.claims.cr2 import CR2Fit, CR2Tails
from consortia.claims.methods.levels import _cr2_contrasts


def dense_bm(X, y, clusters, c, w=None):
    """CR2 variance and Bell–McCaffrey df of c′β, written out with the n × G matrix G."""
    if w is not None:
        X, y = X * np.sqrt(w)[:, None], y * np.sqrt(w)
    K = np.linalg.inv(X.T @ X)
    b = K @ X.T @ y
    e = y - X @ b
    H = X @ K @ X.T
    columns, meat = [], np.zeros((X.shape[1],) * 2)
    for g in np.unique(clusters):
        rows = np.flatnonzero(clusters == g)
        vals, vecs = np.linalg.eigh(np.eye(len(rows)) - H[np.ix_(rows, rows)])
        A = vecs @ np.diag(vals**-0.5) @ vecs.T
        s = X[rows].T @ A @ e[rows]
        meat += np.outer(s, s)
        columns.append((np.eye(len(y)) - H)[:, rows] @ A @ X[rows] @ K @ c)
    G = np.column_stack(columns)
    lam = np.linalg.eigvalsh(G.T @ G)
    return float(c @ K @ meat @ K @ c), float(lam.sum() ** 2 / (lam**2).sum())


def clustered(n_clusters, seed, small_group=None, largest=8):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, largest + 1, n_clusters)
    cl = np.repeat(np.arange(n_clusters), sizes)
    group = (cl < (small_group or n_clusters // 2)).astype(float)
    x = rng.normal(size=cl.size)
    y = rng.normal(size=n_clusters)[cl] * 0.6 + rng.normal(size=cl.size)
    X = np.column_stack([1 - group, group, x])
    return X, y, cl


def test_one_observation_per_cluster_is_welchs_t_with_design_based_df():
    """HC2 on two group means is Welch's t statistic; the Bell–McCaffrey df is Satterthwaite's
    formula evaluated under the working model (equal variances): it depends on the design,
    not on the residuals (as clubSandwich's df_Satt for a model without weights)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 7), rng.normal(0.5, 3, 12)
    X = np.column_stack([np.r_[np.ones(7), np.zeros(12)], np.r_[np.zeros(7), np.ones(12)]])
    fit = CR2Fit(X, np.r_[a, b], np.arange(19))
    c = np.array([1.0, -1.0])
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert (c @ fit.beta) / fit.se(c) == pytest.approx(welch.statistic, rel=1e-10)
    n1, n2 = 7, 12
    satterthwaite = (1 / n1 + 1 / n2) ** 2 / (1 / (n1**2 * (n1 - 1)) + 1 / (n2**2 * (n2 - 1)))
    assert fit.df(c) == pytest.approx(satterthwaite, rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("largest", [8, 2])  # clusters larger / smaller than the k columns
def test_the_fast_degrees_of_freedom_equal_the_dense_formula(weighted, largest):
    X, y, cl = clustered(40, seed=2, small_group=4, largest=largest)
    w = np.random.default_rng(3).integers(1, 6, len(y)).astype(float) if weighted else None
    fit = CR2Fit(X, y, cl, weights=w)
    for c in (np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([1.0, -1.3, 0.2])):
        variance, df = dense_bm(X, y, cl, c, w)
        assert fit.se(c) ** 2 == pytest.approx(variance, rel=1e-9)
        assert fit.df(c) == pytest.approx(df, rel=1e-9)


def test_few_clusters_in_one_group_cover_where_cr1_does_not():
    """3 of 300 clusters in one group, a true difference of 0: CR2 with BM df covers about
    95%, CR1 with t(G − 1) far less (the module docstring's numbers)."""
    rng = np.random.default_rng(0)
    reps, n_clusters, few = 300, 300, 3
    covered_cr2 = covered_cr1 = 0
    c = np.array([1.0, -1.0])
    for _ in range(reps):
        cl = np.repeat(np.arange(n_clusters), rng.integers(2, 9, n_clusters))
        group = (cl < few).astype(float)
        y = rng.normal(size=n_clusters)[cl] * 0.5 + rng.normal(size=cl.size)
        X = np.column_stack([1 - group, group])
        fit = CR2Fit(X, y, cl)
        t = abs(c @ fit.beta) / fit.se(c)
        covered_cr2 += t < stats.t.ppf(0.975, fit.df(c))
        e = y - X @ fit.beta
        K = np.linalg.inv(X.T @ X)
        scores = np.column_stack([np.bincount(cl, weights=X[:, j] * e) for j in range(2)])
        n = len(y)
        v1 = n_clusters / (n_clusters - 1) * (n - 1) / (n - 2) * c @ K @ scores.T @ scores @ K @ c
        covered_cr1 += abs(c @ fit.beta) / math.sqrt(v1) < stats.t.ppf(0.975, n_clusters - 1)
    se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(covered_cr2 / reps - 0.95) < 3 * se + 0.01
    assert covered_cr1 / reps < 0.85


def test_a_ratio_interval_inverts_its_tests():
    X, y, cl = clustered(60, seed=4, small_group=8)
    X = X[:, :2]
    y = y + 3.0  # positive rates
    fit = CR2Fit(X, y, cl)
    ratio = fit.beta[1] / fit.beta[0]
    tails = CR2Tails(fit, ratio, lambda v: (np.array([-v, 1.0]), 0.0), spread=0.1, scale="log")
    lo, hi = tails.interval(0.90)
    assert lo < ratio < hi
    assert tails.p_above(lo) == pytest.approx(0.05, abs=1e-6)
    assert tails.p_below(hi) == pytest.approx(0.05, abs=1e-6)
    assert tails.p_above(ratio) == pytest.approx(0.5, abs=1e-9)


def best_level_contrasts(data, outcome, lead, control, cluster):
    """The best-level claim's OLS contrasts, enterprise against government and university:
    ``outcome`` on ``lead`` + ``control`` + year effects, clustered by ``cluster``."""
    spec = {
        "name": "best",
        "outcome": outcome,
        "regressors": [lead],
        "controls": [control],
        "estimator": "ols",
        "fixed_effects": ["year"],
        "cluster": [cluster],
        "reference_levels": {lead: "enterprise"},
    }
    terms = {level: f"{lead}[{level}]" for level in ("government", "university")}
    return _cr2_contrasts(spec, data, terms, "enterprise", 0.95).contrasts


@pytest.mark.slow
def test_best_level_contrasts_are_cr2_of_the_ols_fit_with_its_fixed_effects():
    """The best-level claim's OLS contrasts: the coefficients of OLS with year dummies
    (statsmodels), the CR2 variance and df of the dense formula on that design; with 5
    government-led consortia the df is far below G − 1."""
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(7)
    leads = ["enterprise"] * 50 + ["government"] * 5 + ["university"] * 35
    rows = []
    for i, lead in enumerate(leads):
        u = rng.normal(0, 0.1)
        for year in range(2018, 2018 + int(rng.integers(2, 7))):
            rows.append((f"C{i:02d}", year, lead, int(rng.integers(3, 15)), u))
    pan = pd.DataFrame(rows, columns=["consortium_id", "year", "lead_type", "n_members", "u"])
    pan["transfer_rate"] = (
        0.5
        + 0.05 * (pan["lead_type"] == "enterprise")
        + 0.01 * pan["n_members"]
        + pan["u"]
        + rng.normal(0, 0.1, len(pan))
    )
    contrasts = best_level_contrasts(
        pan, "transfer_rate", "lead_type", "n_members", "consortium_id"
    )
    ols = smf.ols(
        "transfer_rate ~ C(lead_type, Treatment('enterprise')) + n_members + C(year)", pan
    ).fit()
    X = ols.model.exog
    for contrast in contrasts:
        name = f"C(lead_type, Treatment('enterprise'))[T.{contrast.second}]"
        c = -(np.asarray(ols.model.exog_names) == name).astype(float)
        variance, df = dense_bm(
            X, pan["transfer_rate"].to_numpy(), pan["consortium_id"].to_numpy(), c
        )
        assert contrast.estimate == pytest.approx(-ols.params[name], rel=1e-9)
        assert contrast.std_error**2 == pytest.approx(variance, rel=1e-8)
        assert contrast.tails.df == pytest.approx(df, rel=1e-8)
    government = next(k for k in contrasts if k.second == "government")
    assert government.tails.df < 10 < len(leads) - 1


# --------------------------------------------------------------------------- R clubSandwich

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def club():
    fixture = pd.read_csv(REFERENCE / "cr2_fixture.csv")
    return fixture, json.loads((REFERENCE / "clubsandwich_cr2.json").read_text())


@pytest.mark.parametrize("case", ["two_groups", "two_groups_weighted"])
def test_group_contrasts_match_clubsandwich(club, case):
    """Estimates, CR2 SEs and Satterthwaite df of clubSandwich 0.5.8 (linear_contrast) on
    the stored fixture, 4 clusters in the smaller group: 1e-9 relative. Weighted: the
    sqrt(w)-scaled regression (tests/reference/make_clubsandwich.R)."""
    data, reference = club
    ref = reference[case]
    sub = data[data["lead"] != "government"]
    X = np.column_stack(
        [(sub["lead"] == lv).to_numpy(float) for lv in ("enterprise", "university")]
    )
    weights = sub["w"].to_numpy(float) if case.endswith("weighted") else None
    fit = CR2Fit(X, sub["y"].to_numpy(), sub["cluster"].to_numpy(), weights=weights)
    for c, estimate, se, df in zip(ref["contrasts"], ref["estimate"], ref["se"], ref["df"]):
        c = np.asarray(c, dtype=float)
        assert c @ fit.beta == pytest.approx(estimate, rel=1e-9)
        assert fit.se(c) == pytest.approx(se, rel=1e-9)
        assert fit.df(c) == pytest.approx(df, rel=1e-9)


def test_best_level_contrasts_match_clubsandwich(club):
    """The best-level claim's OLS (lead type + a covariate + year effects; 4 university-led
    and 10 government-led clusters) against clubSandwich's CR2 and Satterthwaite df."""
    data, reference = club
    ref = reference["best_level"]
    contrasts = best_level_contrasts(data, "y", "lead", "x", "cluster")
    for contrast, estimate, se, df in zip(contrasts, ref["estimate"], ref["se"], ref["df"]):
        assert contrast.estimate == pytest.approx(estimate, rel=1e-9)
        assert contrast.std_error == pytest.approx(se, rel=1e-9)
        assert contrast.tails.df == pytest.approx(df, rel=1e-9)


def test_a_ratio_over_a_group_without_variation_has_an_unbounded_interval_end():
    """The comparison group's consortia all have the same rate (found by the shape sweep:
    a ZeroDivisionError). Far from the estimate the normalised restriction leans on that
    group alone, whose CR2 variance is 0: the t-statistic is infinite there, the p-values
    are 0 or 1, and an interval end the tests cannot reach is infinite."""
    rng = np.random.default_rng(3)
    cl = np.repeat(np.arange(12), 3)
    group = (cl < 6).astype(float)
    X = np.column_stack([group, 1 - group])
    y = np.where(group == 1, 0.5 + rng.normal(0, 0.1, len(cl)), 0.2)
    fit = CR2Fit(X, y, cl)
    ratio = fit.beta[0] / fit.beta[1]
    tails = CR2Tails(fit, ratio, lambda v: (np.array([1.0, -v]), 0.0), spread=0.1, scale="log")
    lo, hi = tails.interval(0.95)
    assert 0 < lo < ratio < hi
    assert tails.p_above(lo) == pytest.approx(0.025, abs=1e-6)
    assert tails.p_below(1e12) < 1e-12 and tails.p_above(1e-12) < 1e-3
    # the comparison group's level alone: no variation at all, so an infinite t
    level = CR2Tails(fit, fit.beta[1], lambda v: (np.array([0.0, 1.0]), v), spread=0.1)
    assert fit.se(np.array([0.0, 1.0])) < 1e-15  # rounding
    assert level.p_above(0.1) == 0.0 and level.p_below(0.1) == 1.0
    assert level.p_above(0.3) == 1.0 and level.p_below(0.3) == 0.0
    far = CR2Tails(fit, ratio, lambda v: (np.array([1.0, -v]), 0.0), spread=50.0, scale="log")
    assert far.interval(0.95)[0] > 0  # a bracket beyond the largest float is no error


def test_rounding_is_judged_on_the_terms_of_the_contrast_only():
    """A covariate with a huge coefficient does not make a rate difference's real SE
    count as rounding; an infinite θ₀ has p-values 1 and 0 whatever the platform."""
    rng = np.random.default_rng(5)
    cl = np.repeat(np.arange(40), 3)
    group = (cl < 20).astype(float)
    big = rng.normal(0, 1, len(cl))
    X = np.column_stack([group, 1 - group, big])
    y = 0.3 * group + 0.2 * (1 - group) + 1e9 * big + rng.normal(0, 0.05, len(cl))
    fit = CR2Fit(X, y, cl)
    c = np.array([1.0, -1.0, 0.0])
    assert fit.varies(c) and 0 < fit.se(c) < 0.1
    tails = CR2Tails(fit, float(c @ fit.beta), lambda v: (c, v), spread=fit.se(c))
    assert 0 < tails.p_above(0.1) < 1 and math.isfinite(tails._t_and_df(0.1)[0])
    assert tails.p_above(math.inf) == 1.0 and tails.p_below(math.inf) == 0.0
    assert tails.p_above(-math.inf) == 0.0 and tails.p_below(-math.inf) == 1.0
