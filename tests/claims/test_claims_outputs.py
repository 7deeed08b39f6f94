"""Outputs on the committed demo data: JSON round trip, claims table, forest plot."""

from __future__ import annotations

import json

import pytest

from consortia.claims.outputs import (
    claims_table,
    forest_plot,
    read_results,
    results_frame,
    write_outputs,
)
from consortia.claims.verdict import NOT_TESTABLE, STATISTICAL_VERDICTS
from consortia.render.table import Table
from consortia.render.table_writers import to_latex_booktabs, to_markdown

# Not testable on any consortium dataset of the contract: no non-consortium comparison tasks;
# a single case.
NOT_TESTABLE_ON_THE_DEMO = {
    "organised_research_cycle": "tasks.in_consortium",
    "smic_yield_case": "single case",
}


def test_demo_every_claim_gets_a_statistical_verdict(demo_results):
    for c in demo_results.claims:
        if c.id in NOT_TESTABLE_ON_THE_DEMO:
            assert c.verdict == NOT_TESTABLE and NOT_TESTABLE_ON_THE_DEMO[c.id] in c.reason
            continue
        assert c.verdict in STATISTICAL_VERDICTS, c.id
        for t in c.tests:
            assert t.ci_lower <= t.estimate <= t.ci_upper or t.scale == "log", (c.id, t.name)
            assert t.n_clusters > 1 and t.method


@pytest.mark.slow
def test_write_outputs_and_round_trip(demo_results, tmp_path):
    paths = write_outputs(
        demo_results,
        tmp_path / "tables" / "claims",
        tmp_path / "figures" / "claims_forest",
        tmp_path / "claims.json",
    )
    assert {p.suffix for p in paths["table"].values()} == {".tex", ".html", ".md", ".csv"}
    assert all(p.exists() and p.stat().st_size > 0 for p in paths["figure"].values())
    data = json.loads(paths["json"].read_text(encoding="utf-8"))  # strict JSON (no NaN)
    assert data["verdicts"] == demo_results.verdicts
    assert data["settings"]["seed"] == demo_results.settings["seed"]
    back = read_results(paths["json"])
    assert back.verdicts == demo_results.verdicts
    # the table is built from the stored JSON and equals the one from the live results
    assert to_markdown(claims_table(back)) == to_markdown(claims_table(demo_results))
    frame = results_frame(back)
    assert len(frame) == sum(len(c.tests) for c in demo_results.claims)
    assert {
        "claim_id",
        "test",
        "estimate",
        "ci_lower",
        "ci_upper",
        "claimed",
        "verdict",
        "method",
        "n_consortia",
        "mde",
        "p_support",
        "p_contradict",
        "consortia_needed_to_support",
    } <= set(frame.columns)


def test_table_and_figure_objects(demo_results):
    table = claims_table(demo_results)
    assert isinstance(table, Table)
    assert list(table.body.columns[:5]) == ["estimate", "ci", "claimed", "rival", "verdict"]
    md = to_markdown(table)
    for c in demo_results.claims:  # by label and section; no raw ids or keys
        assert f"(§{c.section})" in md and c.id.replace("_", "\\_") + "]" not in md
        for t in c.tests:  # the role of a test that is not primary is part of its name
            if t.role != "primary":
                assert f"({t.role.replace('_', '-')})" in md
    assert "average marginal effect" in md and "| ame" not in md
    assert "p = \\<" not in md and "p \\< 0.001" in md  # Markdown escapes <
    # LaTeX: the key columns in a longtable; the method, rival and power stay in HTML and CSV
    tex = to_latex_booktabs(table)
    assert "\\begin{longtable}" in tex and "Method" not in tex and "Method" in md
    fig = forest_plot(demo_results)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert len(labels) == sum(len(c.tests) for c in demo_results.claims)


@pytest.mark.slow
def test_outputs_are_deterministic(demo_results, tmp_path):
    a = write_outputs(
        demo_results, tmp_path / "a" / "t", tmp_path / "a" / "f", tmp_path / "a" / "r.json"
    )
    b = write_outputs(
        demo_results, tmp_path / "b" / "t", tmp_path / "b" / "f", tmp_path / "b" / "r.json"
    )
    assert a["json"].read_bytes() == b["json"].read_bytes()
    assert a["table"]["md"].read_bytes() == b["table"]["md"].read_bytes()
    assert a["figure"]["png"].read_bytes() == b["figure"]["png"].read_bytes()


@pytest.mark.slow
def test_claims_step_over_paths(demo_tables, tmp_path):
    from pathlib import Path

    from consortia.claims.steps import claims_step, claims_tables_step

    root = Path(__file__).resolve().parents[2]
    demo_tables["panel"].to_parquet(tmp_path / "panel.parquet", index=False)
    demo_tables["tasks"].to_parquet(tmp_path / "tasks.parquet", index=False)
    res = claims_step(
        root / "config" / "claims.yaml",
        tmp_path / "panel.parquet",
        tmp_path / "out" / "claims.json",
        tasks_path=tmp_path / "tasks.parquet",
        seed=demo_tables["seed"],
    )
    claims_tables_step(
        tmp_path / "out" / "claims.json",
        tmp_path / "out" / "claims",
        tmp_path / "out" / "claims_forest",
        tmp_path / "out" / "claims_by_claim.csv",
    )
    assert (tmp_path / "out" / "claims.md").exists()
    assert (tmp_path / "out" / "claims_by_claim.csv").exists()
    assert (tmp_path / "out" / "claims_forest.png").exists()
    assert read_results(tmp_path / "out" / "claims.json").verdicts == res.verdicts


def test_claims_csv_one_row_per_claim_with_the_issue_columns(demo_results, tmp_path):
    import pandas as pd

    paths = write_outputs(demo_results, json_path=tmp_path / "c.json", csv_path=tmp_path / "c.csv")
    frame = pd.read_csv(paths["csv"])
    assert list(frame["claim_id"]) == demo_results.ids  # one row per claim, registry order
    issue_columns = {
        "estimate", "ci_lower", "ci_upper", "claimed", "claimed_value", "p_value", "p_holm",
        "n_obs", "n_consortia", "method", "verdict", "mde", "consortia_needed_80",
    }  # fmt: skip
    assert issue_columns <= set(frame.columns)
    tested = frame[frame["verdict"] != NOT_TESTABLE]
    assert (tested["p_holm"] >= tested["p_value"] - 1e-15).all()
    assert tested["consortia_needed_80"].notna().all() and tested["method"].str.len().gt(0).all()
    untested = frame.set_index("claim_id").loc[list(NOT_TESTABLE_ON_THE_DEMO)]
    assert untested["estimate"].isna().all() and untested["reason"].str.len().gt(0).all()
    assert untested.loc["organised_research_cycle", "missing_columns"] == "tasks.in_consortium"
    row = frame.set_index("claim_id").loc["transfer_rate"]
    level = demo_results["transfer_rate"].test("level")
    assert (row["test"], row["claimed_value"]) == ("level", 0.68)
    assert row["estimate"] == pytest.approx(level.estimate, rel=1e-12)
    assert row["ci_lower"] == pytest.approx(level.ci_lower, rel=1e-12)
    # the claim needs both primary tests to support it: the larger p decides
    gap = demo_results["transfer_rate"].test("gap")
    assert row["p_value"] == pytest.approx(max(level.p_support, gap.p_support), rel=1e-12)


def test_claims_csv_and_table_csv_may_not_collide(demo_results, tmp_path):
    with pytest.raises(ValueError, match="different paths"):
        write_outputs(demo_results, tmp_path / "claims", csv_path=tmp_path / "claims.csv")
