"""Claims figures beyond the forest plot: breakthrough cycles and transfer rates by lead type.

* :func:`km_curves` — Kaplan–Meier curves of the tasks' durations by lead type
  (abandoned and ongoing tasks censored, marked ``|``), with the number at
  risk under the plot; the caption gives the breakthrough-speed claim's test
  when the claims results are given. :func:`kaplan_meier` and
  :func:`number_at_risk` are the numbers drawn (lifelines' Kaplan–Meier
  estimator; at risk at t = tasks with a duration ≥ t). The axis wording comes
  from the config's ``labels`` (on CORDIS the durations are contractual).
* :func:`transfer_rate_vs_claim` — per lead type the pooled achievement-weighted
  transfer rate with its CR2 CI (the estimator of the
  ``transfer_rate`` level test, :func:`pooled_rates`) against the claim's
  reference lines (the claimed enterprise-led rate and the industry average it
  is said to exceed, both read from the registry's ``transfer_rate`` record).
  The distribution of the rates is the data figure
  :func:`consortia.describe.transfer_rate_by_lead_type`.

Both are drawn under the project theme and saved with
:func:`consortia.render.figure.draw_or_placeholder` by the workflow steps
:func:`consortia.claims.steps.km_figure_step` and
:func:`~consortia.claims.steps.transfer_figure_step` (a placeholder naming the
reason when the data hold nothing to draw).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from consortia.contract import LEAD_TYPE_LABELS, LEAD_TYPE_ORDER
from consortia.render.figure import (
    NothingToDraw,
    lead_type_colour,
    set_caption,
    theme,
)

from .catalogue import CID, wald
from .cr2 import CR2Fit
from .outputs import headline_test, read_results, test_label
from .records import Registry

KM_COLUMNS = ("lead_type", "duration_years", "event")
# what transfer_rate_vs_claim draws and pools (year: consortium-year level only)
TRANSFER_FIGURE_COLUMNS = (
    CID,
    "year",
    "lead_type",
    "transfer_rate",
    "achievements",
    "achievements_transferred",
)


def _lead_types(values: pd.Series) -> list[str]:
    present = set(values.dropna().astype(str))
    return [t for t in LEAD_TYPE_ORDER if t in present] + sorted(present - set(LEAD_TYPE_ORDER))


def _survival_frame(tasks: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in KM_COLUMNS if c not in tasks.columns]
    if missing:
        raise ValueError(
            f"the tasks table lacks column(s) {missing} needed for Kaplan–Meier curves"
        )
    d = tasks.loc[:, list(KM_COLUMNS)].dropna()
    d = d.assign(
        lead_type=d["lead_type"].astype(str),
        T=pd.to_numeric(d["duration_years"]).astype(float),
        E=pd.to_numeric(d["event"]).astype(float),
    )
    d = d[d["T"] > 0]
    if d.empty:
        raise NothingToDraw("no task has a positive duration (or every one lacks a lead type)")
    return d


def kaplan_meier(durations: np.ndarray, events: np.ndarray) -> pd.Series:
    """Kaplan–Meier survival S(t) (lifelines), indexed by time, starting at S(0) = 1."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(np.asarray(durations, float), np.asarray(events, float))
    return km.survival_function_.iloc[:, 0].rename("survival")


