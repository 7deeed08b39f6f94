"""pyfixest (the package's estimator) against linearmodels PanelOLS, and the
documented gap between the two packages' *default* small-sample corrections.

Tolerance for agreement: 1e-6 relative.  The default gap is asserted equal to
its closed form to 1e-8.
"""

import numpy as np
import pandas as pd
import pytest

from conftest import simulate_panel
from consortia.estimate import ModelSpec, build_design, fit
from consortia.estimate.linear import linearmodels_twfe_crosscheck

SPEC = {
    "name": "twfe",
    "outcome": "rd_per_member",
    "regressors": ["type_diversity"],
    "controls": ["n_members"],
    "estimator": "twfe",
    "fixed_effects": ["consortium_id", "year"],
}


@pytest.fixture(scope="module")
def unbalanced():
    return simulate_panel(n=60, T=8, seed=7, unbalanced=True)


def _check(res, lm, names=("type_diversity", "n_members")):
    for t in names:
        assert res.params[t] == pytest.approx(lm.params[t], rel=1e-6)
        assert res.std_errors[t] == pytest.approx(lm.std_errors[t], rel=1e-6)


def test_one_way_cluster_agrees_with_linearmodels(unbalanced):
    spec = ModelSpec.from_dict(dict(SPEC, cluster=["consortium_id"]))
    res = fit(spec, unbalanced)
    lm = linearmodels_twfe_crosscheck(build_design(spec, unbalanced), match=True)
    _check(res, lm)


def test_two_way_cluster_agrees_with_linearmodels(unbalanced):
    spec = ModelSpec.from_dict(
        dict(SPEC, cluster=["consortium_id", "year"], vcov={"G_df": "conventional"})
    )
    res = fit(spec, unbalanced)
    lm = linearmodels_twfe_crosscheck(build_design(spec, unbalanced), match=True)
    _check(res, lm)


def test_default_conventions_differ_by_closed_form(unbalanced):
    """Defaults: ours (fixest / reghdfe CR1) vs ``PanelOLS(entity_effects=True,
    time_effects=True).fit(cov_type="clustered", cluster_entity=True)``.

    ours:         G/(G−1) · (N−1)/(N−k−T)        (entity FE nested: K = k + T)
    linearmodels: N/(N−k−(G+T−1))                (all effects counted, no G/(G−1))
    SE ratio = sqrt(ours / linearmodels).
    """
    spec = ModelSpec.from_dict(dict(SPEC, cluster=["consortium_id"]))
    design = build_design(spec, unbalanced)
    res = fit(spec, unbalanced)
    lm = linearmodels_twfe_crosscheck(design, match=False)
    N, k = res.nobs, 2
    G, T = res.n_clusters["consortium_id"], unbalanced.year.nunique()
    ours = G / (G - 1) * (N - 1) / (N - k - T)
    theirs = N / (N - k - (G + T - 1))
    expected = np.sqrt(ours / theirs)
    for t in ("type_diversity", "n_members"):
        assert res.params[t] == pytest.approx(lm.params[t], rel=1e-8)
        assert res.std_errors[t] / lm.std_errors[t] == pytest.approx(expected, rel=1e-8)
    # the gap is material: several percent with N/G ≈ 7 observations per consortium
    assert abs(expected - 1) > 0.03


def test_driscoll_kraay_closed_form():
    """Driscoll–Kraay: Bartlett-weighted autocovariances of the period sums of the
    scores, scaled by T/(T−1)·(N−1)/(N−K) (the pyfixest/fixest convention stated in
    the footnote text)."""
    d = simulate_panel(n=40, T=8, seed=3, unbalanced=False)
    spec = {
        "name": "dk",
        "outcome": "rd_per_member",
        "regressors": ["type_diversity"],
        "controls": ["n_members"],
        "estimator": "ols",
        "fixed_effects": [],
        "cluster": "driscoll_kraay",
        "bandwidth": 2,
    }
    res = fit(spec, d)
    X = np.column_stack([np.ones(len(d)), d.type_diversity, d.n_members])
    y = d.rd_per_member.to_numpy()
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    S = pd.DataFrame(X * e[:, None]).groupby(d.year.to_numpy()).sum().to_numpy()
    meat = S.T @ S
    for lag in (1, 2):
        C = S[lag:].T @ S[:-lag]
        meat += (1 - lag / 3) * (C + C.T)
    B = np.linalg.inv(X.T @ X)
    N, K, T = len(d), 3, 8
    V = T / (T - 1) * (N - 1) / (N - K) * B @ meat @ B
    np.testing.assert_allclose(res.vcov_frame.to_numpy(), V, rtol=1e-8)
    assert res.df_inference == T - 1 and "Driscoll–Kraay" in res.clustering
