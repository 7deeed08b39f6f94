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
# # 03 · The review's claims
#
# The verdict on each quantitative claim of Yan (2025) registered in
# `config/claims.yaml`, the forest plot, and the power of each test (minimum
# detectable effect, consortia needed), all as the workflow's `claims` rule wrote
# them: `claims/claims.json`, `tables/claims.csv` and the `claims_*` figures.
# The verdict rules are in `docs/claims.md`.
#
# **Parameter**: the results folder, `results` by default; set the environment
# variable `CONSORTIA_RESULTS` to read another run.

# %%
import json
import os
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from consortia.runner import find_project_dir

RESULTS = Path(os.environ.get("CONSORTIA_RESULTS", "results"))
if not RESULTS.is_absolute():
    RESULTS = find_project_dir() / RESULTS
CLAIMS_JSON = RESULTS / "claims" / "claims.json"
if not CLAIMS_JSON.is_file():
    raise FileNotFoundError(
        f"{CLAIMS_JSON} does not exist: run the workflow first (`snakemake --cores all`), or "
        "point CONSORTIA_RESULTS at a finished results folder"
    )
claims = json.loads(CLAIMS_JSON.read_text())
tests = pd.read_csv(RESULTS / "tables" / "claims.csv")
display(Markdown(
    f"Results folder: `{RESULTS}` · {len(claims['claims'])} claims, {len(tests)} tests · "
    f"confidence level {claims['settings']['ci_level']:.0%}, power target "
    f"{claims['settings']['power']:.0%}"
))

# %% [markdown]
# ## Verdicts

# %%
verdicts = pd.DataFrame(
    [
        {"claim": c["id"], "label": c["label"], "section": c["section"], "verdict": c["verdict"],
         "reason": c["reason"]}
        for c in claims["claims"]
    ]
).set_index("claim")
display(verdicts["verdict"].value_counts().rename("claims").to_frame())
with pd.option_context("display.max_colwidth", 100):
    display(verdicts)

# %% [markdown]
# ## The claims table and the forest plot

# %%
display(Markdown((RESULTS / "tables" / "claims.md").read_text()))

# %%
for figure in sorted((RESULTS / "figures").glob("claims_*.png")):
    display(Markdown(f"**{figure.name}**"))
    display(Image(filename=str(figure), width=750))

# %% [markdown]
# ## Each test: estimate, claimed value and rival
#
# One row per test, with the claim's quote for context.

# %%
quotes = {c["id"]: c["quote"] for c in claims["claims"]}
shown = [column for column in ("claim_id", "test", "role", "estimate", "ci_lower", "ci_upper",
                               "claimed", "rival", "verdict", "n_consortia") if column in tests]
with pd.option_context("display.max_colwidth", 60):
    display(tests[shown])
for claim_id, quote in quotes.items():
    display(Markdown(f"- **{claim_id}**: “{quote}”"))

# %% [markdown]
# ## Power
#
# The minimum detectable effect of each testable test with this dataset, its
# power now, and the number of consortia a study would need for 80% power
# against the rival, as the `claims` rule computed them.

# %%
power_columns = [column for column in ("claim_id", "test", "mde", "mde_ratio", "power_now",
                                        "consortia_needed_vs_rival",
                                        "consortia_needed_equivalence") if column in tests]
power = tests[power_columns].dropna(subset=[c for c in ("mde",) if c in power_columns])
display(power.reset_index(drop=True))
if "consortia_needed_vs_rival" in power and power["consortia_needed_vs_rival"].notna().any():
    needed = power.dropna(subset=["consortia_needed_vs_rival"])
    figure, axis = plt.subplots(figsize=(7, 0.35 * len(needed) + 1))
    axis.barh([f"{c} · {t}" for c, t in zip(needed["claim_id"], needed["test"])],
              needed["consortia_needed_vs_rival"])
    axis.axvline(claims["data"]["panel_consortia"], linestyle="--", color="grey",
                 label="consortia in this dataset")
    axis.set(xscale="log", xlabel="consortia needed for 80% power vs the rival (log scale)")
    axis.invert_yaxis()  # the table's order, top to bottom
    axis.legend()
    plt.tight_layout()
    plt.show()
