"""Tests of consortia.render.figure (theme, deterministic files, checks) and the
transfer-rate figure (consortia.describe)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from consortia.contract import LEAD_TYPE_ORDER
from consortia.describe import transfer_rate_by_lead_type
from consortia.render import figure as figures
from consortia.render.figure import (
    LEAD_TYPE_PALETTE,
    NothingToDraw,
    caption,
    layout_problems,
    save_figure,
    set_theme,
    theme,
    theme_rc,
)

# The panel used by the determinism tests, also rebuilt in a subprocess.
PANEL_CODE = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    rng = np.random.default_rng(7)
    rows = []
    for i in range(24):
        lead = ["enterprise", "university", "government"][i % 3]
        for year in (2019, 2020, 2021):
            rate = rng.uniform(0, 1) if rng.uniform() > 0.2 else np.nan
            rows.append((f"C{i:02d}", year, lead, rate))
    panel = pd.DataFrame(rows, columns=["consortium_id", "year", "lead_type", "transfer_rate"])
    """
)


@pytest.fixture
def panel() -> pd.DataFrame:
    scope: dict = {}
    exec(PANEL_CODE, scope)
    return scope["panel"]


def _ticks(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_xticklabels()]


def test_files_written_png_300_dpi(panel, tmp_path):
    paths = save_figure(transfer_rate_by_lead_type(panel), tmp_path / "sub" / "fig")
    assert paths["png"].name == "fig.png" and paths["pdf"].name == "fig.pdf"
    with Image.open(paths["png"]) as im:
        dpi = im.info["dpi"]
        assert dpi[0] == pytest.approx(300, abs=0.01) and dpi[1] == pytest.approx(300, abs=0.01)
        assert not {"Software", "Creation Time"} & set(im.info)
    pdf = paths["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and b"CreationDate" not in pdf


@pytest.mark.slow
def test_two_runs_are_byte_identical(panel, tmp_path):
    a = save_figure(transfer_rate_by_lead_type(panel), tmp_path / "a")
    b = save_figure(transfer_rate_by_lead_type(panel), tmp_path / "b")
    for kind in ("png", "pdf"):
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind


@pytest.mark.slow
def test_rerun_in_a_fresh_process_is_byte_identical(panel, tmp_path):
    """A workflow rerun is a new process (new hash seed, global rcParams untouched)."""
    here = save_figure(transfer_rate_by_lead_type(panel), tmp_path / "here")
    code = PANEL_CODE + textwrap.dedent(
        f"""
        from consortia.describe import transfer_rate_by_lead_type
        from consortia.render import figure
        figure.set_theme()
        figure.save_figure(transfer_rate_by_lead_type(panel), {str(tmp_path / "there")!r})
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    for kind in ("png", "pdf"):
        there = (tmp_path / f"there.{kind}").read_bytes()
        assert here[kind].read_bytes() == there, kind


def test_error_when_transfer_rate_absent_or_all_missing(panel):
    with pytest.raises(ValueError, match="no 'transfer_rate' column"):
        transfer_rate_by_lead_type(panel.drop(columns="transfer_rate"))
    with pytest.raises(NothingToDraw, match="missing in every consortium-year"):
        transfer_rate_by_lead_type(panel.assign(transfer_rate=np.nan))


def test_the_workflow_step_writes_a_placeholder_when_no_rate_is_defined(panel, tmp_path):
    from consortia.workflow import figure_transfer_rate_step

    panel.assign(transfer_rate=np.nan).to_parquet(tmp_path / "panel.parquet")
    outputs = [str(tmp_path / "f.png"), str(tmp_path / "f.pdf")]
    reason = figure_transfer_rate_step(str(tmp_path / "panel.parquet"), outputs, seed=1)
    assert "missing in every consortium-year" in reason
    assert all(Path(path).stat().st_size > 0 for path in outputs)
    panel.to_parquet(tmp_path / "panel.parquet")
    assert figure_transfer_rate_step(str(tmp_path / "panel.parquet"), outputs, seed=1) is None


def test_only_present_lead_types_with_n_in_ticks(panel):
    fig = transfer_rate_by_lead_type(panel)
    ticks = _ticks(fig)
    # enterprise, university, government in vocabulary order; research_institute/other absent
    assert [t.split("\n")[0] for t in ticks] == ["Enterprise", "University", "Government"]
    defined = panel.dropna(subset=["transfer_rate"])
    for tick, lead in zip(ticks, ["enterprise", "university", "government"], strict=True):
        n = defined.loc[defined.lead_type == lead, "consortium_id"].nunique()
        assert tick.endswith(f"(N = {n})")
    ax = fig.axes[0]
    assert ax.get_ylabel() and ax.get_xlabel() and not fig.get_suptitle()  # title: the caption
    assert caption(fig).startswith("Technology-transfer rate by lead type: one point per")
    assert "%" in ax.get_ylabel()


def test_consortium_year_level_and_lead_type_without_rates(panel):
    extra = pd.DataFrame(
        {"consortium_id": ["Z"], "year": [2020], "lead_type": ["other"], "transfer_rate": [np.nan]}
    )
    fig = transfer_rate_by_lead_type(pd.concat([panel, extra]), level="consortium-year")
    ticks = _ticks(fig)
    assert ticks[-1] == "Other\n(N = 0)"  # present in the panel, never a defined rate
    n_ent = int(panel.loc[panel.lead_type == "enterprise", "transfer_rate"].notna().sum())
    assert ticks[0] == f"Enterprise\n(N = {n_ent})"


def test_colours_follow_the_fixed_palette(panel):
    fig = transfer_rate_by_lead_type(panel[panel.lead_type != "enterprise"])
    colours = [mpl.colors.to_hex(c.get_facecolor()[0]) for c in fig.axes[0].collections]
    assert colours == [LEAD_TYPE_PALETTE[t].lower() for t in ("university", "government")]


def test_theme_is_one_set_of_settings():
    assert list(LEAD_TYPE_PALETTE) == list(LEAD_TYPE_ORDER)
    assert len(set(LEAD_TYPE_PALETTE.values())) == len(LEAD_TYPE_PALETTE)
    rc = theme_rc()
    with mpl.rc_context():
        set_theme()
        for key in ("axes.grid", "axes.facecolor", "font.sans-serif", "font.size", "pdf.fonttype"):
            assert mpl.rcParams[key] == rc[key], key
        cycle = [mpl.colors.to_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
        assert cycle == [LEAD_TYPE_PALETTE[t].lower() for t in LEAD_TYPE_ORDER]


def test_written_out_seaborn_settings_equal_seaborns_own():
    # render/figure.py spells out seaborn's whitegrid + paper settings so that figure jobs need
    # not import seaborn; a seaborn upgrade that changes them must show up here.
    import seaborn as sns

    expected = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper")}
    assert expected.pop("image.cmap") == "rocket"
    assert figures._SEABORN_RC == expected


def test_figure_ignores_callers_rcparams(panel, tmp_path):
    a = save_figure(transfer_rate_by_lead_type(panel), tmp_path / "a")
    with mpl.rc_context({"font.size": 20, "axes.facecolor": "black"}):
        fig = transfer_rate_by_lead_type(panel)
    b = save_figure(fig, tmp_path / "b")
    assert a["png"].read_bytes() == b["png"].read_bytes()


def test_save_figure_rejects_a_file_name(panel, tmp_path):
    with pytest.raises(ValueError, match="stem"):
        save_figure(transfer_rate_by_lead_type(panel), tmp_path / "fig.png")


def test_save_figure_writes_the_caption_beside_the_images(panel, tmp_path):
    paths = save_figure(transfer_rate_by_lead_type(panel), tmp_path / "fig")
    assert paths["txt"].read_text(encoding="utf-8").startswith("Technology-transfer rate")


def _text_figure(*texts):
    with theme():
        fig = Figure(figsize=(3, 2))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        for x, y, text in texts:
            ax.text(x, y, text, fontsize=12)
    return fig


def test_layout_problems_finds_clipped_and_overlapping_texts():
    assert layout_problems(_text_figure((0.1, 0.5, "apart"), (0.1, 0.1, "below"))) == []
    clipped = layout_problems(_text_figure((0.8, 0.5, "a text running off the edge")))
    assert len(clipped) == 1 and "clipped by the figure edge" in clipped[0]
    overlapping = layout_problems(_text_figure((0.1, 0.5, "one text"), (0.15, 0.52, "another")))
    assert len(overlapping) == 1 and "overlap" in overlapping[0]


def test_save_figure_logs_layout_problems(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="consortia.render.figure"):
        save_figure(_text_figure((0.8, 0.5, "a text running off the edge")), tmp_path / "bad")
    assert "figure layout of bad: text 'a text running off the edge' is clipped" in caplog.text
