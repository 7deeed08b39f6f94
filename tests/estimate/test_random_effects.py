"""The package's own random-effects GLS (numpy on group sums) against linearmodels.

linearmodels ``RandomEffects`` (Swamy–Arora) is the reference: the same coefficients,
variance components, θ, R², classical and CR1-clustered covariances to ~1e-10, on
Grunfeld (balanced) and on a simulated unbalanced panel with year dummies and a
time-invariant categorical regressor; and the inputs of the Hausman test against
linearmodels ``PanelOLS`` (entity effects, classical covariance).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS, RandomEffects

from conftest import simulate_panel
from consortia.estimate import ModelSpec, build_design, fit
from consortia.estimate.algebra import drop_collinear_columns
from consortia.estimate.random_effects import run_random_effects

GRUNFELD = {"name": "g", "outcome": "invest", "regressors": ["value", "capital"],
            "entity": "firm", "time": "year", "cluster": ["firm"], "fixed_effects": [],
            "estimator": "re"}  # fmt: skip
SIMULATED = {"name": "s", "outcome": "rd_per_member", "estimator": "re",
             "regressors": ["type_diversity", "lead_type", "n_members"],
             "fixed_effects": ["year"],
             "reference_levels": {"lead_type": "enterprise"}}  # fmt: skip


@pytest.fixture(scope="module")
def unbalanced() -> pd.DataFrame:
    return simulate_panel(n=80, T=7, seed=5, unbalanced=True)


def _linearmodels(design):
    idx = pd.MultiIndex.from_arrays([design.frame["_entity"], design.frame["_time"]])
    exog = pd.DataFrame(design.X.to_numpy(), index=idx, columns=design.X.columns)
    exog.insert(0, "const", 1.0)
    model = RandomEffects(pd.Series(design.y.to_numpy(), index=idx), exog)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clustered = model.fit(cov_type="clustered", cluster_entity=True, debiased=True,
                              group_debias=True)  # fmt: skip
        classical = model.fit(cov_type="unadjusted")
    return clustered, classical, idx


@pytest.mark.parametrize("which", ["grunfeld", "unbalanced"])
def test_random_effects_equals_linearmodels(which, grunfeld, unbalanced):
    spec, data = (GRUNFELD, grunfeld) if which == "grunfeld" else (SIMULATED, unbalanced)
    design = build_design(ModelSpec.from_dict(spec), data)
    ours = run_random_effects(design, design.X)
    clustered, classical, _ = _linearmodels(design)
    ref = clustered.params[ours.names].to_numpy()
    np.testing.assert_allclose(ours.params, ref, rtol=1e-10, atol=1e-12)
    vd = clustered.variance_decomposition
    assert ours.sigma2_effects == pytest.approx(vd["Effects"], rel=1e-10)
    assert ours.sigma2_residual == pytest.approx(vd["Residual"], rel=1e-10)
    assert ours.rho == pytest.approx(vd["Percent due to Effects"], rel=1e-10)
    theta = clustered.theta.iloc[:, 0].to_numpy()  # one per entity, entity codes in order
    np.testing.assert_allclose(ours.theta, theta, rtol=1e-10)
    for ours_r2, ref_r2 in (("within", "rsquared_within"), ("between", "rsquared_between"),
                            ("overall", "rsquared_overall")):  # fmt: skip
        assert ours.r2[ours_r2] == pytest.approx(getattr(clustered, ref_r2), rel=1e-9)
    # classical covariance, and the CR1-clustered one the fit reports (linearmodels'
    # debiased + group_debias is G/(G−1)·(N−1)/(N−K))
    np.testing.assert_allclose(
        ours.cov_classical, classical.cov.loc[ours.names, ours.names].to_numpy(), rtol=1e-9
    )
    result = fit(spec, data)
    se = clustered.std_errors[ours.names].to_numpy()
    np.testing.assert_allclose(result.se_series.to_numpy(), se, rtol=1e-9)
    assert result.extra["theta_mean"] == pytest.approx(float(np.mean(theta)), rel=1e-10)


def test_hausman_inputs_equal_linearmodels_panelols(unbalanced):
    """The FE side of the stored Hausman inputs is PanelOLS(entity_effects) with the classical
    covariance on the time-varying columns; the RE side the classical RE covariance."""
    result = fit(SIMULATED, unbalanced)
    h = result.extra["hausman"]
    design = build_design(ModelSpec.from_dict(SIMULATED), unbalanced)
    columns = [c for c in design.X.columns if design.labels.get(c, c) in h["terms"]]
    assert [design.labels.get(c, c) for c in columns] != []
    _, classical, idx = _linearmodels(design)
    order = [c for c in design.X.columns if design.labels.get(c, c) in h["terms"]]
    order = sorted(order, key=lambda c: h["terms"].index(design.labels.get(c, c)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = PanelOLS(pd.Series(design.y.to_numpy(), index=idx),
                      pd.DataFrame(design.X[order].to_numpy(), index=idx, columns=order),
                      entity_effects=True).fit(cov_type="unadjusted")  # fmt: skip
    np.testing.assert_allclose(h["b_fe"], fe.params[order].to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(h["V_fe"], fe.cov.loc[order, order].to_numpy(), rtol=1e-9)
    assert h["s2_fe"] == pytest.approx(fe.s2, rel=1e-10)
    np.testing.assert_allclose(h["b_re"], classical.params[order].to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(h["V_re"], classical.cov.loc[order, order].to_numpy(), rtol=1e-9)
    assert h["s2_re"] == pytest.approx(classical.s2, rel=1e-10)
    # lead type does not vary within a consortium: not in the FE regression
    assert not any(t.startswith("lead_type") for t in h["terms"])


def test_drop_collinear_columns_finds_exact_and_keeps_independent():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(500, 4))
    assert drop_collinear_columns(A, list("abcd")) == ([0, 1, 2, 3], [])
    B = np.column_stack([A, A[:, 0] - 2 * A[:, 2], rng.normal(size=500)])
    assert drop_collinear_columns(B, list("abcdef")) == ([0, 1, 2, 3, 5], ["e"])
