"""The claims figures: Kaplan–Meier curves with the number at risk, and transfer rates by lead
type against the claim's reference lines (values read from the registry)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from consortia.claims import load_registry
from consortia.claims.figures import (
    km_curves,
    pooled_rates,
    time_ratio_summary,
    transfer_rate_vs_claim,
)
from consortia.claims.steps import km_figure_step, transfer_figure_step
from consortia.contract import LEAD_TYPE_LABELS


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


@pytest.mark.slow
def test_km_figure_has_one_curve_and_one_at_risk_row_per_lead_type(demo_tables):
    tasks = demo_tables["tasks"]
    fig = km_curves(tasks)
    curves, table = fig.axes
    leads = [lt for lt in LEAD_TYPE_LABELS if lt in set(tasks["lead_type"])]
    legend = [t.get_text() for t in curves.get_legend().get_texts()]
    assert [entry.split(" (")[0] for entry in legend] == [LEAD_TYPE_LABELS[lt] for lt in leads]
    rows = [t.get_text() for t in table.get_yticklabels()]
    assert rows == [LEAD_TYPE_LABELS[lt] for lt in reversed(leads)]
    # at time 0 every task of the lead type is at risk; at the last tick, those lasting longer
    ticks = sorted({t.get_position()[0] for t in table.texts})
    assert ticks[0] == 0
    for x in (ticks[0], ticks[-1]):
        column = {int(t.get_position()[1]): t.get_text() for t in table.texts
                  if t.get_position()[0] == x}  # fmt: skip
        for row, lt in enumerate(reversed(leads)):
            d = tasks.loc[(tasks["lead_type"] == lt) & (tasks["duration_years"] > 0)]
            assert column[row] == f"{int((d['duration_years'] >= x).sum()):,d}", (lt, x)


@pytest.mark.slow
def test_km_figure_step_quotes_the_primary_test(demo_tables, demo_results, tmp_path):
    from consortia.claims.outputs import write_results_json

    tasks_path = tmp_path / "tasks.parquet"
    demo_tables["tasks"].to_parquet(tasks_path)
    json_path = write_results_json(demo_results, tmp_path / "claims.json")
    assert km_figure_step(tasks_path, tmp_path / "km", json_path) is None  # drawn
    for suffix in (".png", ".pdf", ".txt"):
        assert (tmp_path / f"km{suffix}").stat().st_size > 0
    summary = time_ratio_summary(json_path)
    tr = demo_results["breakthrough_speed"].test("median_ratio")  # the claim's primary test
    assert summary["estimate"] == pytest.approx(tr.estimate)
    assert summary["verdict"] == tr.verdict
    assert summary["label"].startswith("enterprise- vs university-led tasks (industry")
    text = (tmp_path / "km.txt").read_text(encoding="utf-8")
    assert f"{tr.estimate:.3f}" in text and tr.claimed_text in text
    assert "breakthrough" in text
    # the axes' wording comes from the config's labels (CORDIS: contractual durations)
    assert km_figure_step(tasks_path, tmp_path / "kc", json_path,
                          labels={"task_time": "Contractual duration",
                                  "task_survival": "Share of projects still running"}) is None
    text = (tmp_path / "kc.txt").read_text(encoding="utf-8")
    assert "breakthrough" not in text.split(".")[0] and "projects still running" in text
    assert time_ratio_summary(None) is None


def test_km_figure_step_without_a_positive_duration_writes_a_placeholder_naming_why(
    demo_tables, tmp_path
):
    tasks_path = tmp_path / "tasks.parquet"
    demo_tables["tasks"].iloc[:0].to_parquet(tasks_path)  # a header and no rows
    reason = km_figure_step(tasks_path, tmp_path / "km")
    assert "no task has a positive duration" in reason
    for suffix in (".png", ".pdf"):
        assert (tmp_path / f"km{suffix}").stat().st_size > 0


def test_km_figure_needs_durations(demo_tables):
    with pytest.raises(ValueError, match="duration_years"):
        km_curves(demo_tables["tasks"].drop(columns="duration_years"))


def test_transfer_figure_reference_lines_come_from_the_registry(demo_tables, registry_raw):
    panel = demo_tables["panel"]
    fig = transfer_rate_vs_claim(panel, load_registry(registry_raw))
    ax = fig.axes[0]
    lines = sorted(
        round(line.get_ydata()[0], 6) for line in ax.get_lines() if line.get_linestyle() == "--"
    )
    assert lines == [0.45, 0.68]
    labels = _texts(ax)
    assert any("68%" in t and "claimed" in t for t in labels)
    assert any("45%" in t and "average" in t for t in labels)
    # another claimed value in the registry moves the line: nothing is fixed in the figure
    edited = copy.deepcopy(registry_raw)
    edited["claims"][0]["tests"][0]["claimed"]["value"] = 0.75
    ax = transfer_rate_vs_claim(panel, load_registry(edited)).axes[0]
    assert 0.75 in {round(line.get_ydata()[0], 6) for line in ax.get_lines()}


def test_pooled_rates_are_sums_over_sums(demo_tables, demo_results):
    panel = demo_tables["panel"]
    rates = pooled_rates(panel)
    d = panel[panel["achievements"] > 0]
    for lt, (est, lo, hi) in rates.items():
        g = d[d["lead_type"] == lt]
        assert est == pytest.approx(g["achievements_transferred"].sum() / g["achievements"].sum())
        assert lo < est < hi
    level = demo_results["transfer_rate"].test("level")
    assert rates["enterprise"] == pytest.approx((level.estimate, level.ci_lower, level.ci_upper))


@pytest.mark.slow
def test_transfer_figure_step_writes_files(demo_tables, tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    demo_tables["panel"].to_parquet(tmp_path / "panel.parquet")
    drawn = transfer_figure_step(
        root / "config" / "claims.yaml", tmp_path / "panel.parquet", tmp_path / "t", seed=3
    )
    assert drawn is None
    assert all((tmp_path / f"t{suffix}").stat().st_size > 0 for suffix in (".png", ".pdf"))
    # every achievement zero: no rate is defined, a placeholder says so
    demo_tables["panel"].assign(achievements=0, achievements_transferred=0,
                                transfer_rate=float("nan")).to_parquet(tmp_path / "zero.parquet")
    reason = transfer_figure_step(
        root / "config" / "claims.yaml", tmp_path / "zero.parquet", tmp_path / "z", seed=3
    )
    assert "transfer_rate is missing in every consortium-year" in reason
    assert all((tmp_path / f"z{suffix}").stat().st_size > 0 for suffix in (".png", ".pdf"))


def test_plain_transfer_figure_has_no_reference_lines(demo_tables):
    from consortia.describe import transfer_rate_by_lead_type

    ax = transfer_rate_by_lead_type(pd.DataFrame(demo_tables["panel"])).axes[0]
    assert not [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert ax.get_legend() is None and not ax.texts


def test_km_caption_says_unbounded_for_an_interval_end_stored_as_null(demo_tables):
    """claims.json stores an infinite interval end as null (found by the shape sweep: the
    caption's format raised a TypeError)."""
    from consortia.render.figure import caption

    ratio = {"test": "Median ratio", "label": "enterprise vs university", "estimate": 0.8,
             "ci_lower": 0.5, "ci_upper": None, "claimed_text": "0.75",
             "verdict": "inconclusive"}  # fmt: skip
    text = caption(km_curves(demo_tables["tasks"], time_ratio=ratio))
    assert "0.800 (95% CI 0.500–unbounded)" in text
