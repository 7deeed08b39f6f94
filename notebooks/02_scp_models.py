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
# # 02 · The structure → conduct → performance models
#
# The SCP models as the workflow fitted them: each specification's stored fit
# (`models/fits/<model>.json`, read with `FitResult.from_json`, never refitted),
# the SCP tables (`tables/scp_*`), the coefficient plots and the path diagram,
# and how a coefficient moves across specifications. Every estimate, standard
# error and interval shown here is read from those files.
#
# **Parameter**: the results folder, `results` by default; set the environment
# variable `CONSORTIA_RESULTS` to read another run.

# %%
import os
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display
from matplotlib import pyplot as plt

from consortia.estimate import FitResult
from consortia.runner import find_project_dir

RESULTS = Path(os.environ.get("CONSORTIA_RESULTS", "results"))
if not RESULTS.is_absolute():
    RESULTS = find_project_dir() / RESULTS
FITS = RESULTS / "models" / "fits"
fit_files = sorted(FITS.glob("*.json"))
if not fit_files:
    raise FileNotFoundError(
        f"no fitted models in {FITS}: run the workflow first (`snakemake --cores all`); if it "
        "ran, the dataset lacks every model's variables (see models/manifest.json and the run's "
        "plan) or the models config is empty"
    )
fits = {path.stem: FitResult.from_json(path) for path in fit_files}
display(Markdown(f"Results folder: `{RESULTS}` · {len(fits)} fitted specifications"))

# %% [markdown]
# ## The specifications
#
# Estimator, outcome, fixed effects, clustering and small-sample convention of
# each stored fit.

# %%
specifications = pd.DataFrame(
    [
        {
            "model": name,
            "estimator": fit.estimator_label,
            "outcome": fit.outcome,
            "fixed effects": ", ".join(fit.fixed_effects) or "none",
            "clustering": fit.clustering,
            "small sample": fit.small_sample,
            "N": fit.nobs,
            "clusters": ", ".join(f"{k}: {v}" for k, v in fit.n_clusters.items()),
        }
        for name, fit in fits.items()
    ]
).set_index("model")
with pd.option_context("display.max_colwidth", 60):
    display(specifications)

# %% [markdown]
# ## The SCP tables, as the workflow wrote them

# %%
scp_tables = sorted((RESULTS / "tables").glob("scp_*.md"))
if not scp_tables:
    raise FileNotFoundError(f"no SCP tables (scp_*.md) in {RESULTS / 'tables'}")
for table in scp_tables:
    display(Markdown(f"### `{table.stem}`\n\n" + table.read_text()))

# %% [markdown]
# ## Figures: coefficient plots and the path diagram

# %%
for figure in sorted((RESULTS / "figures").glob("coef_*.png")) + sorted(
    (RESULTS / "figures").glob("scp_path_diagram*.png")
):
    display(Markdown(f"**{figure.name}**"))
    display(Image(filename=str(figure), width=700))

# %% [markdown]
# ## Sensitivity to the specification
#
# The same coefficient in every stored fit that has it: estimate and 95%
# confidence interval as stored with the fit (t(G−1) for linear models, normal
# otherwise). Coefficients of count and rate models are on their own scales
# (log points, log-odds), so compare within an estimator family. Pick another
# term with `TERM`.

# %%
coefficients = pd.concat([fit.to_frame() for fit in fits.values()], ignore_index=True)
coefficients = coefficients[coefficients["quantity"] == "coef"]
TERM = os.environ.get("CONSORTIA_TERM", "lead_decision_weight")
if TERM not in set(coefficients["term"]):
    TERM = coefficients["term"].value_counts().index[0]
across = coefficients[coefficients["term"] == TERM].merge(
    specifications[["estimator", "outcome"]], left_on="model", right_index=True
)
display(across[["model", "estimator", "outcome", "estimate", "std_error", "ci_lower", "ci_upper",
                "p_value"]].reset_index(drop=True))

figure, axis = plt.subplots(figsize=(7, 0.35 * len(across) + 1))
positions = range(len(across))
axis.errorbar(
    across["estimate"], positions,
    xerr=[across["estimate"] - across["ci_lower"], across["ci_upper"] - across["estimate"]],
    fmt="o", capsize=3,
)
axis.axvline(0, linestyle="--", color="grey")
axis.set_yticks(list(positions), [f"{m} ({o})" for m, o in zip(across["model"], across["outcome"])])
axis.set(title=f"{TERM}: estimate and 95% CI by specification", xlabel="coefficient")
plt.tight_layout()
plt.show()
