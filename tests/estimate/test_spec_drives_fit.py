"""Editing a spec changes the fit: the formula recorded with the result is the
one built from the spec, and each field (controls, estimator, sample, fixed
effects, clustering, reference level) visibly changes the estimate or its SE."""

import pytest

from consortia.estimate import fit

BASE = {
    "name": "m",
    "outcome": "rd_per_member",
    "regressors": ["type_diversity"],
    "estimator": "twfe",
}


def test_adding_a_control_changes_formula_and_coefficient(panel):
    a = fit(BASE, panel)
    b = fit(dict(BASE, controls=["n_members"]), panel)
    assert "n_members" not in a.formula and "n_members" in b.formula
    assert b.terms == ["type_diversity", "n_members"]
    assert a.params["type_diversity"] != pytest.approx(b.params["type_diversity"], rel=1e-3)


def test_each_field_changes_the_fit(panel):
    ref = fit(BASE, panel)
    changed = {
        "estimator": fit(dict(BASE, estimator="ols"), panel),
        "sample": fit(dict(BASE, sample="n_members >= 5"), panel),
        "fixed_effects": fit(dict(BASE, fixed_effects=["consortium_id"]), panel),
    }
    for what, res in changed.items():
        assert res.params["type_diversity"] != pytest.approx(
            ref.params["type_diversity"], rel=1e-6
        ), what
    cl = fit(dict(BASE, cluster=["industry"]), panel)
    assert cl.params["type_diversity"] == pytest.approx(ref.params["type_diversity"], rel=1e-12)
    assert cl.std_errors["type_diversity"] != pytest.approx(
        ref.std_errors["type_diversity"], rel=1e-3
    )
    assert cl.clustering == "clustered by industry" and cl.n_clusters == {"industry": 2}
    assert ref.sample_report["n_dropped_sample_filter"] == 0
    assert changed["sample"].sample_report["n_dropped_sample_filter"] > 0


def test_reference_level_changes_contrasts(panel):
    spec = dict(BASE, regressors=["type_diversity", "lead_type"], estimator="re")
    a = fit(spec, panel)
    b = fit(dict(spec, reference_levels={"lead_type": "university"}), panel)
    assert "lead_type[university]" in a.terms and "lead_type[enterprise]" in b.terms
    assert b.params["lead_type[enterprise]"] == pytest.approx(
        -a.params["lead_type[university]"], rel=1e-8
    )
