"""Claims figures beyond the forest plot: breakthrough cycles and transfer rates by lead type.

* :func:`km_curves` — Kaplan–Meier curves of time to breakthrough by lead type
  (abandoned and ongoing tasks censored, marked ``|``), with the number at
  risk under the plot and, when the claims results are given, the AFT time
  ratio the ``breakthrough_speed`` verdict rests on. :func:`kaplan_meier` and
  :func:`number_at_risk` are the numbers drawn (lifelines' Kaplan–Meier
  estimator; at risk at t = tasks with a duration ≥ t).
* :func:`transfer_rate_vs_claim` — the transfer-rate figure of
  :mod:`consortia.figures` with the claim's reference lines (the claimed
  enterprise-led rate and the industry average it is said to exceed, both
  read from the registry's ``transfer_rate`` record) and, beside each box, the
  pooled achievement-weighted rate with its cluster-robust CI (the estimator of
  the ``transfer_rate`` level test, :func:`pooled_rates`).

Both are drawn under the project theme and saved with
:func:`consortia.figures.draw_or_placeholder` by the workflow steps
:func:`km_figure_step` and :func:`transfer_figure_step` (a placeholder naming the
reason when the data hold nothing to draw).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from consortia.figures import (
    LEAD_TYPE_LABELS,
    LEAD_TYPE_ORDER,
    NothingToDraw,
    draw_or_placeholder,
    lead_type_colour,
    theme,
    transfer_rate_by_lead_type,
)

from .evaluators import CID, linearised_se, ratio_influence, wald
from .registry import Registry, load_registry

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


def km_curves(
    tasks: pd.DataFrame,
    *,
    time_ratio: dict | None = None,
    title: str = "Time to breakthrough by lead type (Kaplan–Meier)",
) -> Figure:
    """Kaplan–Meier curves of the tasks' time to breakthrough, one per lead type.

    ``tasks``: the task table (``lead_type``, ``duration_years``, ``event``).
    ``time_ratio``: the ``breakthrough_speed`` claim's ``time_ratio`` test as a
    dict (estimate, ci_lower, ci_upper, claimed_text, lead and reference in
    ``label``), printed under the title.
    """
    d = _survival_frame(tasks)
    order = _lead_types(d["lead_type"])
    curves = {lt: kaplan_meier(g["T"], g["E"]) for lt, g in d.groupby("lead_type")}
    with theme():
        fig = Figure(figsize=(7.0, 4.4 + 0.22 * len(order)), layout="constrained")
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
        top.set_ylabel("Share of tasks without a breakthrough")
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
        bottom.set_xlabel("Years since the task started")
        fig.suptitle(title)
        sub = "Abandoned and ongoing tasks are censored (|); dotted line: half the tasks done."
        if time_ratio and time_ratio.get("estimate") is not None:
            sub += (
                f"\nWeibull AFT time ratio, {time_ratio['label']}: "
                f"{time_ratio['estimate']:.3f}, 95% CI {time_ratio['ci_lower']:.3f}–"
                f"{time_ratio['ci_upper']:.3f}\nclaimed {time_ratio['claimed_text']}; "
                f"verdict: {time_ratio['verdict'].replace('_', ' ')}"
            )
        top.set_title(sub, fontsize="x-small")
    return fig


def _median(s: pd.Series) -> float:
    hit = np.flatnonzero(s.to_numpy() <= 0.5)
    return float(s.index[hit[0]]) if hit.size else math.inf


def pooled_rates(panel: pd.DataFrame, level: float = 0.95) -> dict[str, tuple[float, float, float]]:
    """Σ transferred / Σ achievements per lead type with the cluster-robust t(G−1) CI
    (the estimator of the ``transfer_rate`` level test)."""
    need = [CID, "lead_type", "achievements", "achievements_transferred"]
    d = panel.loc[:, need].dropna()
    d = d[pd.to_numeric(d["achievements"]) > 0]
    out = {}
    for lt, g in d.groupby(d["lead_type"].astype(str)):
        if g[CID].nunique() < 2:
            continue
        r, psi = ratio_influence(
            pd.to_numeric(g["achievements_transferred"]).astype(float),
            pd.to_numeric(g["achievements"]).astype(float),
            g[CID],
        )
        se, n_clusters = linearised_se([(1.0, psi)])
        out[lt] = (r, *wald(r, se, n_clusters - 1, level))
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


def transfer_rate_vs_claim(panel: pd.DataFrame, registry: Registry, seed: int = 0) -> Figure:
    """Transfer rate by lead type with the claim's reference lines and pooled rates."""
    return transfer_rate_by_lead_type(
        panel,
        seed=seed,
        title="Technology-transfer rate by lead type vs the review's claim",
        reference_lines=transfer_reference_lines(registry),
        estimates=pooled_rates(panel, registry.ci_level),
        estimates_label=f"pooled Σ transferred / Σ achievements, {registry.ci_level:.0%} CI "
        "(clustered)",
    )


# --------------------------------------------------------------------------- workflow steps


def time_ratio_summary(json_path: str | Path | None) -> dict | None:
    """The ``breakthrough_speed`` time-ratio test of a claims JSON, for :func:`km_curves`
    (None without a JSON, that claim or that test)."""
    if json_path is None:
        return None
    from .outputs import read_results

    results = read_results(json_path)
    if "breakthrough_speed" not in results.ids:
        return None
    claim = results["breakthrough_speed"]
    try:
        t = claim.test("time_ratio")
    except KeyError:
        return None
    details = t.details or {}
    return {
        "estimate": t.estimate,
        "ci_lower": t.ci_lower,
        "ci_upper": t.ci_upper,
        "claimed_text": t.claimed_text,
        "verdict": t.verdict,
        "label": f"{details.get('lead')}- vs {details.get('reference')}-led tasks"
        + (f" ({', '.join(details['controls'])} held fixed)" if details.get("controls") else ""),
    }


def _read_columns(path: str | Path, columns: Sequence[str]) -> pd.DataFrame:
    """The ``columns`` of a parquet file that it has (a figure reads a few of many
    columns; an absent one is reported by the figure function that needs it)."""
    import pyarrow.parquet as pq

    present = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in columns if c in present])


def km_figure_step(
    tasks_path: str | Path, figure_stem: str | Path, json_path: str | Path | None = None
) -> str | None:
    """Read ``tasks.parquet`` (and the claims JSON for the time ratio); write the KM figure,
    or a placeholder naming why it cannot be drawn (the reason is returned)."""
    tasks = _read_columns(tasks_path, KM_COLUMNS)
    return draw_or_placeholder(
        lambda: km_curves(tasks, time_ratio=time_ratio_summary(json_path)),
        figure_stem,
        "Kaplan–Meier curves by lead type",
    )


def transfer_figure_step(
    registry_path: str | Path, panel_path: str | Path, figure_stem: str | Path, seed: int = 0
) -> str | None:
    """Read the registry and ``panel.parquet``; write the transfer-rate-vs-claim figure, or
    a placeholder naming why it cannot be drawn (the reason is returned)."""
    panel = _read_columns(panel_path, TRANSFER_FIGURE_COLUMNS)
    registry = load_registry(registry_path)
    return draw_or_placeholder(
        lambda: transfer_rate_vs_claim(panel, registry, seed),
        figure_stem,
        "Technology-transfer rate against the claim",
    )
