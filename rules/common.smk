# Helpers shared by the rules: where things go, and what the dataset allows.
# The logic lives in consortia.workflow; this file only names paths.
from pathlib import Path

from consortia import workflow as wf

RESULTS = Path(config["results"])
PLAN = wf.plan_dataset(
    dataset=config["dataset"],
    tables_cfg=config.get("tables", {}),
    columns_cfg=config.get("columns", {}),
)


# Each rule file appends the files its rules make to `rule all` here, so that
# adding a family of outputs touches only its own rule file.
EXTRA_OUTPUTS = []


def results_path(*parts):
    return str(RESULTS.joinpath(*parts))


def log_path(rule_name):
    return results_path("logs", f"{rule_name}.log")


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


def print_quality_summary():
    print(wf.quality_summary(results_path("data", "quality.json")))
