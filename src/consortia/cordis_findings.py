"""What a CORDIS run says about EU consortia, in numbers a researcher can cite.

From the clean consortia, the panel and the tasks of a CORDIS run (docs/cordis.md):

* who leads: the share of enterprise-led consortia overall, by kind of grant
  (``scheme_or_part``: the funding scheme, or the programme part of an export without
  schemes; a consortium in several parts counts in each) and by start year, with a
  figure of the part x year grid;
* the lead's share of the EC contribution (the decision-weight proxy) by lead type;
* contractual durations by lead type, overall and within each kind of grant (the
  claims step compares them with the kind of grant held fixed);
* the consortium's network before it started (:mod:`consortia.network`) by lead type:
  the share of member pairs that had worked together, whether the lead had led an
  earlier consortium, its earlier partners; and enterprise-led against university-led.
  The network begins with the data's first projects, so early consortia have short
  histories by construction: the comparison is repeated for the consortia that started
  ``history_years`` or more after the first start year.

Means come with t intervals, shares with Wilson intervals, differences with Welch
intervals (95%). Every number is written to ``cordis_findings.json``; the Markdown page
and the figure are drawn from it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from consortia.adapters.cordis import PART_SEPARATOR
from consortia.render.figure import save_figure, set_caption, theme

LEVEL = 0.95
ENTERPRISE, UNIVERSITY = "enterprise", "university"
# Cells of the part x year figure with fewer consortia are left blank.
MIN_CELL = 10
NO_PART = "(none listed)"
ALL_ROW = "All"


def _mean_interval(values: pd.Series) -> dict:
    x = values.dropna().to_numpy(dtype=float)
    n = x.size
    if n < 2:
        return {"n": n, "mean": float(x.mean()) if n else math.nan, "ci": [math.nan, math.nan]}
    half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return {"n": n, "mean": float(x.mean()), "ci": [float(x.mean() - half), float(x.mean() + half)]}


def _share_interval(flags: pd.Series) -> dict:
    """Wilson interval of the share of true values."""
    x = flags.dropna().astype(bool)
    n, k = int(x.size), int(x.sum())
    if n == 0:
        return {"n": 0, "k": 0, "share": math.nan, "ci": [math.nan, math.nan]}
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"n": n, "k": k, "share": p, "ci": [centre - half, centre + half]}


def _difference(a: pd.Series, b: pd.Series) -> dict:
    """Mean of ``a`` minus mean of ``b``, Welch interval."""
    x, y = a.dropna().to_numpy(dtype=float), b.dropna().to_numpy(dtype=float)
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    d = float(x.mean() - y.mean())
    if va + vb == 0:  # both groups constant: no sampling variation to speak of
        return {"difference": d, "ci": [d, d]}
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    half = stats.t.ppf(0.5 + LEVEL / 2, df) * math.sqrt(va + vb)
    return {"difference": d, "ci": [d - half, d + half]}


def consortium_frame(
    consortia: pd.DataFrame, panel: pd.DataFrame, tasks: pd.DataFrame
) -> pd.DataFrame:
    """One row per consortium with a lead type: start year, kind of grant, the panel's
    measures in its start year and its contractual duration."""
    start_rows = panel[panel["year"] == panel["founded_year"]].set_index("consortium_id")
    measures = [
        c for c in ("lead_decision_weight", "repeat_tie_share", "lead_prior_led",
                    "lead_prior_partners") if c in start_rows
    ]  # fmt: skip
    frame = consortia.set_index("consortium_id")[["lead_type", "founded_year", "scheme_or_part"]]
    frame = frame.join(start_rows[measures]).join(
        tasks.drop_duplicates("consortium_id").set_index("consortium_id")["duration_years"]
    )
    return frame[frame["lead_type"].notna()]


def _by_part(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with one row per consortium and programme part (or scheme)."""
    parts = frame["scheme_or_part"].fillna("").replace("", NO_PART).str.split(PART_SEPARATOR)
    return frame.assign(part=parts).explode("part")


