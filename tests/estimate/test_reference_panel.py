"""FE / RE / Hausman / Mundlak against published panel examples.

Sources (tests/reference/published.json, r_reference.json):
* Grunfeld (10 firms, 1935–54): R plm output as printed in the plm vignette
  (6 decimals; tolerance 5e-7 absolute, 5e-5 for 4-decimal numbers) and R
  plm 2.6-2 at full precision (1e-7 relative).
* wagepan: Wooldridge (2020) Table 14.2 (3 decimals, 4 for exper²; tolerance
  half a unit of the last digit), Hausman statistic from Heiss (2020)
  Script 14.4 (3 decimals of χ², tolerance 5e-4).
"""

import numpy as np
import pytest

from consortia.estimate import fit, hausman, mundlak_test

G = {
    "name": "grunfeld",
    "outcome": "invest",
    "regressors": ["value", "capital"],
    "entity": "firm",
    "time": "year",
    "cluster": ["firm"],
    "fixed_effects": [],
}


def test_grunfeld_data_is_plms(grunfeld):
    # the statsmodels copy without American Steel is plm's Grunfeld (10 firms x 20 years)
    assert grunfeld.shape[0] == 200 and grunfeld.firm.nunique() == 10
    # column sums of plm::Grunfeld (R: sum(Grunfeld$inv), $value, $capital)
    assert grunfeld.invest.sum() == pytest.approx(29191.65, abs=0.005)
    assert grunfeld.value.sum() == pytest.approx(216336.22, abs=0.005)
    assert grunfeld.capital.sum() == pytest.approx(55203.43, abs=0.005)


def test_grunfeld_fe_re_published(grunfeld, published, r_reference):
    pub, ref = published["grunfeld_plm"], r_reference["grunfeld"]
    fe = fit(dict(G, estimator="twfe", fixed_effects=["firm"]), grunfeld)
    re_ = fit(dict(G, estimator="re"), grunfeld)
    for t in ("value", "capital"):
        assert fe.params[t] == pytest.approx(pub["fe_coef"][t], abs=5e-7)
        assert re_.params[t] == pytest.approx(pub["re_coef"][t], abs=5e-7)
    assert re_.params["(Intercept)"] == pytest.approx(pub["re_coef"]["(Intercept)"], abs=5e-7)
    assert re_.extra["theta_mean"] == pytest.approx(pub["re_theta"], abs=5e-5)
    np.testing.assert_allclose(fe.params_series.to_numpy(), ref["fe_coef"], rtol=1e-7)
    np.testing.assert_allclose(re_.params_series.to_numpy(), ref["re_coef"], rtol=1e-7)
    # RE clustered SEs: CR1 with K = 3 is plm's vcovHC(type = "sss", cluster = "group")
    np.testing.assert_allclose(re_.se_series.to_numpy(), ref["re_se_sss"], rtol=1e-6)
    # FE clustered SEs: fixest/reghdfe count the intercept in K (K = 3), plm "sss" does not
    # (K = 2): the ratio is sqrt((N−2)/(N−3)) exactly
    np.testing.assert_allclose(
        fe.se_series.to_numpy(), np.array(ref["fe_se_sss"]) * np.sqrt(198 / 197), rtol=1e-7
    )


def test_grunfeld_re_classical_se_published(grunfeld, published):
    # plm prints the classical RE SEs: s²(X*'X*)⁻¹ of the GLS, as the Hausman test uses them
    from consortia.estimate import ModelSpec, build_design
    from consortia.estimate.random_effects import run_random_effects

    design = build_design(ModelSpec.from_dict(dict(G, estimator="re")), grunfeld)
    res = run_random_effects(design, design.X)
    pub = published["grunfeld_plm"]["re_se"]
    assert res.std_errors_classical["const"] == pytest.approx(pub["(Intercept)"], abs=5e-7)
    assert res.std_errors_classical["value"] == pytest.approx(pub["value"], abs=5e-7)
    assert res.std_errors_classical["capital"] == pytest.approx(pub["capital"], abs=5e-7)


def test_grunfeld_hausman_published(grunfeld, published, r_reference):
    h = hausman(dict(G, estimator="re"), grunfeld)
    pub = published["grunfeld_plm"]["hausman"]
    assert h.statistic == pytest.approx(pub["chisq"], abs=5e-5)
    assert h.df == pub["df"]
    assert h.p_value == pytest.approx(pub["p"], abs=5e-5)
    assert h.statistic == pytest.approx(r_reference["grunfeld"]["hausman_chisq"], rel=1e-7)
    assert not h.robust and "classical" in h.notes[0]


W = {
    "name": "wage",
    "outcome": "lwage",
    "regressors": ["educ", "black", "hisp", "exper", "expersq", "married", "union"],
    "entity": "nr",
    "time": "year",
    "cluster": ["nr"],
    "fixed_effects": ["year"],
}


