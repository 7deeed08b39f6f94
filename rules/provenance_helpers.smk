# Helpers of rules/provenance.smk: the inputs of the provenance rule, and the
# registry of rules, outputs and captions read from Snakemake's rule objects.
# They run when the DAG is built, after every rule file has been parsed, so
# rules included after this file are registered too.
import os

from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.exceptions import WorkflowError
from snakemake.io import get_flag_value, is_callable, is_flagged

from consortia import provenance as prov

PROVENANCE = results_path("provenance.json")
REPLICATION = results_path("REPLICATION.md")
PROJECT_DIR = workflow.basedir

NOT_IN_DATASET = prov.not_in_dataset(
    config["dataset"], prov.dataset_files(config["dataset"], PLAN.files.values())
)
if NOT_IN_DATASET:
    EXTRA_PLAN_LINES.append(
        f"  not part of the dataset (not read, not hashed): {', '.join(NOT_IN_DATASET)}"
    )


def provenance_inputs(wildcards):
    leaves = {PROVENANCE, REPLICATION}
    schemas = Path(PROJECT_DIR, "config", "schemas").glob("*.yaml")
    config_files = {str(path) for path in workflow.configfiles}
    config_files |= {os.path.relpath(path, PROJECT_DIR) for path in schemas}
    config_files |= set(prov.referenced_config_files(config))
    # Files without wildcards that rules write (e.g. the CORDIS ingest's source.json).
    made = [
        str(out) for rule in workflow.rules for out in rule.output if not out.get_wildcard_names()
    ]
    dataset = prov.dataset_files(config["dataset"], PLAN.files.values(), made_by_workflow=made)
    return {
        "outputs": [path for path in final_outputs() if path not in leaves],
        # declared so that a changed dataset file reruns provenance; hashed when it runs
        "dataset": [str(path) for path in dataset],
        "config_files": sorted(config_files),
    }


def output_record(output):
    report_flag = get_flag_value(output, "report") if is_flagged(output, "report") else None
    caption = report_flag.caption if report_flag else None
    return {
        "pattern": str(output),
        "regex": output.regex().pattern,
        "caption": caption.get_path_or_uri(secret_free=True) if caption else None,
        "category": report_flag.category if report_flag else None,
    }


def rule_records(wildcards):
    return [
        prov.rule_record(
            name=rule.name,
            description=rule.docstring,
            # condition first: a line that begins with `rule` is a rule keyword to Snakemake
            script=(
                None
                if not rule.script
                else rule.basedir.join(rule.script).get_path_or_uri(secret_free=True)
            ),
            outputs=[output_record(output) for output in rule.output],
            inputs=[str(item) for item in rule.input if not is_callable(item)],
            benchmarks=[str(rule.benchmark)] if rule.benchmark else [],
            project_dir=PROJECT_DIR,
        )
        for rule in workflow.rules
        if rule.output
    ]


def run_record(wildcards):
    try:
        cores = workflow.cores
    except WorkflowError:  # a dry run given no --cores
        cores = None
    return {
        "project_dir": PROJECT_DIR,
        "cores": cores,
        "snakemake": SNAKEMAKE_VERSION,
        "configfiles": [
            os.path.relpath(path, PROJECT_DIR) for path in workflow.config_settings.configfiles
        ],
        "config_overrides": dict(workflow.config_settings.config),
    }
