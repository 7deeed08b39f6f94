"""Fractional logit (Papke–Wooldridge 1996 QMLE).

The Papke–Wooldridge (1996) 401(k) plan data (4,734 plans) are not available
offline; the references are instead:
* R ``glm(quasibinomial(logit))`` + ``sandwich::vcovCL`` on Wooldridge's 401K
  data (1,534 plans; clusters = plan age, illustrative) — r_reference.json,
  tolerance 1e-6 relative (coefficients 1e-7);
* a closed form: with one binary regressor the model is saturated, so
  b0 = logit(ȳ₀), b1 = logit(ȳ₁) − logit(ȳ₀) and the AME is ȳ₁ − ȳ₀, whose
  cluster-robust (CR0) delta-method variance equals that of the difference
  in means (1e-10);
* statsmodels ``Logit.get_margeff`` for the AMEs and GLM ``cov_type="cluster"``
  for the CR1 covariance (1e-6);
* recovery of a simulated truth with N = 40,000 (within 4 SE).
"""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from consortia.estimate import fit

K = {
    "name": "k401",
    "outcome": "rate",
    "regressors": ["mrate"],
    "controls": ["ltotemp", "age", "sole"],
    "estimator": "fraclogit",
    "fixed_effects": [],
    "cluster": ["age"],
}


def test_fraclogit_matches_r_glm_sandwich(k401, r_reference):
    ref = r_reference["fraclogit_401k"]
    res = fit(K, k401)
    assert res.terms == ["(Intercept)", "mrate", "ltotemp", "age", "sole"] == ref["terms"]
    np.testing.assert_allclose(res.params_series.to_numpy(), ref["coef"], rtol=1e-7)
    np.testing.assert_allclose(res.se_series.to_numpy(), ref["se_cluster_hc1"], rtol=1e-6)
    assert res.n_clusters == {"age": ref["n_clusters"]}
    assert res.stat_kind == "z"
    # Stata fracreg's convention G/(G−1) only = sandwich's HC0 with cadjust
    res_g = fit(dict(K, vcov={"small_sample": "CR1-G"}), k401)
    np.testing.assert_allclose(res_g.se_series.to_numpy(), ref["se_cluster_hc0"], rtol=1e-6)


def test_fraclogit_cov_equals_statsmodels_cluster_and_ame_margeff(k401):
    import statsmodels.api as sm

    res = fit(K, k401)
    X = sm.add_constant(k401[["mrate", "ltotemp", "age", "sole"]])
    g = pd.factorize(k401["age"])[0]
    glm = sm.GLM(k401["rate"], X, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": g, "use_correction": True}, tol=1e-12
    )
    np.testing.assert_allclose(res.vcov_frame.to_numpy(), glm.cov_params().to_numpy(), rtol=1e-6)
    # AMEs: statsmodels' discrete Logit on the fractional outcome, same cluster covariance
    lg = sm.Logit(k401["rate"], X).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": g, "use_correction": True}
    )
    me = lg.get_margeff(at="overall", method="dydx", dummy=True)
    ours = res.marginal_effects
    for j, name in enumerate(["mrate", "ltotemp", "age", "sole"]):
        assert ours[name]["estimate"] == pytest.approx(me.margeff[j], rel=1e-6)
        assert ours[name]["std_error"] == pytest.approx(me.margeff_se[j], rel=1e-5)
    assert ours["sole"]["kind"].startswith("discrete")
    frame = res.to_frame()
    assert set(frame.quantity) == {"coef", "ame"}


def _saturated(seed=0, G=80, m=6):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), m)
    d = (rng.random(G * m) < 0.4).astype(float)
    u = rng.normal(0, 0.5, G)[g]
    y = expit(-0.3 + 0.7 * d + u + rng.normal(0, 0.5, G * m))
    y[rng.random(G * m) < 0.05] = 0.0  # corners are allowed
    y[rng.random(G * m) < 0.05] = 1.0
    return pd.DataFrame({"y": y, "d": d, "g": g})


def test_fraclogit_closed_form_saturated():
    df = _saturated()
    res = fit(
        {
            "name": "sat",
            "outcome": "y",
            "regressors": ["d"],
            "estimator": "fraclogit",
            "fixed_effects": [],
            "cluster": ["g"],
            "vcov": "CR0",
        },
        df,
    )
    y0, y1 = df.y[df.d == 0].mean(), df.y[df.d == 1].mean()
    assert res.params["(Intercept)"] == pytest.approx(logit(y0), abs=1e-9)
    assert res.params["d"] == pytest.approx(logit(y1) - logit(y0), abs=1e-9)
    ame = res.marginal_effects["d"]
    assert ame["estimate"] == pytest.approx(y1 - y0, abs=1e-10)
    # CR0 variance of a difference in means: cluster sums of the influence functions
    n0, n1 = (df.d == 0).sum(), (df.d == 1).sum()
    psi = np.where(df.d == 1, (df.y - y1) / n1, -(df.y - y0) / n0)
    s = pd.Series(psi).groupby(df.g).sum()
    assert ame["std_error"] == pytest.approx(np.sqrt((s**2).sum()), rel=1e-8)


