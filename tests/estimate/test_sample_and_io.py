"""No silent loss of rows; results round-trip through JSON; labelled fit measures."""

import json

import numpy as np
import pandas as pd
import pytest

from consortia.estimate import FitResult, fit, re_vs_fe_tests
from consortia.estimate.design import drop_singletons

BASE = {
    "name": "m",
    "outcome": "rd_per_member",
    "regressors": ["type_diversity"],
    "controls": ["n_members"],
    "estimator": "twfe",
}


def test_missing_rows_dropped_and_counted(panel):
    d = panel.copy()
    d.loc[d.index[:3], "type_diversity"] = np.nan
    d.loc[d.index[3:5], "rd_per_member"] = np.nan
    res = fit(BASE, d)
    rep = res.sample_report
    assert rep["n_dropped_missing"] == 5
    assert rep["missing_by_variable"] == {"rd_per_member": 2, "type_diversity": 3}
    assert res.nobs == len(d) - 5 - rep["n_dropped_singletons"]
    assert any("missing values" in n for n in res.notes)


def test_singletons_dropped_iteratively_like_fixest():
    fe = pd.DataFrame({"a": [1, 1, 2, 3, 3, 4], "b": [1, 2, 2, 3, 3, 3]})
    # a=2 and a=4 singletons -> then b=1 (row 0) is alone ... iterate to a fixed point
    keep = drop_singletons(fe)
    assert keep.tolist() == [False, False, False, True, True, False]


def test_singletons_reported(panel):
    d = pd.concat(
        [panel, panel.iloc[[0]].assign(consortium_id="LONE", year=2015)], ignore_index=True
    )
    res = fit(BASE, d)
    assert res.sample_report["n_dropped_singletons"] == 1
    assert res.nobs == len(panel)


def test_json_round_trip(tmp_path, panel):
    res = fit(
        dict(
            BASE,
            estimator="fraclogit",
            outcome="transfer_rate",
            regressors=["type_diversity", "lead_type"],
        ),
        panel,
    )
    path = tmp_path / "fits" / "m.json"
    res.to_json(path)
    back = FitResult.from_json(path)
    pd.testing.assert_frame_equal(back.to_frame(), res.to_frame())
    assert back.small_sample.startswith("CR1: G/(G−1)·(N−1)/(N−K)")
    assert back.spec["estimator"] == "fraclogit" and back.software["pyfixest"]
    json.loads(path.read_text())  # strict JSON (no NaN tokens)
    assert FitResult.from_json(res.to_json()).params == res.params


@pytest.mark.parametrize(
    "est,keys",
    [
        ("ols", {"overall"}),
        ("twfe", {"within", "overall (incl. FE)"}),
        ("re", {"within", "between", "overall"}),
        ("mundlak", {"within", "between", "overall"}),
    ],
)
def test_r2_is_labelled(panel, est, keys):
    res = fit(dict(BASE, estimator=est, fixed_effects=None), panel)
    assert keys <= set(res.r2)
    assert res.small_sample and res.clustering == "clustered by consortium_id"


def test_re_vs_fe_tests_on_correlated_effects(panel):
    out = re_vs_fe_tests(dict(BASE, estimator="re"), panel)
    assert set(out) == {"hausman", "mundlak"}
    assert out["mundlak"].robust and not out["hausman"].robust
    # unbalanced panel: the means of the year dummies enter too (Wooldridge 2019)
    assert out["mundlak"].terms[:2] == ["mean(type_diversity)", "mean(n_members)"]
    assert all(t.startswith("mean(year[") for t in out["mundlak"].terms[2:])
    assert 0 <= out["mundlak"].p_value <= 1 and out["hausman"].df >= 2


@pytest.mark.parametrize("estimator", ["ols", "re", "mundlak", "ppml", "fraclogit"])
def test_text_columns_as_categoricals_give_the_same_fit(panel, estimator):
    """The workflow reads text columns as categoricals (level codes, no string hashing per
    model): dummies, their order and labels, the reference level, the sample and every
    estimate are those of the text columns, whatever the order of the categories."""
    spec = {
        "name": "m",
        "outcome": {"fraclogit": "transfer_rate", "ppml": "patents_filed"}.get(
            estimator, "rd_per_member"
        ),
        "regressors": ["type_diversity", "lead_type"],
        "controls": ["n_members"],
        "estimator": estimator,
        "fixed_effects": ["year"],
        "reference_levels": {"lead_type": "research_institute"},
    }
    text = panel[panel["lead_type"] != "university"].iloc[1:]  # a level absent from the sample
    coded = text.copy()
    for column in ("consortium_id", "lead_type"):
        levels = sorted(panel[column].unique(), reverse=True)  # not the text order
        coded[column] = pd.Categorical(text[column], categories=levels)
    a, b = fit(spec, text), fit(spec, coded)
    assert a.terms == b.terms and "lead_type[enterprise]" in a.terms
    assert "lead_type[university]" not in a.terms
    assert a.nobs == b.nobs and a.n_clusters == b.n_clusters
    np.testing.assert_allclose(a.params_series, b.params_series, rtol=1e-12)
    np.testing.assert_allclose(a.se_series, b.se_series, rtol=1e-12)
