"""Coefficient plots and the S → C → P path diagram: files, determinism, labels."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import simulate_panel
from consortia.estimate import fit
from consortia.estimate.figures import (
    MODEL_COLOURS,
    MODEL_MARKERS,
    PathEstimate,
    coefficient_plot,
    coefficient_plots,
    path_label,
    paths_from_mediation,
    scp_path_diagram,
)
from consortia.estimate.mediation import mediation
from consortia.estimate.system import system_fit
from consortia.render.figure import caption, save_figure

BASE = {"outcome": "rd_per_member", "regressors": ["type_diversity"], "controls": ["n_members"]}


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    d = simulate_panel(n=40, T=5, seed=8)
    rng = np.random.default_rng(2)
    d["collab_intensity"] = 0.8 * d["type_diversity"] + rng.normal(0, 0.3, len(d))
    d["rd_per_member"] = d["rd_per_member"] + 0.6 * d["collab_intensity"]
    return d


@pytest.fixture(scope="module")
def linear_fits(panel):
    return [
        fit(dict(BASE, name="pooled", estimator="ols"), panel),
        fit(dict(BASE, name="within", estimator="twfe"), panel),
        fit(dict(BASE, name="random", estimator="re"), panel),
    ]


@pytest.fixture(scope="module")
def med(panel):
    return mediation(panel, "type_diversity", "collab_intensity", "rd_per_member",
                     controls=["n_members"], n_boot=99, seed=4)  # fmt: skip


def _texts(fig) -> list[str]:
    out = [t.get_text() for ax in fig.axes for t in ax.texts]
    out += [fig.get_suptitle()] if fig.get_suptitle() else []
    return out


def _fmt(x: float) -> str:
    return f"{round(x, 3) + 0.0:.3f}".replace("-", "\u2212")


def _check_files(paths):
    with Image.open(paths["png"]) as im:
        assert im.info["dpi"][0] == pytest.approx(300, abs=0.01)
    assert paths["pdf"].read_bytes().startswith(b"%PDF")


# --------------------------------------------------------------------------- #
# Coefficient plot
# --------------------------------------------------------------------------- #


@pytest.mark.slow
def test_coefficient_plot_files_and_determinism(linear_fits, tmp_path):
    a = save_figure(coefficient_plot(linear_fits), tmp_path / "a")
    b = save_figure(coefficient_plot(linear_fits), tmp_path / "b")
    _check_files(a)
    for kind in ("png", "pdf"):
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind


def test_coefficient_plot_draws_the_estimates_and_intervals(linear_fits):
    fig = coefficient_plot(linear_fits, labels={"type_diversity": "Type diversity"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Type diversity", "n_members"]
    assert fig.get_supxlabel() == "Coefficient with 95% confidence interval"
    # one scatter (points) and one line collection (CIs) per model, in model order
    points = [c for c in ax.collections if c.get_offsets().size and not hasattr(c, "get_segments")]
    bars = [c for c in ax.collections if hasattr(c, "get_segments")]
    assert len(points) == len(bars) == 3
    for j, (r, pts, bar) in enumerate(zip(linear_fits, points, bars, strict=True)):
        xs = np.asarray(pts.get_offsets())[:, 0]
        np.testing.assert_allclose(xs, [r.params["type_diversity"], r.params["n_members"]])
        segs = bar.get_segments()
        np.testing.assert_allclose(
            [segs[0][0][0], segs[0][1][0]], r.conf_int["type_diversity"], rtol=1e-12
        )
        assert mpl.colors.to_hex(pts.get_facecolor()[0]) == MODEL_COLOURS[j].lower()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["(1) pooled [OLS]", "(2) within [FE]", "(3) random [RE]"]
    markers = [h.get_marker() for h in fig.legends[0].legend_handles]
    assert markers == list(MODEL_MARKERS[:3])
    zero = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0, 0]]
    assert zero and zero[0].get_linestyle() == "--"
    # the title opens the caption, not the image
    assert not fig.get_suptitle() and caption(fig).startswith("Linear models. Point estimates")


def test_coefficient_plot_facets_outcomes_on_their_own_scales(linear_fits, panel):
    other = fit({**linear_fits[0].spec, "name": "rate", "outcome": "transfer_rate"}, panel)
    fig = coefficient_plot([linear_fits[0], other])
    assert len(fig.axes) == 2  # one panel per outcome, x limits of their own
    assert [ax.get_title() for ax in fig.axes] == [linear_fits[0].outcome, "transfer_rate"]
    assert fig.axes[0].get_xlim() != fig.axes[1].get_xlim()
    assert not fig.legends  # one model a panel: the panel title names it


def test_one_plot_per_family(linear_fits, panel):
    frac = fit({"name": "rate", "outcome": "transfer_rate", "regressors": ["type_diversity"],
                "controls": ["n_members"], "estimator": "fraclogit"}, panel)  # fmt: skip
    with pytest.raises(ValueError, match="model families"):
        coefficient_plot([*linear_fits, frac])
    figs = coefficient_plots([*linear_fits, frac])
    assert list(figs) == ["linear", "rates"]
    ame = coefficient_plot([frac], quantity="ame")
    pts = next(c for c in ame.axes[0].collections if not hasattr(c, "get_segments"))
    assert np.asarray(pts.get_offsets())[0, 0] == pytest.approx(
        frac.marginal_effects["type_diversity"]["estimate"]
    )
    assert "marginal effect" in ame.get_supxlabel()
    with pytest.raises(ValueError, match="marginal effects"):
        coefficient_plot(linear_fits, quantity="ame")


# --------------------------------------------------------------------------- #
# Path diagram
# --------------------------------------------------------------------------- #


def test_path_diagram_labels_contain_the_numbers(med):
    fig = scp_path_diagram(med, labels={"collab_intensity": "Collaboration intensity"})
    texts = _texts(fig)
    for q, name in (("a", "a"), ("b", "b"), ("direct", "c′")):
        lo, hi = med.ci_percentile[q]  # the mediation table's bootstrap interval
        expected = f"{name} = {_fmt(med.estimates[q])}\n[{_fmt(lo)}, {_fmt(hi)}]"
        assert expected in texts, (expected, texts)
    lo, hi = med.ci_percentile["indirect"]
    text = caption(fig)
    indirect = _fmt(med.estimates["indirect"])
    assert f"indirect effect a·b = {indirect} [{_fmt(lo)}, {_fmt(hi)}]" in text
    assert med.name not in text  # labels, not ids
    for heading in ("Structure", "Conduct", "Performance"):
        assert heading in texts
    flat = [t.replace("\n", " ") for t in texts]
    assert "Collaboration intensity" in flat and "type_diversity" in flat


def test_path_diagram_arrows_and_styles(med):
    paths = paths_from_mediation(med)
    fig = scp_path_diagram(paths)
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, mpl.patches.FancyArrowPatch)]
    boxes = [p for p in ax.patches if isinstance(p, mpl.patches.FancyBboxPatch)]
    assert len(arrows) == 3 and len(boxes) == 3
    for arrow, p in zip(arrows, paths, strict=True):
        solid = arrow.get_linestyle() in ("-", "solid")
        assert solid == p.excludes_zero


def test_path_diagram_deterministic_files(med, tmp_path):
    a = save_figure(scp_path_diagram(med), tmp_path / "a")
    b = save_figure(scp_path_diagram(med), tmp_path / "b")
    _check_files(a)
    for kind in ("png", "pdf"):
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind


def test_path_diagram_from_fits_infers_roles(panel):
    specs = [
        {"name": "S_to_C", "outcome": "collab_intensity", "regressors": ["type_diversity"],
         "controls": ["n_members"]},
        {"name": "C_to_P", "outcome": "rd_per_member",
         "regressors": ["collab_intensity", "type_diversity"], "controls": ["n_members"]},
    ]  # fmt: skip
    sur = system_fit(specs, panel)
    fig = scp_path_diagram(sur)
    texts = _texts(fig)
    for r in sur:
        for t in r.spec["regressors"]:
            p = PathEstimate(t, r.outcome, r.params[t], *r.conf_int[t])
            assert path_label(p) in texts
    # the box of each variable sits in its role's column: structure left, conduct middle
    ax = fig.axes[0]
    x_of = {t.get_text(): t.get_position()[0] for t in ax.texts}
    assert x_of["type_diversity"] < x_of["collab_intensity"] < x_of["rd_per_member"]
    with pytest.raises(TypeError, match="MediationResult"):
        scp_path_diagram([1.0])
    with pytest.raises(ValueError, match="roles"):
        scp_path_diagram(sur, roles={"collab_intensity": "market"})
