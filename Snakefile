# consortia: contract-conforming dataset in, clean consortium-year panel,
# tables and figures out.
#
#   snakemake --cores all                                   # the demo
#   snakemake --cores all --config dataset=DIR results=OUT  # any dataset
#
# `snakemake --list-rules` lists the rules with their one-line descriptions;
# `consortia run` runs the workflow with a one-line progress display.
import os

from snakemake.utils import min_version, validate

from consortia import runlock

# Every job's Python inherits this. The fixed-effects fits (pyfixest) differ
# in the 10th digit between processes unless Python's string hashing is
# seeded (checked: identical under a fixed seed, not under random ones), so
# the seed is fixed to make reruns byte-identical (tests/test_determinism.py).
os.environ["PYTHONHASHSEED"] = "0"
# Jobs run side by side on few cores; a BLAS thread pool per job oversubscribes
# them (measured: models stage at 10k consortia 189 s with the default, 75 s
# with one thread). Override by setting the variables before the run.
for blas_threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(blas_threads, "1")


envvars:
    "PYTHONHASHSEED",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",


min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


validate(config, "config/schemas/config.schema.yaml")

# One run at a time in a results folder (consortia.runlock), taken before the DAG is
# built so that a second run is refused before it reads the first one's half-written
# files. Not for a dry run (it writes nothing), nor in the per-job Snakemake processes a
# cluster executor starts (exec mode remote or subprocess): they re-read this file while
# the main process holds the lock. Kept referenced: the lock lasts while the file is open.
if workflow.is_main_process and not workflow.output_settings.dryrun:
    RESULTS_LOCK = runlock.acquire(config["results"])


include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/data.smk"
include: "rules/outputs.smk"
include: "rules/claims.smk"
include: "rules/models.smk"
include: "rules/cordis.smk"
include: "rules/provenance.smk"
include: "rules/montecarlo.smk"


rule all:
    # fmt: off[sort]  # snakefmt 2.1 sorts default_target above the docstring, then fails to parse
    """Everything the dataset allows: panel, tasks, quality report, tables, figures."""
    input:
        final_outputs(),
    default_target: True


onstart:
    print_plan()


onsuccess:
    print_quality_summary()