def _digits(var, pub):
    return 5e-5 if var == "expersq" else 5e-4


def test_wagepan_table_14_2(wagepan, published):
    pub = published["wagepan_wooldridge"]
    ols = fit(dict(W, estimator="ols"), wagepan)
    re_ = fit(dict(W, estimator="re"), wagepan)
    fe = fit(
        dict(
            W,
            regressors=["expersq", "married", "union"],
            estimator="twfe",
            fixed_effects=["nr", "year"],
        ),
        wagepan,
    )
    for res, key in ((ols, "pooled_ols"), (re_, "random_effects"), (fe, "fixed_effects")):
        for var, val in pub[key].items():
            assert res.params[var] == pytest.approx(val, abs=_digits(var, pub)), (key, var)
    # time-invariant regressors cannot be estimated by FE: they are reported as dropped
    fe_all = fit(dict(W, estimator="twfe", fixed_effects=["nr", "year"]), wagepan)
    assert {"educ", "black", "hisp"} <= set(fe_all.dropped_terms)
    assert fe_all.params["union"] == pytest.approx(pub["fixed_effects"]["union"], abs=5e-4)


def test_wagepan_hausman_published(wagepan, published):
    h = hausman(dict(W, estimator="re"), wagepan)
    pub = published["wagepan_hausman"]
    assert h.statistic == pytest.approx(pub["chisq"], abs=5e-4)
    assert h.df == pub["df"]
    assert h.p_value == pytest.approx(pub["p"], abs=5e-7)
    assert any("exper" in n for n in h.notes)  # exper is not identified under FE with year effects


def test_mundlak_reproduces_fe_and_test(grunfeld, wagepan):
    """Mundlak's RE (balanced panel) and pooled OLS (any panel) with entity means give the FE
    slopes exactly; the test is a cluster-robust Wald test on the means."""
    fe = fit(dict(G, estimator="twfe", fixed_effects=["firm"]), grunfeld)
    for base in ("re", "ols"):
        m = fit(dict(G, estimator="mundlak", mundlak_base=base), grunfeld)
        for t in ("value", "capital"):
            assert m.params[t] == pytest.approx(fe.params[t], rel=1e-8)
        assert m.extra["mean_terms"] == ["mean(value)", "mean(capital)"]
    t = mundlak_test(dict(G, estimator="re"), grunfeld)
    m = fit(dict(G, estimator="mundlak"), grunfeld)
    b = m.params_series[t.terms].to_numpy()
    V = m.vcov_frame.loc[t.terms, t.terms].to_numpy()
    assert t.statistic == pytest.approx(float(b @ np.linalg.solve(V, b)), rel=1e-10)
    assert t.df == 2 and t.robust
    # unbalanced panel: pooled-OLS Mundlak with means of x and of the year dummies = TWFE
    wp = wagepan.sample(frac=0.8, random_state=1)
    fe_w = fit(
        dict(
            W,
            regressors=["expersq", "married", "union"],
            estimator="twfe",
            fixed_effects=["nr", "year"],
        ),
        wp,
    )
    m_w = fit(
        dict(
            W, regressors=["expersq", "married", "union"], estimator="mundlak", mundlak_base="ols"
        ),
        wp,
    )
    for t_ in ("expersq", "married", "union"):
        assert m_w.params[t_] == pytest.approx(fe_w.params[t_], rel=1e-7)


def test_hausman_sigmamore_uses_the_re_error_variance_for_both(grunfeld):
    """Stata's sigmamore: H = d' (s²_RE/s²_FE · V_FE − V_RE)⁻¹ d, computed here directly."""
    from linearmodels import PanelOLS, RandomEffects

    panel = grunfeld.set_index(["firm", "year"])
    exog = panel[["value", "capital"]].assign(const=1.0)
    re_ = RandomEffects(panel["invest"], exog).fit(cov_type="unadjusted")
    fe = PanelOLS(panel["invest"], panel[["value", "capital"]], entity_effects=True).fit(
        cov_type="unadjusted"
    )
    terms = ["value", "capital"]
    d = (fe.params[terms] - re_.params[terms]).to_numpy()
    Vd = fe.cov.loc[terms, terms].to_numpy() * re_.s2 / fe.s2 - re_.cov.loc[terms, terms].to_numpy()
    expected = float(d @ np.linalg.solve(Vd, d))

    more = hausman(dict(G, estimator="re"), grunfeld, sigmamore=True)
    assert more.name == "Hausman (classical, sigmamore)" and more.df == 2
    assert more.statistic == pytest.approx(expected, rel=1e-6)
    assert more.statistic != pytest.approx(
        hausman(dict(G, estimator="re"), grunfeld).statistic, rel=1e-3
    )
