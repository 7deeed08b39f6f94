# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Data quality and the panel
#
# What the workflow read, kept, fixed and set aside, and what the clean
# consortium-year panel covers. This notebook only **reads** what the workflow
# wrote into the results folder: every number it shows is in `quality.json`,
# `quarantine.csv`, `fixes.csv`, `metadata.json` or Table 1; the plots explore the
# clean panel the workflow built. Run the workflow first (`snakemake --cores all`
# or `consortia run`).
#
# **Parameter**: the results folder, `results` by default; set the environment
# variable `CONSORTIA_RESULTS` to read another run.

# %%
import json
import os
from pathlib import Path

import pandas as pd
import seaborn as sns
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from consortia.render.figure import LEAD_TYPE_PALETTE
from consortia.runner import find_project_dir

RESULTS = Path(os.environ.get("CONSORTIA_RESULTS", "results"))
if not RESULTS.is_absolute():
    RESULTS = find_project_dir() / RESULTS
DATA = RESULTS / "data"
if not (DATA / "quality.json").is_file():
    raise FileNotFoundError(
        f"{DATA / 'quality.json'} does not exist: run the workflow first "
        "(`snakemake --cores all`), or point CONSORTIA_RESULTS at a finished results folder"
    )
quality = json.loads((DATA / "quality.json").read_text())
metadata = json.loads((DATA / "metadata.json").read_text())
display(Markdown(f"Results folder: `{RESULTS}` · dataset: `{quality['dataset']}`"))

# %% [markdown]
# ## Accounting: every row read is kept, quarantined or a collapsed duplicate

# %%
accounting = pd.DataFrame(quality["tables"]).T[
    ["file", "rows_read", "rows_kept", "rows_quarantined", "duplicates_collapsed", "identity_holds"]
]
display(accounting)
if quality["absent_tables"]:
    display(Markdown(f"Absent optional tables: {', '.join(quality['absent_tables'])}"))
for warning in quality["warnings"]:
    display(Markdown(f"> **warning**: {warning}"))

# %% [markdown]
# ## What was quarantined, and why
#
# Counts by table and contract rule (from `quality.json`), then the first rows of
# each rule from `quarantine.csv` with the file, row number and original values.

# %%
by_rule = pd.DataFrame(
    [
        {"table": table, "rule": rule, "rows": count}
        for table, info in quality["tables"].items()
        for rule, count in info["quarantined_by_rule"].items()
    ],
    columns=["table", "rule", "rows"],
)
display(by_rule.sort_values(["table", "rows"], ascending=[True, False]).reset_index(drop=True))

# %%
quarantine = pd.read_csv(DATA / "quarantine.csv")
with pd.option_context("display.max_colwidth", 80):
    for rule, rows in quarantine.groupby("rule", sort=False):
        display(Markdown(f"**{rule}**"))
        display(rows[["table", "source_file", "source_row", "column", "detail"]].head(3))

# %% [markdown]
# ## What was fixed

# %%
fixes_by_kind = pd.DataFrame(
    [
        {"table": table, "fix": fix, "rows": count}
        for table, info in quality["tables"].items()
        for fix, count in info["fixes"].items()
    ],
    columns=["table", "fix", "rows"],
)
display(fixes_by_kind)
fixes = pd.read_csv(DATA / "fixes.csv")
with pd.option_context("display.max_colwidth", 80):
    display(fixes[["table", "fix", "column", "detail"]].head(10))

# %% [markdown]
# ## The clean panel: units and coverage

# %%
display(Markdown(
    f"Money in **{metadata['money']['currency']}** at **{metadata['money']['prices']}** prices"
    + (f" of {metadata['money']['base_year']}" if metadata["money"]["base_year"] else "")
    + f"; {metadata['rows']['panel']:,} consortium-years of {metadata['rows']['consortia']:,} "
    f"consortia, {metadata['rows']['years'][0]}–{metadata['rows']['years'][1]}."
))
panel = pd.read_parquet(DATA / "panel.parquet")
lead_types = [lead for lead in LEAD_TYPE_PALETTE if lead in set(panel["lead_type"])]
figure, axis = plt.subplots(figsize=(7, 3.5))
sns.countplot(data=panel, x="year", hue="lead_type", hue_order=lead_types,
              palette=LEAD_TYPE_PALETTE, ax=axis)
axis.set(title="Consortium-years by year and lead type", xlabel="", ylabel="consortium-years")
plt.show()

# %% [markdown]
# ## Distributions by lead type
#
# The means, SDs and N of these measures are Table 1 (below, as the workflow
# wrote it); the plots show their shape.

# %%
table1 = RESULTS / "tables" / "table1_descriptives.md"
display(Markdown(table1.read_text()))

# %%
measures = [m for m in ("type_diversity", "lead_decision_weight", "collab_intensity",
                        "industrial_task_share", "transfer_rate") if m in panel.columns]
figure, axes = plt.subplots(1, len(measures), figsize=(3.2 * len(measures), 3.2), sharey=False)
for axis, measure in zip(axes, measures):
    sns.boxplot(data=panel, y="lead_type", x=measure, order=lead_types,
                hue="lead_type", palette=LEAD_TYPE_PALETTE, ax=axis, fliersize=1)
    axis.set(ylabel="", title=measure)
    if axis is not axes[0]:
        axis.set_yticklabels([])
plt.tight_layout()
plt.show()

# %%
figure_path = RESULTS / "figures" / "transfer_rate_by_lead_type.png"
if figure_path.is_file():
    display(Image(filename=str(figure_path), width=600))
else:
    display(Markdown("The dataset cannot give the transfer rate: the workflow skipped its figure."))

# %% [markdown]
# ## Tasks: durations and censoring

# %%
tasks_path = DATA / "tasks.parquet"
if tasks_path.is_file():
    tasks = pd.read_parquet(tasks_path)
    display(Markdown(
        f"{metadata['rows']['tasks']:,} tasks; {metadata['tasks']['censored']:,} right-censored at "
        f"{metadata['tasks']['censoring_date']}."
    ))
    figure, axis = plt.subplots(figsize=(7, 3.5))
    sns.histplot(data=tasks, x="duration_years", hue="censored", multiple="stack", bins=30, ax=axis)
    axis.set(title="Task durations (years), by censoring", xlabel="years")
    plt.show()
else:
    display(Markdown("The dataset has no tasks table."))
