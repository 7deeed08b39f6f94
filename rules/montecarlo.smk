# Monte Carlo validation of the claims (config/montecarlo.yaml): `snakemake montecarlo`.
# Not part of `rule all`. One job per batch of worlds, so that a cluster executor
# (profiles/slurm) spreads them; the logic is in consortia.montecarlo.
from consortia import montecarlo as mc

MONTECARLO = mc.load_config("config/montecarlo.yaml")


wildcard_constraints:
    study="|".join(MONTECARLO["studies"]),
    truth="|".join(MONTECARLO["truths"]),
    batch=r"\d{3}",


def montecarlo_study(wildcards):
    return MONTECARLO["studies"][wildcards.study]


def montecarlo_batches(study):
    """Every batch file of a study: results/<study>/batches/<truth>/batch<NNN>.parquet."""
    spec = MONTECARLO["studies"][study]
    n_batches = len(mc.batch_sizes(spec["worlds_per_truth"], spec["batch_size"]))
    return [
        results_path(study, "batches", truth, f"batch{b:03d}.parquet")
        for truth in spec["truths"]
        for b in range(n_batches)
    ]


def montecarlo_summary_inputs(wildcards):
    return montecarlo_batches(wildcards.study)


def montecarlo_outputs(study):
    return [results_path(study, "coverage") + ext for ext in wf.TABLE_EXTENSIONS] + [
        figure_stem(f"{study}_power") + ext for ext in wf.FIGURE_EXTENSIONS
    ]


def montecarlo_overrides(wildcards):
    return MONTECARLO["truths"][wildcards.truth]["overrides"]


def montecarlo_n_worlds(wildcards):
    spec = montecarlo_study(wildcards)
    return mc.batch_sizes(spec["worlds_per_truth"], spec["batch_size"])[int(wildcards.batch)]


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
    spec = montecarlo_study(wildcards)
    seconds = montecarlo_n_worlds(wildcards) * 30 * max(1.0, spec["world"]["n_consortia"] / 300)
    return 5 + int(seconds // 60 + 1)


rule montecarlo_batch:
    """One batch of simulated worlds under one truth: per-test estimates, CIs, verdicts, truths."""
    input:
        registry=MONTECARLO["registry"],
    output:
        results_path("{study}", "batches", "{truth}", "batch{batch}.parquet"),
    params:
        overrides=montecarlo_overrides,
        n_worlds=montecarlo_n_worlds,
        world=montecarlo_world,
        seed=montecarlo_seed,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=montecarlo_batch_runtime,
    log:
        results_path("logs", "{study}", "{truth}_batch{batch}.log"),
    benchmark:
        results_path("{study}", "benchmarks", "{truth}_batch{batch}.tsv")
    conda:
        "../environment.yml"
    script:
        "scripts/montecarlo_batch.py"


rule montecarlo_summary:
    """Coverage of the 95% CIs, share of correct verdicts and power, per truth and claim."""
    input:
        montecarlo_summary_inputs,
    output:
        table=multiext(results_path("{study}", "coverage"), *wf.TABLE_EXTENSIONS),
        figure=multiext(figure_stem("{study}_power"), *wf.FIGURE_EXTENSIONS),
    params:
        study=montecarlo_study,
        truths=montecarlo_truths,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        results_path("logs", "{study}", "summary.log"),
    conda:
        "../environment.yml"
    script:
        "scripts/montecarlo_summary.py"


rule montecarlo:
    """Monte Carlo validation of the claims (200 worlds × 3 truths): coverage table and power figure."""
    input:
        montecarlo_outputs("montecarlo"),


rule montecarlo_smoke:
    """The same Monte Carlo rules on a few tiny worlds (seconds; used by the tests)."""
    input:
        montecarlo_outputs("montecarlo_smoke"),
