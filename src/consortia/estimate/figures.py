"""Figures of fitted SCP models: coefficient plots and the S → C → P path diagram.

Both draw inside :func:`consortia.render.figure.theme` on a bare
``matplotlib.figure.Figure`` (no pyplot) and are saved with
:func:`consortia.render.figure.save_figure` (PNG 300 dpi + PDF, byte-identical
reruns).  They read stored results only (:class:`FitResult`,
:class:`MediationResult`), never refit.

* :func:`coefficient_plot` — one figure per model family (linear, counts,
  rates: their coefficients are on different scales): every model's point
  estimate with its 95% confidence interval (the interval stored with the
  fit: t(G−1) for linear models, normal otherwise), models told apart by
  colour *and* marker, a dashed line at zero; outcomes in panels of their
  own scale.  :func:`coefficient_plots` makes the per-family figures of a
  mixed list.
* :func:`scp_path_diagram` — boxes for the structure, conduct and
  performance variables (three columns) and arrows labelled with the path
  coefficient and its 95% CI (a mediation's cluster-bootstrap interval, as in
  the mediation table); solid when the CI excludes zero, dashed when it does
  not.  Paths come from mediation results (a, b and c′) and/or from fits
  (each regressor → the outcome).  Titles go to the captions
  (:func:`consortia.render.figure.set_caption`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from consortia.render.figure import set_caption, theme

from .mediation_result import MediationResult
from .results import FitResult
from .spec import ESTIMATORS

__all__ = [
    "MODEL_COLOURS",
    "MODEL_MARKERS",
    "ROLE_COLOURS",
    "PathEstimate",
    "coefficient_plot",
    "coefficient_plots",
    "model_family",
    "paths_from_fit",
    "paths_from_mediation",
    "scp_path_diagram",
]

# Okabe–Ito colours in a fixed order (model 1, 2, …) and one marker per model.
MODEL_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MODEL_MARKERS = ("o", "s", "D", "^", "v", "P", "X")
ROLE_COLOURS = {"structure": "#0072B2", "conduct": "#009E73", "performance": "#D55E00"}
ROLES = ("structure", "conduct", "performance")
FAMILY_TITLES = {
    "linear": "Linear models",
    "counts": "Count models (Poisson PML, log scale)",
    "rates": "Rate models (fractional logit)",
}


def model_family(res: FitResult) -> str:
    """``linear``, ``counts`` or ``rates``: the scale the coefficients are on."""
    return ESTIMATORS[res.estimator].family


def _default_terms(results: Sequence[FitResult], quantity: str) -> list[str]:
    seen: dict[str, None] = {}
    for r in results:
        source = (r.marginal_effects or {}) if quantity == "ame" else r.params
        skip = set(r.extra.get("mean_terms", []))
        for t in r.terms:
            if t not in source or t == "(Intercept)" or t in skip:
                continue
            if any(t.startswith(f"{fe}[") for fe in r.fixed_effects):
                continue
            seen.setdefault(t)
    return list(seen)


def coefficient_plot(
    results: Sequence[FitResult],
    terms: Sequence[str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    model_labels: Sequence[str] | None = None,
    quantity: str = "coef",
    title: str | None = None,
    show_title: bool = False,
    allow_mixed: bool = False,
) -> Figure:
    """Point estimates with 95% CIs of several models of one family.

    ``terms`` (default: every regressor and control of any model, without
    intercept, fixed-effect dummies and Mundlak means) are rows, top to
    bottom; models of different outcomes go to panels side by side, each with
    its own x scale (outcomes differ in units); models of one outcome are
    offset vertically within a row, in colour and marker order. ``title``
    opens the caption (drawn too with ``show_title``).  ``quantity="ame"``
    plots the average marginal effects of fractional-logit fits instead of
    their log-odds coefficients.  Mixing families raises unless
    ``allow_mixed`` (use :func:`coefficient_plots`).
    """
    results = list(results)
    if not results:
        raise ValueError("coefficient_plot needs at least one FitResult")
    if quantity not in ("coef", "ame"):
        raise ValueError(f"quantity must be 'coef' or 'ame', not {quantity!r}")
    if quantity == "ame":
        results = [r for r in results if r.marginal_effects]
        if not results:
            raise ValueError("none of the results has average marginal effects")
    families = sorted({model_family(r) for r in results})
    if len(families) > 1 and not allow_mixed:
        raise ValueError(
            f"the results mix model families {families} whose coefficients are on different "
            "scales; plot each family separately (coefficient_plots) or pass allow_mixed=True"
        )
    if len(results) > len(MODEL_COLOURS):
        raise ValueError(f"at most {len(MODEL_COLOURS)} models per coefficient plot")
    labels = dict(labels or {})
    terms = list(terms) if terms is not None else _default_terms(results, quantity)
    if not terms:
        raise ValueError("no terms to plot")
    names = (
        list(model_labels)
        if model_labels is not None
        else [
            f"({j}) {r.name} [{ESTIMATORS[r.estimator].short}]"
            for j, r in enumerate(results, start=1)
        ]
    )
    if len(names) != len(results):
        raise ValueError("model_labels must have one entry per result")

    outcomes = list(dict.fromkeys(r.outcome for r in results))
    panels = {o: [j for j, r in enumerate(results) if r.outcome == o] for o in outcomes}
    legend = len(outcomes) == 1 or any(len(js) > 1 for js in panels.values())
    per_panel = max(len(js) for js in panels.values())
    with theme():
        fig = Figure(
            figsize=(
                min(12.0, 4.2 + 2.6 * len(outcomes) + (2.4 if legend else 0.0)),
                1.6 + 0.42 * len(terms) * max(1, per_panel / 2.5),
            ),
            layout="constrained",
        )
        axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
        handles = []
        for ax, outcome in zip(axes, outcomes, strict=True):
            js = panels[outcome]
            step = 0.7 / len(js)
            for k, j in enumerate(js):
                r = results[j]
                colour, marker = MODEL_COLOURS[j], MODEL_MARKERS[j]
                ys, xs, lows, highs = [], [], [], []
                for i, t in enumerate(terms):
                    if quantity == "ame":
                        me = (r.marginal_effects or {}).get(t)
                        if me is None:
                            continue
                        est, lo, hi = me["estimate"], me["ci_lower"], me["ci_upper"]
                    else:
                        if t not in r.params or not math.isfinite(r.params[t]):
                            continue
                        est, (lo, hi) = r.params[t], r.conf_int[t]
                    ys.append(i + (k - (len(js) - 1) / 2) * step)
                    xs.append(est)
                    lows.append(lo)
                    highs.append(hi)
                ax.hlines(ys, lows, highs, color=colour, linewidth=1.6, zorder=2)
                ax.scatter(xs, ys, color=colour, marker=marker, s=34, zorder=3,
                           edgecolors="white", linewidths=0.5)
                handles.append(
                    Line2D([], [], color=colour, marker=marker, linewidth=1.6, markersize=6,
                           markeredgecolor="white", label=names[j])
                )
            ax.axvline(0.0, color="0.25", linestyle="--", linewidth=0.9, zorder=1)
            ax.grid(axis="y", visible=False)
            if len(outcomes) > 1:  # the panel's outcome: each panel has its own scale
                ax.set_title("\n".join(textwrap.wrap(labels.get(outcome, outcome), 28)),
                             fontsize="small")
        axes[0].set_yticks(range(len(terms)), [labels.get(t, t) for t in terms])
        axes[0].set_ylim(len(terms) - 0.5, -0.5)  # first term on top
        what = "Average marginal effect" if quantity == "ame" else "Coefficient"
        fig.supxlabel(f"{what} with 95% confidence interval", fontsize="medium")
        if legend:
            fig.legend(handles=handles, loc="outside right upper", frameon=False,
                       fontsize="small", title="Model", title_fontsize="small")
        family = families[0] if len(families) == 1 else "mixed"
        heading = title or FAMILY_TITLES.get(family, "Coefficients")
        if show_title:
            fig.suptitle(heading)
    shown = ", ".join(labels.get(o, o) for o in outcomes)
    return set_caption(
        fig,
        f"{heading}. Point estimates with 95% confidence intervals (dashed line: zero); "
        + (
            f"one panel per outcome, each on its own scale ({shown})."
            if len(outcomes) > 1
            else f"outcome: {shown}."
        ),
    )


def coefficient_plots(
    results: Sequence[FitResult], terms: Sequence[str] | None = None, **kwargs
) -> dict[str, Figure]:
    """One :func:`coefficient_plot` per model family present (``linear``, ``counts``, ``rates``)."""
    by: dict[str, list[FitResult]] = {}
    for r in results:
        by.setdefault(model_family(r), []).append(r)
    return {fam: coefficient_plot(rs, terms, **kwargs) for fam, rs in by.items()}


# --------------------------------------------------------------------------- #
# Path diagram
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PathEstimate:
    """One arrow of the path diagram: source → target with estimate and CI."""

    source: str
    target: str
    estimate: float
    ci_lower: float
    ci_upper: float
    name: str = ""  # e.g. "a", "b", "c′"
    model: str = ""

    @property
    def excludes_zero(self) -> bool:
        return self.ci_lower > 0 or self.ci_upper < 0


def paths_from_mediation(res: MediationResult) -> list[PathEstimate]:
    """The a, b and c′ paths of a mediation with their cluster-bootstrap percentile
    intervals: the intervals of the mediation table, so the figure and the table agree.
    ``model`` is the outcome, which tells apart the a paths of two mediations that share
    their treatment and mediator (their samples differ)."""
    ci = res.ci_percentile
    return [
        PathEstimate(res.treatment, res.mediator, res.estimates["a"], *ci["a"], "a", res.outcome),
        PathEstimate(res.mediator, res.outcome, res.estimates["b"], *ci["b"], "b", res.outcome),
        PathEstimate(
            res.treatment, res.outcome, res.estimates["direct"], *ci["direct"], "c′", res.outcome
        ),
    ]


def paths_from_fit(res: FitResult, terms: Sequence[str] | None = None) -> list[PathEstimate]:
    """Each regressor of interest (the spec's ``regressors``, or ``terms``) → the outcome."""
    if terms is None:
        regs = res.spec.get("regressors", [])
        terms = [t for t in res.terms if t in regs or any(t.startswith(f"{g}[") for g in regs)]
    return [
        PathEstimate(t, res.outcome, res.params[t], *res.conf_int[t], "", res.name)
        for t in terms
        if t in res.params and math.isfinite(res.params[t])
    ]


def _as_paths(paths) -> tuple[list[PathEstimate], dict[str, str], list[MediationResult]]:
    items = paths if isinstance(paths, (list, tuple)) else [paths]
    out: list[PathEstimate] = []
    roles: dict[str, str] = {}
    meds: list[MediationResult] = []
    for item in items:
        if isinstance(item, MediationResult):
            out += paths_from_mediation(item)
            meds.append(item)
            roles.setdefault(item.treatment, "structure")
            roles.setdefault(item.mediator, "conduct")
            roles.setdefault(item.outcome, "performance")
        elif isinstance(item, FitResult):
            out += paths_from_fit(item)
        elif isinstance(item, PathEstimate):
            out.append(item)
        else:
            raise TypeError(
                "scp_path_diagram takes MediationResult, FitResult or PathEstimate items, "
                f"not {type(item).__name__}"
            )
    unique: list[PathEstimate] = []
    for p in out:  # the same path from two sources (e.g. one a-path of two mediations) once
        if not any(
            (q.source, q.target, q.name) == (p.source, p.target, p.name)
            and abs(q.estimate - p.estimate) < 1e-12
            for q in unique
        ):
            unique.append(p)
    return unique, roles, meds


def _infer_roles(paths: list[PathEstimate], given: dict[str, str]) -> dict[str, str]:
    roles = dict(given)
    sources = {p.source for p in paths}
    targets = {p.target for p in paths}
    for v in dict.fromkeys([x for p in paths for x in (p.source, p.target)]):
        if v in roles:
            continue
        if v in sources and v in targets:
            roles[v] = "conduct"
        elif v in sources:
            roles[v] = "structure"
        else:
            roles[v] = "performance"
    bad = {v: r for v, r in roles.items() if r not in ROLES}
    if bad:
        raise ValueError(f"roles must be one of {ROLES}; got {bad}")
    return roles


def _fmt(x: float, decimals: int) -> str:
    v = round(float(x), decimals)
    if v == 0:
        v = 0.0
    return f"{v:.{decimals}f}".replace("-", "\u2212")


def path_label(p: PathEstimate, decimals: int = 3) -> str:
    """The text on an arrow: ``name = estimate`` and the CI below."""
    head = f"{p.name} = {_fmt(p.estimate, decimals)}" if p.name else _fmt(p.estimate, decimals)
    return f"{head}\n[{_fmt(p.ci_lower, decimals)}, {_fmt(p.ci_upper, decimals)}]"


def scp_path_diagram(
    paths,
    *,
    roles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str = "Structure → conduct → performance",
    show_title: bool = False,
    decimals: int = 3,
) -> Figure:
    """Path diagram of the SCP chain with estimated path coefficients.

    ``paths``: a :class:`MediationResult`, a :class:`FitResult`, a
    :class:`PathEstimate` or a list mixing them.  ``roles`` maps variables to
    ``structure`` / ``conduct`` / ``performance`` (default: from the
    mediations, else a variable only pointing out is structure, one pointed
    at and pointing out is conduct, one only pointed at is performance).
    Each arrow reads "name = estimate" over "[95% CI]" (for a mediation its
    bootstrap interval).  The caption opens with ``title`` (drawn too with
    ``show_title``) and gives each mediation's indirect effect and interval.
    """
    plist, med_roles, meds = _as_paths(paths)
    if not plist:
        raise ValueError("no paths to draw")
    role_of = _infer_roles(plist, {**med_roles, **dict(roles or {})})
    labels = dict(labels or {})
    nodes = {r: [v for v, rr in role_of.items() if rr == r] for r in ROLES}

    W = 9.0
    n_rows = max(len(v) for v in nodes.values())
    n_direct = sum(p.name == "c′" for p in plist)
    H = 4.6 + 0.8 * max(0, n_rows - 1) + 0.45 * n_direct
    col_x = {"structure": 1.35, "conduct": W / 2, "performance": W - 1.35}
    bottom = 0.2 + 0.45 * n_direct  # room for the direct paths bending below the boxes
    top = H - 0.55  # below the column headers
    mid = (bottom + top) / 2
    # a triangle: conduct in the upper band, structure and performance in the lower one
    bands = {
        "structure": (bottom + 0.45, mid - 0.35),
        "conduct": (mid + 0.35, top - 0.45),
        "performance": (bottom + 0.45, mid - 0.35),
    }
    box_w, box_h = 1.9, 0.62
    pos: dict[str, tuple[float, float]] = {}
    for r in ROLES:
        vs = nodes[r]
        lo, hi = bands[r]
        for i, v in enumerate(vs):
            if len(vs) == 1:
                y = hi if r == "conduct" else lo
            else:
                y = hi - i * (hi - lo) / (len(vs) - 1)
            pos[v] = (col_x[r], y)

    with theme():
        fig = Figure(figsize=(W, H))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, W)
        ax.set_ylim(0, H)
        ax.set_axis_off()
        for r in ROLES:
            ax.text(
                col_x[r],
                top + 0.35,
                r.capitalize(),
                ha="center",
                va="center",
                fontsize=10,
                color=ROLE_COLOURS[r],
                fontweight="bold",
            )
        boxes = {}
        for v, (x, y) in pos.items():
            colour = ROLE_COLOURS[role_of[v]]
            box = FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=colour + "22",
                edgecolor=colour,
                linewidth=1.4,
                zorder=3,
            )
            ax.add_patch(box)
            boxes[v] = box
            text = "\n".join(textwrap.wrap(labels.get(v, v), 24)) or v
            ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=4)

        # one arrow per pair of variables; the estimates of one path from several
        # mediations (one a path, different samples) share its label, a line each
        arrows: dict[tuple[str, str], list[PathEstimate]] = {}
        for p in plist:
            arrows.setdefault((p.source, p.target), []).append(p)
        for (source, target), group in arrows.items():
            (x1, y1), (x2, y2) = pos[source], pos[target]
            # a direct (c′) path bends below the a and b paths, so its label stays clear of them
            rad = 0.3 if group[0].name == "c′" else 0.0
            solid = all(p.excludes_zero for p in group)
            arrow = FancyArrowPatch(
                (x1, y1),
                (x2, y2),
                patchA=boxes[source],
                patchB=boxes[target],
                arrowstyle="-|>",
                mutation_scale=14,
                linewidth=1.5,
                linestyle="-" if solid else (0, (4, 3)),
                color="0.15",
                connectionstyle=f"arc3,rad={rad}",
                zorder=2,
            )
            ax.add_patch(arrow)
            # the label at the middle of the (quadratic Bézier) arc: data units are
            # isotropic here (axes fill the figure, limits = inches), so arc3's
            # display-space control point is midpoint + rad·(dy, −dx)
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            lx, ly = mx + 0.5 * rad * (y2 - y1), my - 0.5 * rad * (x2 - x1)
            if len(group) == 1:
                text = path_label(group[0], decimals)
            else:
                text = "\n".join(
                    path_label(p, decimals).replace("\n", " ")
                    + (f" ({labels.get(p.model, p.model)})" if p.model else "")
                    for p in group
                )
            ax.text(
                lx,
                ly,
                text,
                ha="center",
                va="center",
                fontsize=8.5,
                zorder=5,
                bbox={
                    "boxstyle": "round,pad=0.25",
                    "facecolor": "white",
                    "edgecolor": "0.7",
                    "linewidth": 0.6,
                },
            )
        if show_title:
            ax.text(W / 2, H - 0.3, title, ha="center", va="center", fontsize=12,
                    fontweight="bold")
    lines = [
        f"{title}. Arrows: estimate [95% cluster-bootstrap percentile interval, as in the "
        "mediation table]; solid: the interval excludes 0, dashed: it includes 0."
    ]
    for m in meds:
        lo, hi = m.ci_percentile["indirect"]
        chain = " → ".join(labels.get(v, v) for v in (m.treatment, m.mediator, m.outcome))
        lines.append(
            f"{chain}: indirect effect a·b = {_fmt(m.estimates['indirect'], decimals)} "
            f"[{_fmt(lo, decimals)}, {_fmt(hi, decimals)}] ({m.n_boot:,d} replicates), "
            f"total = {_fmt(m.estimates['total'], decimals)}."
        )
    return set_caption(fig, " ".join(lines))

