"""The figure layer: one theme for every figure, deterministic files, captions, checks.

* :func:`set_theme` applies the project's seaborn theme globally (for notebooks
  and ad-hoc plots); the figure functions here do not depend on it: they draw
  inside :func:`theme`, a context with the same settings, so a figure looks the
  same whatever the caller did to ``matplotlib.rcParams``.
* Colours mean the same thing in every figure: :data:`LEAD_TYPE_PALETTE` fixes
  one colour (Okabe-Ito, colour-blind safe) per lead type; plots take colours
  from it by name, never by position, so a missing lead type shifts nothing.
* :func:`save_figure` writes PNG (300 dpi) and PDF without timestamps or
  version strings in the PNG, and without a creation date in the PDF, so a
  rerun gives byte-identical files. Fonts are pinned to DejaVu Sans, which
  ships with matplotlib, so every machine renders the same glyphs.
* Titles belong in captions, as journals set them: the figure functions draw
  no title unless one is passed (``title=``), and attach their caption (what
  the figure shows, the sample, the estimator) with :func:`set_caption`;
  :func:`save_figure` writes it beside the images as ``stem.txt``.
* Every saved figure is checked (:func:`layout_problems`): a text clipped by
  the figure's edge or overlapping another text is logged as a warning naming
  the texts (the workflow's logs; the tests fail on any).
* Figures are built with ``matplotlib.figure.Figure`` (no pyplot): no GUI
  backend, no global figure registry to leak memory in a workflow.
* A figure the data cannot support (nothing defined to plot) raises
  :class:`NothingToDraw`; the workflow's steps draw through
  :func:`draw_or_placeholder`, which then writes a placeholder naming the reason
  instead of stopping the run.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import textwrap
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import matplotlib as mpl
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from consortia.contract import LEAD_TYPE_ORDER

# Okabe & Ito (2008) colour-blind-safe colours, one per lead type, fixed.
LEAD_TYPE_PALETTE: dict[str, str] = {
    "enterprise": "#0072B2",  # blue
    "university": "#E69F00",  # orange
    "research_institute": "#009E73",  # bluish green
    "government": "#CC79A7",  # reddish purple
    "other": "#999999",  # grey
}
# For a lead type outside the vocabulary (should not reach a clean panel).
UNKNOWN_COLOUR = "#444444"

PNG_DPI = 300
FIGURE_SUFFIXES = (".png", ".pdf", ".txt")

_STYLE, _CONTEXT = "whitegrid", "paper"
# seaborn's axes_style("whitegrid") and plotting_context("paper") as seaborn 0.13 defines
# them, written out because importing seaborn (and scipy with it) costs seconds in every
# figure job; tests/test_figures.py checks that they still equal seaborn's. Except
# "image.cmap": seaborn's "rocket" exists only once seaborn is imported, and no figure
# here maps values to colours.
_SEABORN_RC = {
    "figure.facecolor": "white",
    "axes.labelcolor": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "axes.axisbelow": True,
    "grid.linestyle": "-",
    "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "xtick.top": False,
    "ytick.right": False,
    "axes.grid": True,
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "grid.color": ".8",
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "xtick.bottom": False,
    "ytick.left": False,
    "axes.linewidth": 1.0,
    "grid.linewidth": 0.8,
    "lines.linewidth": 1.2000000000000002,
    "lines.markersize": 4.800000000000001,
    "patch.linewidth": 0.8,
    "xtick.major.width": 1.0,
    "ytick.major.width": 1.0,
    "xtick.minor.width": 0.8,
    "ytick.minor.width": 0.8,
    "xtick.major.size": 4.800000000000001,
    "ytick.major.size": 4.800000000000001,
    "xtick.minor.size": 3.2,
    "ytick.minor.size": 3.2,
    "font.size": 9.600000000000001,
    "axes.labelsize": 9.600000000000001,
    "axes.titlesize": 9.600000000000001,
    "xtick.labelsize": 8.8,
    "ytick.labelsize": 8.8,
    "legend.fontsize": 8.8,
    "legend.title_fontsize": 9.600000000000001,
}
_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # bundled with matplotlib: same glyphs everywhere
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 42,  # embed TrueType: text stays text (editable, searchable)
    "ps.fonttype": 42,
    "svg.hashsalt": "consortia",  # fixed ids if anyone saves SVG
    "figure.dpi": 100,
    "savefig.dpi": PNG_DPI,
    "axes.titlesize": "medium",
    "figure.titlesize": "large",
    "figure.titleweight": "bold",
}


def theme_rc() -> dict:
    """The rcParams of the project theme: seaborn whitegrid + paper, pinned fonts, palette."""
    rc: dict = dict(_SEABORN_RC)
    rc.update(_RC)
    rc["axes.prop_cycle"] = cycler(color=[LEAD_TYPE_PALETTE[t] for t in LEAD_TYPE_ORDER])
    return rc


def set_theme() -> None:
    """Apply the project theme globally (seaborn ``whitegrid``, ``paper``, lead-type palette)."""
    import seaborn as sns

    sns.set_theme(
        style=_STYLE,
        context=_CONTEXT,
        palette=[LEAD_TYPE_PALETTE[t] for t in LEAD_TYPE_ORDER],
        rc=_RC,
    )


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """Temporarily apply the project theme (restores the caller's rcParams on exit)."""
    with mpl.rc_context(theme_rc()):
        yield


log = logging.getLogger(__name__)


class NothingToDraw(ValueError):
    """The data hold nothing the figure can show (the message says why)."""


_CAPTIONS: weakref.WeakKeyDictionary[Figure, str] = weakref.WeakKeyDictionary()


def set_caption(fig: Figure, text: str) -> Figure:
    """Attach ``text`` as the caption :func:`save_figure` writes beside ``fig``."""
    _CAPTIONS[fig] = " ".join(str(text).split())
    return fig


def caption(fig: Figure) -> str:
    """The caption attached to ``fig`` ("" when none was)."""
    return _CAPTIONS.get(fig, "")


def placeholder_figure(title: str, lines: Sequence[str]) -> Figure:
    """A small figure saying that ``title`` was not drawn, and why (``lines``)."""
    wrapped = [part for line in lines for part in textwrap.wrap(line, 90) or [""]]
    with theme():
        fig = Figure(figsize=(6.4, 1.2 + 0.22 * len(wrapped)))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.text(0.5, 0.92, title, ha="center", va="top", fontweight="bold")
        ax.text(0.5, 0.45, "\n".join(wrapped), ha="center", va="center", fontsize="small")
    return set_caption(fig, f"{title}. " + " ".join(lines))


@contextlib.contextmanager
def _drawn_texts() -> Iterator[list[Text]]:
    """The text artists actually drawn while the block runs (a tick outside the view,
    an empty or invisible text is never drawn, so it cannot collide)."""
    drawn: list[Text] = []
    draw = Text.draw

    def recording(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return draw(self, renderer)

    Text.draw = recording
    try:
        yield drawn
    finally:
        Text.draw = draw


def layout_problems(fig: Figure, tolerance_px: float = 1.0) -> list[str]:
    """Texts of ``fig`` clipped by the figure's edge or overlapping one another.

    Extents come from the renderer (Agg, at the figure's dpi), after a full draw, so
    constrained layout has placed everything. Two texts overlap when their extents
    intersect by more than ``tolerance_px`` in both directions.
    """
    canvas = FigureCanvasAgg(fig)
    with theme(), _drawn_texts() as drawn:
        canvas.draw()
    renderer = canvas.get_renderer()
    edge = fig.bbox
    boxes = [(t, t.get_window_extent(renderer)) for t in drawn]
    problems = []

    def name(text: Text) -> str:
        return repr(" ".join(text.get_text().split())[:60])

    for text, box in boxes:
        out = max(edge.x0 - box.x0, box.x1 - edge.x1, edge.y0 - box.y0, box.y1 - edge.y1)
        if out > tolerance_px:
            problems.append(f"text {name(text)} is clipped by the figure edge ({out:.0f} px)")
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if width > tolerance_px and height > tolerance_px:
            problems.append(
                f"texts {name(a)} and {name(b)} overlap ({width:.0f} x {height:.0f} px)"
            )
    return problems


def draw_or_placeholder(
    draw: Callable[[], Figure], stem_path: str | Path, title: str
) -> str | None:
    """Save ``draw()``; if it raises :class:`NothingToDraw`, save a placeholder figure
    "``title``: not drawn" with the reason instead. Returns the reason, or None when
    the figure was drawn."""
    try:
        fig = draw()
    except NothingToDraw as exc:
        log.warning("figure %s not drawn: %s", Path(stem_path).name, exc)
        save_figure(placeholder_figure(f"{title}: not drawn", [str(exc)]), stem_path)
        return str(exc)
    save_figure(fig, stem_path)
    return None


def lead_type_colour(lead_type: str) -> str:
    return LEAD_TYPE_PALETTE.get(lead_type, UNKNOWN_COLOUR)


def save_figure(fig: Figure, stem_path: str | Path) -> dict[str, Path]:
    """Write ``stem.png`` (300 dpi), ``stem.pdf`` and the caption ``stem.txt``; return
    ``{"png": path, "pdf": path, "txt": path}``. A layout problem (:func:`layout_problems`)
    is logged as a warning.

    Deterministic: the PNG carries no Software/time chunks, the PDF no
    CreationDate, and both are written under the project theme's save-time
    settings (TrueType fonts in the PDF), so rerunning the same code on the same
    data gives byte-identical files (tested, also across processes).
    """
    stem = Path(stem_path)
    if stem.suffix.lower() in FIGURE_SUFFIXES:
        raise ValueError(
            f"{stem_path!s} looks like a file name; pass the stem without a suffix "
            f"(save_figure adds {', '.join(FIGURE_SUFFIXES)})"
        )
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = stem.with_name(stem.name + ".png")
    pdf = stem.with_name(stem.name + ".pdf")
    txt = stem.with_name(stem.name + ".txt")
    # Save-time settings (e.g. pdf.fonttype) come from the theme, not from the
    # caller's global rcParams, so the files do not depend on who called set_theme.
    with theme():
        fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
        fig.savefig(pdf, format="pdf", metadata={"CreationDate": None, "ModDate": None})
    txt.write_text(caption(fig) + "\n", encoding="utf-8")
    for problem in layout_problems(fig):
        log.warning("figure layout of %s: %s", stem.name, problem)
    return {"png": png, "pdf": pdf, "txt": txt}