def findings(
    consortia: pd.DataFrame, panel: pd.DataFrame, tasks: pd.DataFrame, history_years: int
) -> dict:
    """Every number of the findings (module docstring), JSON-ready."""
    frame = consortium_frame(consortia, panel, tasks)
    enterprise = frame["lead_type"] == ENTERPRISE
    lead_types = [t for t in frame["lead_type"].value_counts().index]
    by_part = _by_part(frame).assign(enterprise=lambda f: f["lead_type"] == ENTERPRISE)
    grid = (
        by_part.groupby(["part", "founded_year"])["enterprise"]
        .agg(["size", "sum"])
        .reset_index()
        .rename(columns={"size": "consortia", "sum": "enterprise_led"})
    )
    parts = by_part.groupby("part")["enterprise"].agg(["size", "sum", "mean"])
    years = frame.groupby("founded_year")["lead_type"].agg(
        consortia="size", enterprise_led=lambda s: int((s == ENTERPRISE).sum())
    )
    first_year = int(frame["founded_year"].min())

    def network(sample: pd.DataFrame) -> dict:
        out = {}
        for lead in lead_types:
            group = sample[sample["lead_type"] == lead]
            out[lead] = {
                "consortia": len(group),
                "repeat_tie_share": _mean_interval(group["repeat_tie_share"]),
                "with_a_repeated_tie": _share_interval(group["repeat_tie_share"] > 0),
                "lead_had_led_before": _share_interval(group["lead_prior_led"] >= 1),
                "lead_prior_partners_median": float(group["lead_prior_partners"].median()),
            }
        pair = sample[sample["lead_type"] == ENTERPRISE], sample[sample["lead_type"] == UNIVERSITY]
        out["enterprise_minus_university"] = {
            "repeat_tie_share": _difference(pair[0]["repeat_tie_share"],
                                            pair[1]["repeat_tie_share"]),
            "lead_had_led_before": _difference(
                (pair[0]["lead_prior_led"] >= 1).astype(float),
                (pair[1]["lead_prior_led"] >= 1).astype(float),
            ),
        }  # fmt: skip
        return out

    later = frame[frame["founded_year"] >= first_year + history_years]
    return {
        "consortia": len(frame),
        "start_years": [first_year, int(frame["founded_year"].max())],
        "enterprise_led": {
            "overall": _share_interval(enterprise),
            "by_part": {
                part: {"consortia": int(row["size"]), "enterprise_led": int(row["sum"]),
                       "share": float(row["mean"])}
                for part, row in parts.sort_values("size", ascending=False).iterrows()
            },
            "by_start_year": {
                int(year): {"consortia": int(row["consortia"]),
                            "enterprise_led": int(row["enterprise_led"]),
                            "share": row["enterprise_led"] / row["consortia"]}
                for year, row in years.iterrows()
            },
            "by_part_and_start_year": grid.to_dict(orient="records"),
        },  # fmt: skip
        "lead_contribution_share": {
            lead: _mean_interval(frame.loc[frame["lead_type"] == lead, "lead_decision_weight"])
            for lead in lead_types
        },
        "duration_years": {
            "median_by_lead_type": {
                lead: float(frame.loc[frame["lead_type"] == lead, "duration_years"].median())
                for lead in lead_types
            },
            "median_within_part": {
                part: {
                    lead: {"consortia": len(g), "median": float(g["duration_years"].median())}
                    for lead, g in rows.groupby("lead_type")
                }
                for part, rows in by_part.groupby("part")
                if len(rows) >= 100
            },
        },
        "network": {
            "all": network(frame),
            "history_years": history_years,
            "started_from": first_year + history_years,
            "with_history": network(later),
        },
    }


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def findings_markdown(result: Mapping) -> str:
    """The findings as a page (every number from ``result``)."""
    overall = result["enterprise_led"]["overall"]
    lines = [
        "# CORDIS findings",
        "",
        f"{result['consortia']:,} consortia with a lead type, started "
        f"{result['start_years'][0]}–{result['start_years'][1]}. 95% intervals.",
        "",
        "## Enterprise-led consortia",
        "",
        f"Overall: {_pct(overall['share'])} ({overall['k']:,} of {overall['n']:,}; "
        f"{_pct(overall['ci'][0])}–{_pct(overall['ci'][1])}).",
        "",
        "| kind of grant | consortia | enterprise-led |",
        "|---|---:|---:|",
        *(
            f"| {part} | {row['consortia']:,} | {_pct(row['share'])} |"
            for part, row in result["enterprise_led"]["by_part"].items()
        ),
        "",
        "| start year | consortia | enterprise-led |",
        "|---|---:|---:|",
        *(
            f"| {year} | {row['consortia']:,} | {_pct(row['share'])} |"
            for year, row in result["enterprise_led"]["by_start_year"].items()
        ),
        "",
        "## The lead's share of the EC contribution (decision-weight proxy)",
        "",
        "| lead type | consortia | mean | 95% CI |",
        "|---|---:|---:|---|",
        *(
            f"| {lead} | {r['n']:,} | {_pct(r['mean'])} | {_pct(r['ci'][0])}–{_pct(r['ci'][1])} |"
            for lead, r in result["lead_contribution_share"].items()
        ),
        "",
        "## Contractual durations (years, medians)",
        "",
        "| lead type | median |",
        "|---|---:|",
        *(
            f"| {lead} | {m:.2f} |"
            for lead, m in result["duration_years"]["median_by_lead_type"].items()
        ),
        "",
        "## The network before each consortium started",
        "",
    ]
    for key, title in (("all", "All consortia"), ("with_history", None)):
        block = result["network"][key]
        if title is None:
            title = (
                f"Consortia started from {result['network']['started_from']} "
                f"({result['network']['history_years']} or more years of history)"
            )
        lines += [
            f"{title}:",
            "",
            "| lead type | consortia | pairs tied before (mean) | with a repeated tie | lead had "
            "led before | lead's earlier partners (median) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for lead, r in block.items():
            if lead == "enterprise_minus_university":
                continue
            lines.append(
                f"| {lead} | {r['consortia']:,} | {_pct(r['repeat_tie_share']['mean'])} | "
                f"{_pct(r['with_a_repeated_tie']['share'])} | "
                f"{_pct(r['lead_had_led_before']['share'])} | "
                f"{r['lead_prior_partners_median']:.0f} |"
            )
        diff = block["enterprise_minus_university"]
        lines += [
            "",
            "Enterprise- minus university-led: pairs tied before "
            f"{100 * diff['repeat_tie_share']['difference']:+.1f} points "
            f"({100 * diff['repeat_tie_share']['ci'][0]:+.1f} to "
            f"{100 * diff['repeat_tie_share']['ci'][1]:+.1f}); lead had led before "
            f"{100 * diff['lead_had_led_before']['difference']:+.1f} points "
            f"({100 * diff['lead_had_led_before']['ci'][0]:+.1f} to "
            f"{100 * diff['lead_had_led_before']['ci'][1]:+.1f}).",
            "",
        ]
    return "\n".join(lines)


def enterprise_share_figure(result: Mapping):
    """Heat map of the enterprise-led share by kind of grant (rows, largest first; the
    last row all consortia) and start year (columns); cells with fewer than
    :data:`MIN_CELL` consortia blank."""
    import matplotlib.pyplot as plt

    led = result["enterprise_led"]
    overall = pd.DataFrame(
        [{"part": ALL_ROW, "founded_year": year, **{k: row[k] for k in ("consortia",
          "enterprise_led")}} for year, row in led["by_start_year"].items()]
    )  # fmt: skip
    grid = pd.concat([pd.DataFrame(led["by_part_and_start_year"]), overall])
    parts = [p for p, row in led["by_part"].items() if row["consortia"] >= MIN_CELL]
    parts.append(ALL_ROW)
    years = sorted(grid["founded_year"].astype(int).unique())
    share = grid.assign(
        share=grid["enterprise_led"] / grid["consortia"],
        founded_year=grid["founded_year"].astype(int),
    )
    share.loc[share["consortia"] < MIN_CELL, "share"] = np.nan
    matrix = share.pivot(index="part", columns="founded_year", values="share")
    matrix = matrix.reindex(index=parts, columns=years)
    with theme():
        fig, ax = plt.subplots(figsize=(1.2 + 0.75 * len(years), 0.9 + 0.32 * len(parts)))
        image = ax.imshow(
            matrix.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=0, vmax=1
        )
        for i in range(len(parts)):
            for j in range(len(years)):
                value = matrix.iat[i, j]
                if not np.isnan(value):
                    ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if value < 0.5 else "black")  # fmt: skip
        ax.grid(False)
        ax.axhline(len(parts) - 1.5, color="white", linewidth=2)  # the All row apart
        ax.set_xticks(range(len(years)), [str(y) for y in years])
        ax.set_yticks(range(len(parts)), parts)
        ax.set_xlabel("Start year")
        bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.set_label("Enterprise-led share")
        fig.tight_layout()
    total = led["overall"]
    return set_caption(
        fig,
        "Share of consortia led by an enterprise (per cent), by kind of grant (the programme "
        "part, or the funding scheme where the export has one; a consortium in several "
        f"parts counts in each) and start year; the last row, all consortia. Cells (and "
        f"kinds of grant) with fewer than {MIN_CELL} consortia are blank (left out). "
        f"Overall {_pct(total['share'])} of {total['n']:,} consortia.",
    )


def findings_step(
    consortia_path: str | Path,
    panel_path: str | Path,
    tasks_path: str | Path,
    history_years: int,
    json_path: str | Path,
    markdown_path: str | Path,
    figure_stem: str | Path,
) -> None:
    result = findings(
        pd.read_parquet(consortia_path), pd.read_parquet(panel_path),
        pd.read_parquet(tasks_path), history_years,
    )  # fmt: skip
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    Path(markdown_path).write_text(findings_markdown(result), encoding="utf-8")
    save_figure(enterprise_share_figure(result), figure_stem)
