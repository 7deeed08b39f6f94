"""The S→C and C→P equations as a SUR system (linearmodels), as FitResults.

Closed-form facts checked:
* with identical regressors in every equation, SUR — even forced FGLS — equals
  equation-by-equation OLS (Zellner 1962), here to 1e-10 against numpy lstsq on
  the same design and to 1e-6 against the package's pyfixest fits, whose
  CR1 standard errors the system's SEs also reproduce (the documented
  convention: raw linearmodels clustered sandwich, scaled by √(f_i f_j));
* the recursive mediation system (M on X; Y on M and X) is OLS too: the
  C→P residual is orthogonal to M and X, hence to the S→C residual;
* with different regressors and correlated errors FGLS differs from OLS,
  and the SEs are linearmodels' clustered covariance times the CR1 factor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import simulate_panel
from consortia.estimate import FitResult, SpecError, fit
from consortia.estimate.system import SUR_SE_TEXT, system_fit
from consortia.estimate.tables import regression_table
from consortia.estimate.vcov import cr_factor


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    d = simulate_panel(n=60, T=6, seed=21)
    rng = np.random.default_rng(3)
    common = rng.normal(size=len(d))  # correlated errors across the two equations
    d["collab_intensity"] = 0.6 * d["type_diversity"] + common + rng.normal(size=len(d))
    d["new_product_revenue"] = (
        0.5 * d["collab_intensity"] + 0.01 * d["n_members"] + common + rng.normal(size=len(d))
    )
    d["equity_tie_share"] = rng.uniform(size=len(d))
    return d


def _pair(estimator: str, rhs_c=("type_diversity",), rhs_p=("type_diversity",)):
    return [
        {"name": "S_to_C", "outcome": "collab_intensity", "regressors": list(rhs_c),
         "controls": ["n_members"], "estimator": estimator},
        {"name": "C_to_P", "outcome": "rd_per_member", "regressors": list(rhs_p),
         "controls": ["n_members"], "estimator": estimator},
    ]  # fmt: skip


@pytest.mark.parametrize("estimator", ["ols", "twfe"])
@pytest.mark.parametrize("method", ["auto", "gls"])
def test_identical_regressors_give_equation_by_equation_ols(panel, estimator, method):
    specs = _pair(estimator)
    res = system_fit(specs, panel, method=method)
    assert [r.extra["method"] for r in res] == ["OLS" if method == "auto" else "GLS"] * 2
    for s, r in zip(specs, res, strict=True):
        f = fit(s, panel)
        for t in ("type_diversity", "n_members"):
            assert r.params[t] == pytest.approx(f.params[t], rel=1e-6, abs=1e-12)
            assert r.std_errors[t] == pytest.approx(f.std_errors[t], rel=1e-6)
        key = "within" if estimator == "twfe" else "overall"
        assert r.r2[key] == pytest.approx(f.r2[key], rel=1e-6)
        assert r.nobs == f.nobs and r.n_clusters == f.n_clusters
        assert r.fixed_effects == f.fixed_effects
        assert r.estimator == "sur" and r.extra["base_estimator"] == estimator


def test_identical_regressors_closed_form_against_lstsq(panel):
    """Pooled OLS with year dummies written out by hand: FGLS = OLS to 1e-10."""
    res = system_fit(_pair("ols"), panel, method="gls")
    years = sorted(panel["year"].unique())
    X = np.column_stack(
        [np.ones(len(panel)), panel["type_diversity"], panel["n_members"]]
        + [(panel["year"] == y).astype(float) for y in years[1:]]
    )
    for r, y in zip(res, ("collab_intensity", "rd_per_member"), strict=True):
        beta = np.linalg.lstsq(X, panel[y].to_numpy(), rcond=None)[0]
        assert r.params["(Intercept)"] == pytest.approx(beta[0], abs=1e-10)
        assert r.params["type_diversity"] == pytest.approx(beta[1], abs=1e-10)
        assert r.params["n_members"] == pytest.approx(beta[2], abs=1e-10)


def test_recursive_mediation_system_is_ols(panel):
    specs = _pair("twfe", rhs_p=("collab_intensity", "type_diversity"))
    res = system_fit(specs, panel)
    assert res[0].extra["method"] == "GLS"  # different regressors: FGLS is what ran
    for s, r in zip(specs, res, strict=True):
        f = fit(s, panel)
        for t in f.terms:
            assert r.params[t] == pytest.approx(f.params[t], rel=1e-6)
            assert r.std_errors[t] == pytest.approx(f.std_errors[t], rel=1e-6)
    assert abs(res[0].extra["residual_correlation"][0][1]) < 1e-8


def test_different_regressors_fgls_and_the_se_convention(panel):
    """S→C on diversity, C→P on equity ties (no shared regressor, correlated errors)."""
    from linearmodels.system import SUR

    specs = [
        {"name": "S_to_C", "outcome": "collab_intensity", "regressors": ["type_diversity"],
         "estimator": "ols", "fixed_effects": []},
        {"name": "C_to_P", "outcome": "new_product_revenue", "regressors": ["equity_tie_share"],
         "estimator": "ols", "fixed_effects": []},
    ]  # fmt: skip
    res = system_fit(specs, panel, method="gls")
    ols = [fit(s, panel) for s in specs]
    assert res[0].params["type_diversity"] != pytest.approx(
        ols[0].params["type_diversity"], rel=1e-4
    )
    # by hand with linearmodels: raw clustered sandwich × CR1 factor (K = 2: const + slope)
    cl = pd.factorize(panel["consortium_id"])[0]
    eqs = {
        s["name"]: {
            "dependent": panel[s["outcome"]].reset_index(drop=True),
            "exog": pd.DataFrame(
                {"const": 1.0, s["regressors"][0]: panel[s["regressors"][0]].to_numpy()}
            ),
        }
        for s in specs
    }
    lm = SUR(eqs).fit(method="gls", cov_type="clustered", clusters=cl)
    G, n = cl.max() + 1, len(panel)
    f = cr_factor(G, n, 2, "CR1")
    se = np.sqrt(np.diag(np.asarray(lm.cov)) * f)
    assert res[0].params["type_diversity"] == pytest.approx(
        lm.params["S_to_C_type_diversity"], rel=1e-10
    )
    assert res[0].std_errors["type_diversity"] == pytest.approx(se[1], rel=1e-10)
    assert res[1].std_errors["equity_tie_share"] == pytest.approx(se[3], rel=1e-10)
    assert res[0].df_inference == G - 1 and res[0].stat_kind == "t"
    assert SUR_SE_TEXT in res[0].small_sample


def test_common_sample(panel):
    d = panel.copy()
    d.loc[d.index[:10], "rd_per_member"] = np.nan  # only in the C→P equation
    res = system_fit(_pair("ols"), d)
    assert res[0].nobs == res[1].nobs == len(d) - 10
    assert any("common sample" in n for n in res[0].notes)


def test_errors(panel):
    with pytest.raises(SpecError, match="linear"):
        system_fit([_pair("ols")[0], dict(_pair("ols")[1], estimator="ppml")], panel)
    with pytest.raises(SpecError, match="one cluster variable"):
        system_fit([_pair("ols")[0], dict(_pair("ols")[1], cluster=["industry"])], panel)
    with pytest.raises(SpecError, match="exactly one"):
        specs = [dict(s, cluster="driscoll_kraay") for s in _pair("ols")]
        system_fit(specs, panel)
    with pytest.raises(SpecError, match="at least two"):
        system_fit(_pair("ols")[:1], panel)
    with pytest.raises(SpecError, match="method"):
        system_fit(_pair("ols"), panel, method="3sls")


def test_renders_as_a_robustness_table_and_round_trips(panel, tmp_path):
    specs = _pair("twfe", rhs_p=("collab_intensity", "type_diversity"))
    sur = system_fit(specs, panel)
    back = [FitResult.from_json(r.to_json()) for r in sur]
    assert [b.to_dict() for b in back] == [r.to_dict() for r in sur]
    table = regression_table([fit(specs[0], panel), *back], "Robustness: SUR")
    body = table.body
    assert list(body.loc["stat::estimator"]) == ["FE", "SUR", "SUR"]
    assert list(body.loc["fe::consortium_id"]) == ["Yes"] * 3
    assert list(body.loc["fe::year"]) == ["Yes"] * 3
    assert not any(str(k).startswith("coef::year[") for k in body.index)  # dummies hidden
    assert "stat::r2_within" in body.index
    se_notes = [n for n in table.details if "standard errors clustered" in n]
    assert len(se_notes) == 2  # the package CR1 convention, and the SUR one
    assert any(SUR_SE_TEXT in n and "Models (2), (3)" in n for n in se_notes)


@pytest.mark.parametrize("method", ["ols", "gls"])
def test_cross_product_sur_equals_linearmodels(method):
    """The block cross-product SUR against linearmodels' stacked system: 3 equations,
    different regressors, correlated errors, 40 clusters of unequal size — β, Σ̂, the
    raw clustered covariance and the residuals to 1e-10."""
    from linearmodels.system import SUR

    from consortia.estimate.system import _sur

    rng = np.random.default_rng(7)
    n = 400
    clusters = np.sort(rng.integers(0, 40, size=n))
    common = rng.normal(size=n) + rng.normal(size=40)[clusters]
    x = rng.normal(size=(n, 4))
    designs = [
        np.column_stack([np.ones(n), x[:, 0]]),
        np.column_stack([np.ones(n), x[:, 0], x[:, 1], x[:, 2]]),
        np.column_stack([np.ones(n), x[:, 3], x[:, 1] ** 2]),
    ]
    names = [["const", "x0"], ["const", "x0", "x1", "x2"], ["const", "x3", "x1_squared"]]
    eqs = []
    for k, X in enumerate(designs):
        y = X @ rng.normal(size=X.shape[1]) + (k + 1) * common + rng.normal(size=n)
        eqs.append({"X": X, "y": y, "names": names[k]})
    beta, cov, resid, sigma = _sur(eqs, clusters, 40, gls=method == "gls")
    lm = SUR({f"eq{k}": {"dependent": e["y"], "exog": e["X"]} for k, e in enumerate(eqs)}).fit(
        method=method, cov_type="clustered", clusters=clusters, debiased=False
    )
    assert str(lm.method).upper() == method.upper()
    np.testing.assert_allclose(beta, np.asarray(lm.params), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sigma, np.asarray(lm.sigma), rtol=1e-10)
    np.testing.assert_allclose(cov, np.asarray(lm.cov), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(resid, np.asarray(lm.resids), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("rhs_c", "rhs_p", "equal"),
    [
        (("type_diversity",), ("type_diversity",), True),  # same regressors (Zellner)
        (("type_diversity",), ("type_diversity", "collab_intensity"), True),  # recursive
        (("type_diversity",), ("equity_tie_share",), False),  # different regressors
    ],
)
def test_sur_is_ols_says_when_gls_reproduces_ols(panel, rhs_c, rhs_p, equal):
    """The plan-time rule (models config) against the fit: one-step GLS equals OLS exactly
    when sur_is_ols says so, and differs when it does not."""
    from consortia.estimate.models_config import sur_is_ols

    specs = _pair("ols", rhs_c=rhs_c, rhs_p=rhs_p)
    assert sur_is_ols(specs) is equal
    gls, ols = system_fit(specs, panel, method="gls"), system_fit(specs, panel, method="ols")
    gls_params = np.concatenate([list(r.params.values()) for r in gls])
    ols_params = np.concatenate([list(r.params.values()) for r in ols])
    assert np.allclose(gls_params, ols_params, rtol=1e-9, atol=1e-12) is equal
