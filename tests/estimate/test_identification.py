"""Identification is decided before fitting (consortia.estimate.identify).

References: a regressor dropped by the identification check leaves the fit exactly
as the same model written without it (so nothing else changed), the check drops the
column pyfixest itself drops on the full formula, and the cases that cannot be
estimated at all raise NotEstimable with the reason instead of an estimator's
exception.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from consortia.estimate import ModelSpec, NotEstimable, build_design, fit, identify
from consortia.estimate.vcov import cr_factor


def panel(n_consortia: int = 40, years: int = 6, seed: int = 0) -> pd.DataFrame:
    """A balanced panel: ``static`` never changes within a consortium, ``x1``/``x2`` do."""
    rng = np.random.default_rng(seed)
    rows = n_consortia * years
    cid = np.repeat([f"C{i:03d}" for i in range(n_consortia)], years)
    year = np.tile(np.arange(2015, 2015 + years), n_consortia)
    static = np.repeat(rng.normal(size=n_consortia), years)
    founded = np.repeat(rng.integers(2000, 2015, n_consortia), years)
    lead = np.repeat(rng.choice(["enterprise", "university", "government"], n_consortia), years)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    effect = np.repeat(rng.normal(size=n_consortia), years)
    y = 0.5 * x1 - 0.25 * x2 + static + effect + rng.normal(size=rows)
    return pd.DataFrame(
        {
            "consortium_id": cid,
            "year": year,
            "static": static,
            "age": year - founded,
            "lead_type": lead,
            "x1": x1,
            "x2": x2,
            "x3": x1 + x2,
            "y": y,
            "count": rng.poisson(np.exp(0.3 * x1)),
            "share": 1 / (1 + np.exp(-(0.4 * x1 + rng.normal(size=rows)))),
        }
    )


def twfe(regressors, controls=(), **extra) -> dict:
    return {
        "name": "m",
        "outcome": "y",
        "regressors": list(regressors),
        "controls": list(controls),
        "estimator": "twfe",
        "fixed_effects": ["consortium_id", "year"],
        **extra,
    }


def test_a_regressor_the_consortium_effects_absorb_is_left_out_and_named():
    data = panel()
    with_static = fit(twfe(["x1", "static"], ["x2"]), data)
    without = fit(twfe(["x1"], ["x2"]), data)
    assert with_static.terms == ["x1", "x2"]
    assert with_static.params == pytest.approx(without.params, rel=1e-12)
    assert with_static.std_errors == pytest.approx(without.std_errors, rel=1e-12)
    assert with_static.dropped_terms == ["static"]
    assert any(
        "absorbed by the consortium_id fixed effects" in note and "static" in note
        for note in with_static.notes
    )


def test_age_is_collinear_with_consortium_and_year_effects_together():
    result = fit(twfe(["x1", "age"]), panel())
    assert result.dropped_terms == ["age"]
    assert any(
        "collinear with the fixed effects (consortium_id + year) together: age" in note
        for note in result.notes
    )


def test_the_dropped_collinear_column_is_the_one_pyfixest_drops():
    data = panel()
    ours = fit(twfe(["x1", "x2", "x3"]), data)
    theirs = pf.feols(
        "y ~ x1 + x2 + x3 | consortium_id + year", data=data, vcov={"CRV1": "consortium_id"}
    )
    kept = list(theirs._coefnames)
    assert kept == ["x1", "x2"] and ours.terms == kept
    assert ours.dropped_terms == ["x3"]
    assert [ours.params[t] for t in kept] == pytest.approx(theirs.coef()[kept].to_list(), rel=1e-10)


def test_every_regressor_of_interest_absorbed_is_not_estimable_with_the_reason():
    data = panel()
    with pytest.raises(NotEstimable, match=r"no regressor of interest.*left out, absorbed by "
                       r"the consortium_id fixed effects \(constant within each consortium_id\): "
                       r"static"):
        fit(twfe(["static"], ["x1"]), data)
    # PPML takes the same route (pyfixest raised "All variables are collinear" before)
    with pytest.raises(NotEstimable, match="no regressor of interest"):
        fit({**twfe(["static"]), "outcome": "count", "estimator": "ppml"}, data)


def test_a_single_lead_type_leaves_no_contrast_and_says_so():
    data = panel().assign(lead_type="university")
    result = fit(
        {"name": "m", "outcome": "y", "regressors": ["x1", "lead_type"], "estimator": "ols",
         "fixed_effects": ["year"], "reference_levels": {"lead_type": "enterprise"}},
        data,
    )
    assert not any(t.startswith("lead_type") for t in result.terms)
    assert "lead_type" in result.dropped_terms
    assert any("single level in the estimation sample (university)" in n for n in result.notes)


def test_an_absent_reference_level_falls_back_to_the_first_level_present_with_a_note():
    data = panel()
    data = data[data["lead_type"] != "enterprise"]
    spec = {"name": "m", "outcome": "y", "regressors": ["x1", "lead_type"], "estimator": "ols",
            "fixed_effects": ["year"]}
    fallback = fit({**spec, "reference_levels": {"lead_type": "enterprise"}}, data)
    explicit = fit({**spec, "reference_levels": {"lead_type": "government"}}, data)
    assert fallback.params == pytest.approx(explicit.params, rel=1e-12)
    assert any("reference level 'enterprise' is not in the estimation sample" in n
               for n in fallback.notes)


@pytest.mark.parametrize("estimator", ["ols", "twfe", "re", "fraclogit"])
def test_no_residual_degrees_of_freedom_is_not_estimable(estimator):
    data = panel(n_consortia=3, years=2)
    spec = {"name": "m", "outcome": "share", "regressors": ["x1", "x2"], "controls": ["age"],
            "estimator": estimator,
            "fixed_effects": ["consortium_id", "year"] if estimator == "twfe" else ["year"]}
    with pytest.raises(NotEstimable, match="no residual degrees of freedom"):
        fit(spec, data.head(4))


def test_one_cluster_is_not_estimable():
    data = panel().assign(region="north")
    spec = {"name": "m", "outcome": "y", "regressors": ["x1"], "estimator": "ols",
            "fixed_effects": ["year"], "cluster": ["region"]}
    with pytest.raises(NotEstimable, match=r"one cluster \(region\)"):
        fit(spec, data)


def test_a_constant_outcome_is_not_estimable():
    with pytest.raises(NotEstimable, match="does not vary"):
        fit({"name": "m", "outcome": "share", "regressors": ["x1"], "estimator": "fraclogit",
             "fixed_effects": ["year"]}, panel().assign(share=0.0))


def test_few_clusters_are_said_in_the_notes():
    result = fit(twfe(["x1"]), panel(n_consortia=8))
    assert any("only 8 clusters (consortium_id)" in n for n in result.notes)
    assert not any("clusters (consortium_id):" in n for n in fit(twfe(["x1"]), panel()).notes)


def test_identify_leaves_a_fully_identified_design_unchanged():
    design = build_design(ModelSpec.from_dict(twfe(["x1", "x2"])), panel())
    identified = identify(design)
    assert list(identified.X.columns) == ["x1", "x2"] and identified.not_identified == {}


def test_the_small_sample_factor_refuses_what_it_cannot_scale():
    assert cr_factor(10, 100, 5, "CR1") == pytest.approx(10 / 9 * 99 / 95)
    with pytest.raises(NotEstimable, match="at least two"):
        cr_factor(1, 100, 5, "CR1")
    with pytest.raises(NotEstimable, match="no residual degrees of freedom"):
        cr_factor(3, 5, 5, "CR1")


def test_a_perfectly_predicted_rate_is_not_estimable_not_a_singular_matrix_error():
    data = panel()
    # every consortium-year with x1 > 0 transfers everything, the others nothing
    data = data.assign(share=(data["x1"] > 0).astype(float), above=(data["x1"] > 0).astype(float))
    with pytest.raises(NotEstimable, match="Hessian is singular"):
        fit({"name": "m", "outcome": "share", "regressors": ["above"], "controls": ["x2"],
             "estimator": "fraclogit", "fixed_effects": ["year"]}, data)
