"""Regression and mediation tables built from stored results.

Snapshot tests compare the rendered tables of fits to a tiny fixed dataset
with files in tests/snapshots/ (regression_*, mediation_*), as
tests/test_tables.py does. After a deliberate change, regenerate with

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/estimate/test_regression_tables.py

and review ``git diff tests/snapshots/``.  The other tests check the numbers
in the table against the FitResult / MediationResult (formatting, stars), the
fixed-effect rows (maketables 0.2 printed "-" in every one of them), the R²
kinds, and the footnotes (one per distinct SE convention).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import simulate_panel
from consortia.estimate import FitResult, fit
from consortia.estimate.mediation import mediation
from consortia.estimate.mediation_result import MediationResult
from consortia.estimate.tables import STAR_NOTE, mediation_table, regression_table, stars
from consortia.render.table import format_number
from consortia.render.table_writers import to_html, to_latex_booktabs, to_markdown, write_table

BASE = {"outcome": "rd_per_member", "regressors": ["type_diversity"], "controls": ["n_members"]}
SPECS = [
    dict(BASE, name="pooled", estimator="ols"),
    dict(BASE, name="within", estimator="twfe"),
    dict(BASE, name="within_c", estimator="twfe", fixed_effects=["consortium_id"]),
    dict(BASE, name="random", estimator="re"),
    {
        "name": "patents",
        "outcome": "patents_filed",
        "regressors": ["type_diversity"],
        "controls": ["n_members"],
        "estimator": "ppml",
    },
    {
        "name": "transfer",
        "outcome": "transfer_rate",
        "regressors": ["type_diversity", "lead_type"],
        "controls": ["n_members"],
        "estimator": "fraclogit",
        "reference_levels": {"lead_type": "enterprise"},
    },
]
# display: the fit's fixed effects -> the expected "Consortium FE" / "Year FE" cells
EXPECTED_FE = {
    "pooled": ("No", "Yes"),
    "within": ("Yes", "Yes"),
    "within_c": ("Yes", "No"),
    "random": ("No", "Yes"),
    "patents": ("Yes", "Yes"),
    "transfer": ("No", "Yes"),
}
LABELS = {
    "type_diversity": "Type diversity",
    "n_members": "Members",
    "rd_per_member": "R&D per member",
    "patents_filed": "Patents filed",
    "transfer_rate": "Transfer rate",
}


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    d = simulate_panel(n=30, T=4, seed=3)
    rng = np.random.default_rng(17)
    d["collab_intensity"] = 0.8 * d["type_diversity"] + rng.normal(0, 0.3, len(d))
    d["rd_per_member"] = d["rd_per_member"] + 0.7 * d["collab_intensity"]
    return d


@pytest.fixture(scope="module")
def fits(tiny) -> list[FitResult]:
    # tables are built from stored results: go through JSON as the workflow does
    return [FitResult.from_json(fit(s, tiny).to_json()) for s in SPECS]


@pytest.fixture(scope="module")
def med(tiny) -> MediationResult:
    res = mediation(
        tiny, "type_diversity", "collab_intensity", "rd_per_member",
        controls=["n_members"], n_boot=199, seed=20240601, name="diversity_collab_rd",
    )  # fmt: skip
    return MediationResult.from_json(res.to_json())


@pytest.fixture(scope="module")
def table(fits):
    return regression_table(fits, "SCP regressions (tiny data)", labels=LABELS, label="tab:scp")


# --------------------------------------------------------------------------- #
# Snapshots
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("render", "suffix"),
    [(to_markdown, "md"), (to_latex_booktabs, "tex"), (to_html, "html")],
)
def test_regression_table_snapshots(table, render, suffix, assert_snapshot):
    assert_snapshot(render(table), f"regression_tiny.{suffix}")


@pytest.mark.parametrize(("render", "suffix"), [(to_markdown, "md"), (to_latex_booktabs, "tex")])
def test_mediation_table_snapshots(med, render, suffix, assert_snapshot):
    t = mediation_table([med], labels={**LABELS, "collab_intensity": "Collaboration intensity"})
    assert_snapshot(render(t), f"mediation_tiny.{suffix}")


# --------------------------------------------------------------------------- #
# Numbers, rows, notes
# --------------------------------------------------------------------------- #


def test_stars_thresholds():
    assert STAR_NOTE == "* p<0.10, ** p<0.05, *** p<0.01"
    cases = {0.0: "***", 0.0099: "***", 0.01: "**", 0.049: "**", 0.05: "*", 0.0999: "*"}
    for p, mark in cases.items():
        assert stars(p) == mark, p
    assert stars(0.1) == "" and stars(0.7) == "" and stars(float("nan")) == ""


def test_coefficients_and_ses_are_the_fits_numbers(table, fits):
    body = table.body
    for j, r in enumerate(fits):
        col = body.columns[j]
        assert col == (r.outcome, f"({j + 1})")
        for t in r.terms:
            if t.startswith("year["):
                assert f"coef::{t}" not in body.index  # fixed-effect dummies are not shown
                continue
            assert body.loc[f"coef::{t}", col] == format_number(r.params[t], 3) + stars(
                r.pvalues[t]
            )
            assert body.loc[f"se::{t}", col] == f"({format_number(r.std_errors[t], 3)})"
        assert body.loc["stat::nobs", col] == f"{r.nobs:,d}"
        assert body.loc["stat::clusters::consortium_id", col] == str(r.n_clusters["consortium_id"])
    # a term a model does not have is blank, not zero
    assert body.loc["coef::lead_type[university]", body.columns[0]] == ""
    assert table.row_labels["coef::type_diversity"] == "Type diversity"
    assert table.column_labels["rd_per_member"] == "R&D per member"


def test_fixed_effect_rows_are_yes_or_no(table, fits):
    body = table.body
    assert table.row_labels["fe::consortium_id"] == "Consortium FE"
    assert table.row_labels["fe::year"] == "Year FE"
    assert list(body.index).index("fe::consortium_id") < list(body.index).index("fe::year")
    for j, r in enumerate(fits):
        expected = EXPECTED_FE[r.name]
        assert (body.iloc[:, j]["fe::consortium_id"], body.iloc[:, j]["fe::year"]) == expected
    cells = body.loc[["fe::consortium_id", "fe::year"]].to_numpy().ravel()
    assert set(cells) == {"Yes", "No"}  # the maketables 0.2 bug printed "-" here


def test_r2_rows_fit_the_estimator(table, fits):
    body = table.body
    by = {r.name: j for j, r in enumerate(fits)}

    def col(name):
        return body.columns[by[name]]

    assert body.loc["stat::r2", col("pooled")] == format_number(fits[by["pooled"]].r2["overall"], 3)
    assert body.loc["stat::r2", col("within")] == ""
    assert body.loc["stat::r2_within", col("within")] == format_number(
        fits[by["within"]].r2["within"], 3
    )
    # RE: its overall R² in the R² row (the CSV keeps its within R² too)
    assert body.loc["stat::r2", col("random")] == format_number(fits[by["random"]].r2["overall"], 3)
    assert body.loc["stat::r2_within", col("random")] == ""
    for name, key in (
        ("patents", "pseudo (McFadden, vs constant only)"),
        ("transfer", "pseudo (McFadden, Bernoulli quasi-LL)"),
    ):
        assert body.loc["stat::r2_pseudo", col(name)] == format_number(fits[by[name]].r2[key], 3)
    assert table.row_labels["stat::r2_pseudo"] == "Pseudo R² (McFadden)"
    assert list(body.loc["stat::estimator"]) == ["OLS", "FE", "FE", "RE", "PPML", "Frac. logit"]


def test_ame_panel(table, fits):
    body = table.body
    frac = fits[-1]
    col = body.columns[-1]
    assert table.row_labels["panel::ame"] == "B. Average marginal effects"
    for t, me in frac.marginal_effects.items():
        assert body.loc[f"ame::{t}", col] == format_number(me["estimate"], 3) + stars(me["p_value"])
        assert body.loc[f"amese::{t}", col] == f"({format_number(me['std_error'], 3)})"
    assert body.loc["ame::type_diversity", body.columns[0]] == ""  # OLS has no AME
    no_ame = regression_table(fits[:2])
    assert "panel::ame" not in no_ame.body.index and "panel::coef" not in no_ame.body.index
    assert "panel::ame" not in regression_table(fits, ame=False).body.index


def test_footnotes_one_per_convention(fits, tiny):
    t = regression_table(fits)
    assert t.notes[0] == (
        "Standard errors in parentheses, clustered by consortium_id (CR1). " + STAR_NOTE
        + ", two-sided, t(G−1) in (1), (2), (3), (4); normal in (5), (6)."
    )
    # the correction in full is a detail (HTML, Markdown), not in the short note
    se_notes = [n for n in t.details if "standard errors clustered" in n]
    assert se_notes == [
        "All models: standard errors clustered by consortium_id; " + fits[0].small_sample + "."
    ]
    other = [
        fit(dict(SPECS[0], cluster=["industry"]), tiny),
        fit(dict(SPECS[0], vcov={"small_sample": "CR1-G"}), tiny),
        fit(SPECS[1], tiny),
    ]
    t2 = regression_table(other)
    assert "clustered by industry (CR1) in model (1)" in t2.notes[0]
    se_notes = [n for n in t2.details if "standard errors" in n and ":" in n[:12]]
    assert len(se_notes) == 3
    assert se_notes[0].startswith("Model (1): standard errors clustered by industry; CR1")
    assert se_notes[1].startswith("Model (2): standard errors clustered by consortium_id; CR1 (G")
    assert se_notes[2].startswith("Model (3): standard errors clustered by consortium_id; CR1:")
    assert any(n.startswith("Estimators: (1) Pooled OLS") for n in t2.details)


def test_terms_labels_and_files(fits, tmp_path):
    t = regression_table(fits[:2], terms=["n_members"], model_labels=["Pooled", "Within"])
    coef_rows = [k for k in t.body.index if k.startswith("coef::")]
    assert coef_rows == ["coef::n_members"]
    assert t.column_labels["(1)"] == "Pooled"
    paths = write_table(t, tmp_path / "reg")
    csv = pd.read_csv(paths["csv"])
    assert {"column", "model", "outcome", "quantity", "term", "estimate", "stars"} <= set(csv)
    row = csv[(csv.column == "(2)") & (csv.term == "n_members") & (csv.quantity == "coef")]
    assert row["estimate"].iloc[0] == pytest.approx(fits[1].params["n_members"], rel=1e-9)
    with pytest.raises(ValueError, match="at least one"):
        regression_table([])


def test_mediation_table_numbers(med):
    t = mediation_table([med, med])
    body = t.body
    col = body.columns[0]
    for q in ("a", "b", "direct", "indirect", "total"):
        assert body.loc[f"est::{q}", col] == format_number(med.estimates[q], 3)
        assert body.loc[f"se::{q}", col] == f"({format_number(med.std_errors[q], 3)})"
        lo, hi = med.ci_percentile[q]
        assert body.loc[f"pct::{q}", col] == f"[{format_number(lo, 3)}, {format_number(hi, 3)}]"
    lo, hi = med.ci_bca["indirect"]
    assert (
        body.loc["bca::indirect", col]
        == "{" + f"{format_number(lo, 3)}, {format_number(hi, 3)}" + "}"
    )
    assert body.loc["sobel::z", col] == format_number(med.sobel["z"], 2)
    assert body.loc["stat::n_boot", col] == "199" and body.loc["stat::seed", col] == "20240601"
    assert body.loc["stat::fe", col] == "Consortium, Year"
    assert len([n for n in t.details if "standard errors clustered" in n]) == 1
    assert any("percentile" in n and "BCa" in n for n in t.notes)
    csv = t.data
    assert list(csv["quantity"]) == ["a", "b", "direct", "indirect", "total"] * 2


def test_latex_needs_no_unicode_setup(table, med, tiny):
    """pdflatex with inputenc utf8 knows · (and the writer escapes ², −, –): nothing else
    outside ASCII may reach the .tex (→, ′, √ would stop the compilation)."""
    from consortia.estimate.system import system_fit

    sur = system_fit([dict(s, name=f"s{j}") for j, s in enumerate(SPECS[:2])], tiny)
    for t in (table, mediation_table([med]), regression_table(sur)):
        tex = to_latex_booktabs(t)
        assert {ch for ch in tex if ord(ch) > 127} <= {"·"}, sorted(
            {c for c in tex if ord(c) > 127}
        )