def number_at_risk(durations: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Tasks still at risk at each time: durations ≥ t (not yet achieved or censored)."""
    d = np.sort(np.asarray(durations, float))
    return len(d) - np.searchsorted(d, np.asarray(times, float), side="left")


# The wording of the KM figure for tasks that end in a breakthrough; the config's
# `labels` (task_time, task_survival) replace it where durations mean something else.
TASK_TIME = "Years since the task started"
TASK_SURVIVAL = "Share of tasks without a breakthrough"


def km_curves(
    tasks: pd.DataFrame,
    *,
    time_ratio: dict | None = None,
    time_label: str = TASK_TIME,
    survival_label: str = TASK_SURVIVAL,
    title: str | None = None,
) -> Figure:
    """Kaplan–Meier curves of the tasks' durations, one per lead type.

    ``tasks``: the task table (``lead_type``, ``duration_years``, ``event``).
    ``time_ratio``: the ``breakthrough_speed`` claim's test as a dict (estimate,
    ci_lower, ci_upper, claimed_text, verdict, lead and reference in ``label``),
    quoted in the caption.
    """
    d = _survival_frame(tasks)
    order = _lead_types(d["lead_type"])
    curves = {lt: kaplan_meier(g["T"], g["E"]) for lt, g in d.groupby("lead_type")}
    with theme():
        fig = Figure(figsize=(7.0, 4.0 + 0.22 * len(order)), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[4.0, 0.35 + 0.3 * len(order)])
        for lt in order:
            g = d[d["lead_type"] == lt]
            s = curves[lt]
            colour = lead_type_colour(lt)
            median = _median(s)
            label = f"{LEAD_TYPE_LABELS.get(lt, lt)} (n = {len(g):,d}; median " + (
                f"{median:.2f} y)" if math.isfinite(median) else "not reached)"
            )
            top.step(s.index, s.to_numpy(), where="post", color=colour, lw=1.6, label=label)
            # one mark per distinct censoring time: identical marks stacked by the
            # thousand (large registries) only slow the rendering down
            cens = np.unique(g.loc[g["E"] == 0, "T"].to_numpy())
            if cens.size:
                at = s.index.searchsorted(cens, side="right") - 1
                top.plot(cens, s.to_numpy()[at], "|", color=colour, ms=4, mew=0.8, alpha=0.7)
        top.axhline(0.5, color="#999999", lw=0.6, ls=":")
        top.set_ylim(0, 1.02)
        top.set_ylabel(survival_label)
        top.legend(loc="upper right", fontsize="x-small", frameon=False)
        top.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        xmax = float(d["T"].max())
        top.set_xlim(-0.04 * xmax, xmax * 1.02)
        ticks = [t for t in top.get_xticks() if 0 <= t <= xmax]
        bottom.set_xlim(top.get_xlim())
        bottom.set_ylim(-0.5, len(order) - 0.5)
        bottom.set_yticks(range(len(order)), [LEAD_TYPE_LABELS.get(t, t) for t in reversed(order)])
        for i, lt in enumerate(reversed(order)):
            bottom.get_yticklabels()[i].set_color(lead_type_colour(lt))
            counts = number_at_risk(d.loc[d["lead_type"] == lt, "T"].to_numpy(), np.array(ticks))
            for x, n in zip(ticks, counts, strict=True):
                bottom.text(x, i, f"{n:,d}", ha="center", va="center", fontsize="x-small")
        bottom.grid(False)
        for side in ("top", "right", "bottom", "left"):
            bottom.spines[side].set_visible(False)
        bottom.tick_params(axis="both", length=0)
        bottom.tick_params(axis="y", pad=10)
        bottom.set_title("Number at risk", fontsize="x-small", loc="left")
        bottom.set_xlabel(time_label)
        if title:
            fig.suptitle(title)
    text = (
        f"Kaplan–Meier curves by lead type ({survival_label.lower()} against "
        f"{time_label[0].lower() + time_label[1:]}). Censored tasks are marked |; the dotted "
        "line is the median."
    )
    if time_ratio and time_ratio.get("estimate") is not None:
        text += (
            f" {time_ratio['test']}, {time_ratio['label']}: {time_ratio['estimate']:.3f} "
            f"(95% CI {_interval_end(time_ratio['ci_lower'])}–"
            f"{_interval_end(time_ratio['ci_upper'])}); claimed "
            f"{time_ratio['claimed_text']}; verdict: {time_ratio['verdict'].replace('_', ' ')}."
        )
    return set_caption(fig, text)


def _interval_end(value: float | None) -> str:
    """An interval end as text; claims.json stores an unbounded or undefined end as null."""
    return f"{value:.3f}" if value is not None and math.isfinite(value) else "unbounded"


def _median(s: pd.Series) -> float:
    hit = np.flatnonzero(s.to_numpy() <= 0.5)
    return float(s.index[hit[0]]) if hit.size else math.inf


def pooled_rates(panel: pd.DataFrame, level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """Σ transferred / Σ achievements per lead type with its CR2 interval (Bell–McCaffrey
    df): the estimator of the ``transfer_rate`` level test."""
    need = [CID, "lead_type", "achievements", "achievements_transferred"]
    d = panel.loc[:, need].dropna()
    d = d[pd.to_numeric(d["achievements"]) > 0]
    out = {}
    for lt, g in d.groupby(d["lead_type"].astype(str)):
        if g[CID].nunique() < 2:
            continue
        achievements = pd.to_numeric(g["achievements"]).to_numpy(dtype=float)
        fit = CR2Fit(
            np.ones((len(g), 1)),
            pd.to_numeric(g["achievements_transferred"]).to_numpy(dtype=float) / achievements,
            g[CID].to_numpy(),
            weights=achievements,
        )
        one = np.ones(1)
        rate = float(fit.beta[0])
        out[lt] = (rate, *wald(rate, fit.se(one), fit.df(one), level))
    return out


def transfer_reference_lines(registry: Registry) -> dict[str, float]:
    """The claimed enterprise-led rate and the industry average it is said to exceed, from
    the registry's ``transfer_rate`` record (its ``level`` test); none without that record."""
    if "transfer_rate" not in registry.ids:
        return {}
    claim = registry.claim("transfer_rate")
    level = claim.test("level")
    lead = claim.params.get("lead", "enterprise")
    lines = {}
    if level.claimed.reference is not None:
        lines[f"claimed\n{lead}-led"] = float(level.claimed.reference)
    if level.rival is not None:
        lines["industry\naverage"] = float(level.rival)
    return lines


