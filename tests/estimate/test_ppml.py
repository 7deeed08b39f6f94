"""PPML with fixed effects: recovery of a simulated truth, and agreement with
statsmodels GLM(Poisson) with explicit dummies (coefficients 1e-6 relative;
cluster-robust CR0 covariance 1e-6 relative; our CR1 = CR0 × G/(G−1)(N−1)/(N−K)
with K = k + non-nested FE, checked in closed form)."""

import numpy as np
import pandas as pd
import pytest

from consortia.estimate import fit


def _poisson_panel(n=300, T=6, beta=0.5, seed=1):
    rng = np.random.default_rng(seed)
    i = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(T), n)
    a = rng.normal(0, 0.7, n)
    x = rng.normal(size=n * T) + 0.5 * a[i]
    lam = np.linspace(0, 0.5, T)
    mu = np.exp(1.5 + beta * x + a[i] + lam[t])
    y = rng.poisson(mu * rng.gamma(2.0, 0.5, n * T))  # overdispersed: PML still consistent
    return pd.DataFrame({"consortium_id": i, "year": 2015 + t, "x": x, "patents": y.astype(float)})


def test_ppml_recovers_truth():
    df = _poisson_panel()
    res = fit({"name": "p", "outcome": "patents", "regressors": ["x"], "estimator": "ppml"}, df)
    assert abs(res.params["x"] - 0.5) < 4 * res.std_errors["x"]
    assert res.std_errors["x"] < 0.05
    assert res.stat_kind == "z" and res.df_inference is None


def test_ppml_agrees_with_glm_dummies():
    import statsmodels.api as sm

    df = _poisson_panel(n=30, T=5, seed=2)
    spec = {
        "name": "p",
        "outcome": "patents",
        "regressors": ["x"],
        "estimator": "ppml",
        "vcov": "CR0",
    }
    res = fit(spec, df)
    assert res.sample_report["n_dropped_all_zero_fe"] == 0 and res.nobs == len(df)
    D = pd.get_dummies(df[["consortium_id", "year"]].astype(str), drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([df[["x"]], D], axis=1))
    glm = sm.GLM(df.patents, X, family=sm.families.Poisson()).fit(
        cov_type="cluster",
        cov_kwds={"groups": df.consortium_id.to_numpy(), "use_correction": False},
        tol=1e-12,
    )
    assert res.params["x"] == pytest.approx(glm.params["x"], rel=1e-6)
    assert res.std_errors["x"] == pytest.approx(glm.bse["x"], rel=1e-6)
    # default CR1: year FE (T levels) not nested in the consortium clusters count in K
    res1 = fit(dict(spec, vcov=None), df)
    N, G, T = len(df), 30, 5
    factor = G / (G - 1) * (N - 1) / (N - (1 + T))
    assert res1.std_errors["x"] == pytest.approx(glm.bse["x"] * np.sqrt(factor), rel=1e-6)


def test_ppml_drops_all_zero_groups_and_reports():
    df = _poisson_panel(n=40, T=5, seed=3)
    df.loc[df.consortium_id == 0, "patents"] = 0.0
    res = fit({"name": "p", "outcome": "patents", "regressors": ["x"], "estimator": "ppml"}, df)
    n_zero = int((df.groupby("consortium_id").patents.sum() == 0).sum()) * 5
    assert n_zero >= 5
    assert res.sample_report["n_dropped_all_zero_fe"] == n_zero
    assert res.nobs == len(df) - n_zero
    assert any("all-zero outcome" in n for n in res.notes)
