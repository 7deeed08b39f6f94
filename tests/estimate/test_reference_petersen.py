"""Cluster-robust OLS against Petersen's published test-data results.

Source: tests/reference/published.json["petersen_2009"] (Petersen's web page,
4 decimals) and tests/reference/r_reference.json["petersen"] (R sandwich
3.0-2 vcovCL, full precision; command in tests/reference/make_references.R).
Tolerances: published, half a unit of the 4th decimal (5e-5 absolute);
R, 1e-8 relative.
"""

import numpy as np
import pytest

from consortia.estimate import fit

BASE = {
    "name": "petersen",
    "outcome": "y",
    "regressors": ["x"],
    "estimator": "ols",
    "fixed_effects": [],
    "entity": "firmid",
    "time": "year",
}
CASES = [
    (["firmid"], "se_cluster_firm", "se_firm"),
    (["year"], "se_cluster_year", "se_year"),
    (["firmid", "year"], "se_cluster_firm_year", "se_firm_year"),
]


@pytest.mark.parametrize("cluster,pub_key,r_key", CASES)
def test_petersen_published_and_r(petersen, published, r_reference, cluster, pub_key, r_key):
    # Petersen's two-way numbers (and R sandwich) scale each term with its own G
    res = fit(dict(BASE, cluster=cluster, vcov={"G_df": "conventional"}), petersen)
    pub = published["petersen_2009"]
    b = res.params_series
    se = res.se_series
    assert b["x"] == pytest.approx(pub["coef"]["x"], abs=5e-5)
    assert b["(Intercept)"] == pytest.approx(pub["coef"]["const"], abs=5e-5)
    assert se["x"] == pytest.approx(pub[pub_key]["x"], abs=5e-5)
    assert se["(Intercept)"] == pytest.approx(pub[pub_key]["const"], abs=5e-5)
    assert res.r2["overall"] == pytest.approx(pub["r2"], abs=5e-5)
    ref = r_reference["petersen"]
    np.testing.assert_allclose(b.to_numpy(), ref["coef"], rtol=1e-8)
    np.testing.assert_allclose(se.to_numpy(), ref[r_key], rtol=1e-8)
    assert res.n_clusters == {c: {"firmid": 500, "year": 10}[c] for c in cluster}


def test_petersen_two_way_min_convention(petersen, r_reference):
    """Default two-way convention (reghdfe / fixest): min(G) in every term.

    Each of V_firm, V_year, V_firm∩year then carries 10/9 instead of its own
    G/(G−1); the result is checked against the closed form built from the
    three one-way CR0 pieces.
    """
    res = fit(dict(BASE, cluster=["firmid", "year"]), petersen)
    parts = {}
    for name, cl in {"f": ["firmid"], "y": ["year"]}.items():
        parts[name] = fit(dict(BASE, cluster=cl, vcov="CR0"), petersen).vcov_frame.to_numpy()
    petersen = petersen.assign(fy=petersen.firmid * 100 + petersen.year)
    parts["fy"] = fit(dict(BASE, cluster=["fy"], vcov="CR0"), petersen).vcov_frame.to_numpy()
    n, k = len(petersen), 2
    expected = (10 / 9) * (n - 1) / (n - k) * (parts["f"] + parts["y"] - parts["fy"])
    np.testing.assert_allclose(res.vcov_frame.to_numpy(), expected, rtol=1e-10)
    assert "min(G₁,G₂)" in res.small_sample
    assert res.df_inference == 9