def transfer_rate_vs_claim(
    panel: pd.DataFrame, registry: Registry, seed: int = 0, title: str | None = None
) -> Figure:
    """Pooled transfer rate per lead type, with its CI, against the claim's reference lines.

    ``seed`` is accepted for the workflow's uniform call and unused: nothing is random here.
    """
    del seed
    rate = pd.to_numeric(panel["transfer_rate"]) if "transfer_rate" in panel.columns else None
    if rate is not None and rate.notna().sum() == 0:
        raise NothingToDraw(
            "transfer_rate is missing in every consortium-year (no achievements reported, "
            "or achievements = 0 throughout): nothing to plot"
        )
    rates = pooled_rates(panel, registry.ci_level)
    if not rates:
        raise NothingToDraw("no lead type has achievements in two or more consortia")
    order = [t for t in _lead_types(pd.Series(list(rates))) if t in rates]
    lines = transfer_reference_lines(registry)
    with theme():
        fig = Figure(figsize=(6.4, 3.8), layout="constrained")
        ax = fig.add_subplot()
        for pos, lt in enumerate(order):
            est, lo, hi = rates[lt]
            ax.errorbar(pos, est, yerr=[[est - lo], [hi - est]], fmt="o", ms=6, capsize=4,
                        lw=1.6, color=lead_type_colour(lt), zorder=3)
        for label, value in lines.items():
            ax.axhline(value, color="#555555", lw=0.9, ls="--", zorder=1)
            ax.annotate(  # in the right margin: the label never hides data
                f"{label}:\n{value:.0%}",
                xy=(1.0, value),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize="x-small",
                color="#333333",
            )
        ax.set_xticks(range(len(order)), [LEAD_TYPE_LABELS.get(t, t) for t in order])
        ax.set_xlim(-0.5, len(order) - 0.5)
        values = [v for t in order for v in rates[t][1:]] + list(lines.values())
        ax.set_ylim(max(0.0, min(values) - 0.05), min(1.0, max(values) + 0.05))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_ylabel("Pooled transfer rate\n(Σ transferred / Σ achievements)")
        ax.set_xlabel("Lead type of the consortium")
        ax.grid(axis="x", visible=False)
        if title:
            fig.suptitle(title)
    return set_caption(
        fig,
        "Technology-transfer rate by lead type against the review's claim: pooled "
        f"achievement-weighted rate with its {registry.ci_level:.0%} CI (clustered by "
        "consortium, CR2); dashed lines: the claimed rate of enterprise-led consortia and the "
        "industry average it is said to exceed (from the claims registry).",
    )


# --------------------------------------------------------------------------- for the steps


def time_ratio_summary(json_path: str | Path | None) -> dict | None:
    """The headline test of the ``breakthrough_speed`` claim in a claims JSON (its first
    testable primary test), for :func:`km_curves`; None without a JSON or that claim."""
    if json_path is None:
        return None
    results = read_results(json_path)
    if "breakthrough_speed" not in results.ids:
        return None
    t = headline_test(results["breakthrough_speed"])
    details = t.details or {}
    return {
        "estimate": t.estimate,
        "ci_lower": t.ci_lower,
        "ci_upper": t.ci_upper,
        "claimed_text": t.claimed_text,
        "verdict": t.verdict,
        "test": t.method_short or test_label(t.name),
        "label": f"{details.get('lead')}- vs {details.get('reference')}-led tasks"
        + (
            f" ({', '.join(c.replace('_', ' ') for c in details['controls'])} held fixed)"
            if details.get("controls")
            else ""
        ),
    }