def test_fraclogit_recovers_simulated_truth():
    rng = np.random.default_rng(42)
    n = 40_000
    x1, x2 = rng.normal(size=n), (rng.random(n) < 0.5).astype(float)
    beta = np.array([0.2, 0.8, -0.5])
    mu = expit(beta[0] + beta[1] * x1 + beta[2] * x2)
    y = rng.beta(mu * 5, (1 - mu) * 5)
    df = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "id": np.arange(n) // 4})
    res = fit(
        {
            "name": "sim",
            "outcome": "y",
            "regressors": ["x1", "x2"],
            "estimator": "fraclogit",
            "fixed_effects": [],
            "cluster": ["id"],
        },
        df,
    )
    z = (res.params_series.to_numpy() - beta) / res.se_series.to_numpy()
    assert np.all(np.abs(z) < 4), z
    # true AME of x1: E[λ(x'β)]·β1
    true_ame = np.mean(mu * (1 - mu)) * beta[1]
    assert res.marginal_effects["x1"]["estimate"] == pytest.approx(
        true_ame, abs=4 * res.marginal_effects["x1"]["std_error"]
    )


def test_fraclogit_rejects_outcome_outside_unit_interval(k401):
    from consortia.estimate import SpecError

    with pytest.raises(SpecError, match=r"\[0, 1\]"):
        fit(dict(K, outcome="prate"), k401)


def test_irls_equals_statsmodels_glm(k401):
    """The package's IRLS (normal equations) against statsmodels ``GLM(Binomial)`` IRLS
    (SVD least squares), on the 401(k) data and a simulated design with dummies."""
    import statsmodels.api as sm

    from consortia.estimate.fractional import fractional_logit_irls

    rng = np.random.default_rng(7)
    n = 5_000
    z = rng.normal(size=(n, 2))
    level = rng.integers(0, 3, n)
    X_sim = np.column_stack([np.ones(n), z, level == 1, level == 2]).astype(float)
    y_sim = np.clip(expit(X_sim @ [0.2, 0.5, -1.0, 0.4, -0.3] + rng.normal(0, 0.5, n)), 0, 1)
    y_sim[:200] = 0.0  # boundary values, as transfer rates have
    X_401 = sm.add_constant(k401[["mrate", "ltotemp", "age", "sole"]]).to_numpy(dtype=float)
    for y, X in ((k401["rate"].to_numpy(dtype=float), X_401), (y_sim, X_sim)):
        glm = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
        beta, converged, _ = fractional_logit_irls(y, X)
        assert converged and glm.converged
        np.testing.assert_allclose(beta, glm.params, rtol=1e-10, atol=1e-12)


def test_ame_of_a_categorical_equals_brute_force_counterfactuals():
    """AMEs of a three-level categorical (each level against the reference, the other
    level's dummy 0 in both counterfactuals) and of a continuous regressor, against the
    explicit counterfactual predictions and numerical gradients of the delta method."""
    from consortia.estimate.fractional import average_marginal_effects

    rng = np.random.default_rng(3)
    n = 2_000
    level = rng.integers(0, 3, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n), level == 1, level == 2]).astype(float)
    names = ["const", "x", "c__b", "c__c"]
    beta = np.array([0.1, 0.7, -0.5, 0.9])
    A = rng.normal(size=(4, 4))
    V = A @ A.T * 1e-3
    got = average_marginal_effects(
        beta, V, X, names, skip={"const"}, siblings={"c__b": ["c__c"], "c__c": ["c__b"]}
    )

    def ame(b, j):
        if j == 1:
            return np.mean(expit(X @ b) * (1 - expit(X @ b))) * b[1]
        X1, X0 = X.copy(), X.copy()
        X1[:, 2:], X0[:, 2:] = 0.0, 0.0
        X1[:, j] = 1.0
        return np.mean(expit(X1 @ b) - expit(X0 @ b))

    for j, name in ((1, "x"), (2, "c__b"), (3, "c__c")):
        grad = np.array([(ame(beta + h, j) - ame(beta - h, j)) / 2e-6 for h in np.eye(4) * 1e-6])
        assert got[name]["estimate"] == pytest.approx(ame(beta, j), rel=1e-12)
        assert got[name]["std_error"] == pytest.approx(np.sqrt(grad @ V @ grad), rel=1e-6)
