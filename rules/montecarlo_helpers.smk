# Helpers of rules/montecarlo.smk: the study configuration (config/montecarlo.yaml,
# validated when the workflow loads), the batch files of a study, and each batch
# job's parameters and resources.
from consortia.montecarlo import config as mc_config

MONTECARLO = mc_config.load_config("config/montecarlo.yaml")
MONTECARLO_STUDY_PATTERN = "|".join(MONTECARLO["studies"])


def montecarlo_study(wildcards):
    return MONTECARLO["studies"][wildcards.study]


def montecarlo_batches(study):
    """Every batch file of a study:
    results/<study>/batches/<truth>/n<consortia>/batch<NNN>.parquet."""
    spec = MONTECARLO["studies"][study]
    n_batches = len(mc_config.batch_sizes(spec["worlds_per_truth"], spec["batch_size"]))
    return [
        results_path(study, "batches", truth, f"n{size}", f"batch{b:03d}.parquet")
        for truth in spec["truths"]
        for size in mc_config.truth_sizes(spec, MONTECARLO["truths"][truth])
        for b in range(n_batches)
    ]


def montecarlo_summary_inputs(wildcards):
    return montecarlo_batches(wildcards.study)


def montecarlo_outputs(study):
    return [results_path(study, "coverage") + ext for ext in wf.TABLE_EXTENSIONS] + [
        figure_stem(f"{study}_error_rates") + ext for ext in wf.FIGURE_EXTENSIONS
    ]


def montecarlo_overrides(wildcards):
    return MONTECARLO["truths"][wildcards.truth]["overrides"]


def montecarlo_claims(wildcards):
    return MONTECARLO["truths"][wildcards.truth].get("claims")


def montecarlo_n_worlds(wildcards):
    spec = montecarlo_study(wildcards)
    return mc_config.batch_sizes(spec["worlds_per_truth"], spec["batch_size"])[int(wildcards.batch)]


def montecarlo_world(wildcards):
    return montecarlo_study(wildcards)["world"]


def montecarlo_seed(wildcards):
    return montecarlo_study(wildcards)["seed"]


def montecarlo_truths(wildcards):
    spec = montecarlo_study(wildcards)
    return {name: MONTECARLO["truths"][name] for name in spec["truths"]}


def montecarlo_batch_runtime(wildcards):
    """Minutes for one batch: measured 2–10 s per world of 300 consortia on a shared core
    (docs/scaling.md), budgeted at 30 s per world per 300 consortia, plus 5 minutes of
    start-up (imports, the simulator's calibration)."""
    seconds = montecarlo_n_worlds(wildcards) * 30 * max(1.0, int(wildcards.size) / 300)
    return 5 + int(seconds // 60 + 1)
