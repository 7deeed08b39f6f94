# Helpers shared by the rules: where things go, and what the dataset allows.
# The logic lives in consortia.workflow; this file only names paths.
from pathlib import Path

from consortia import adapters
from consortia import workflow as wf

RESULTS = Path(config["results"])
# The plan of the dataset folder: a data adapter's promise (config key `adapter`, e.g.
# rules/cordis.smk writes the folder in a rule, so its headers cannot be read before the
# run), or the headers of a folder that already follows the contract.
PLAN = adapters.plan_for(config)

# Each rule file appends the files its rules make to `rule all` here, so that
# adding a family of outputs touches only its own rule file.
EXTRA_OUTPUTS = []
# ... and may add lines to the plan printed when a run starts (what it skips, and why).
EXTRA_PLAN_LINES = []


def results_path(*parts):
    return str(RESULTS.joinpath(*parts))


def log_path(rule_name):
    return results_path("logs", f"{rule_name}.log")


# Snakemake measures each job's wall-clock time and peak memory into this file
# (`benchmark: benchmark_path("rule")`); provenance.json and REPLICATION.md
# report them as the run's computational requirements.
def benchmark_path(rule_name):
    return results_path("benchmarks", f"{rule_name}.tsv")


def clean_tables():
    return {table: results_path("data", "clean", f"{table}.parquet") for table in PLAN.files}


def table_stem(name):
    return results_path("tables", name)


def figure_stem(name):
    return results_path("figures", name)


def final_outputs():
    outputs = [
        results_path("data", "quality.json"),
        results_path("data", "panel.parquet"),
        results_path("data", "metadata.json"),
    ]
    outputs += [table_stem("table1_descriptives") + ext for ext in wf.TABLE_EXTENSIONS]
    if PLAN.has_table("tasks"):
        outputs.append(results_path("data", "tasks.parquet"))
    if PLAN.can_build("transfer_rate"):
        outputs += [figure_stem("transfer_rate_by_lead_type") + ext for ext in wf.FIGURE_EXTENSIONS]
    outputs.append(results_path("claims", "claims.json"))
    return outputs + EXTRA_OUTPUTS


def claims_inputs(wildcards):
    inputs = {
        "registry": config["claims"],
        "panel": results_path("data", "panel.parquet"),
        "consortia": results_path("data", "clean", "consortia.parquet"),
    }
    if PLAN.has_table("tasks"):
        inputs["tasks"] = results_path("data", "tasks.parquet")
    return inputs


def metadata_inputs(wildcards):
    inputs = {
        "quality": results_path("data", "quality.json"),
        "panel": results_path("data", "panel.parquet"),
        "measures": results_path("data", "panel_measures.json"),
    }
    if PLAN.has_table("tasks"):
        inputs["tasks"] = results_path("data", "tasks.parquet")
    return inputs


def print_plan():
    print(PLAN.describe())
    for line in EXTRA_PLAN_LINES:
        print(line)


def print_quality_summary():
    quality = Path(results_path("data", "quality.json"))
    if quality.exists():  # absent when only other targets ran (e.g. `snakemake montecarlo`)
        print(wf.quality_summary(quality))
        print(wf.outputs_summary(RESULTS))
