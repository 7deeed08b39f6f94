# Monte Carlo validation of the claims (config/montecarlo.yaml): `snakemake montecarlo`.
# Not part of `rule all`. One job per batch of worlds, so that a cluster executor
# (profiles/slurm) spreads them; the logic is in consortia.montecarlo.
include: "montecarlo_helpers.smk"


rule montecarlo_batch:
    """One batch of simulated worlds of one size under one truth: per-test estimates, CIs, verdicts, truths."""
    input:
        registry=MONTECARLO["registry"],
    output:
        results_path("{study}", "batches", "{truth}", "n{size}", "batch{batch}.parquet"),
    log:
        results_path("logs", "{study}", "{truth}_n{size}_batch{batch}.log"),
    benchmark:
        results_path("{study}", "benchmarks", "{truth}_n{size}_batch{batch}.tsv")
    wildcard_constraints:
        study=MONTECARLO_STUDY_PATTERN,
        truth="|".join(MONTECARLO["truths"]),
        size=r"\d+",
        batch=r"\d{3}",
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=montecarlo_batch_runtime,
    params:
        overrides=montecarlo_overrides,
        claims=montecarlo_claims,
        n_worlds=montecarlo_n_worlds,
        world=montecarlo_world,
        seed=montecarlo_seed,
    script:
        "scripts/montecarlo_batch.py"


rule montecarlo_summary:
    """Error rates of the verdicts, coverage of the 95% CIs and power, per truth, size and claim."""
    input:
        batches=montecarlo_summary_inputs,
        registry=MONTECARLO["registry"],
    output:
        table=multiext(results_path("{study}", "coverage"), *wf.TABLE_EXTENSIONS),
        figure=multiext(figure_stem("{study}_error_rates"), *wf.FIGURE_EXTENSIONS),
    log:
        results_path("logs", "{study}", "summary.log"),
    wildcard_constraints:
        study=MONTECARLO_STUDY_PATTERN,
    conda:
        "../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        study=montecarlo_study,
        truths=montecarlo_truths,
    script:
        "scripts/montecarlo_summary.py"


rule montecarlo:
    """Monte Carlo validation of the claims (near-miss truths at four sizes): error-rate table and figure."""
    input:
        montecarlo_outputs("montecarlo"),


rule montecarlo_smoke:
    """The same Monte Carlo rules on a few tiny worlds (seconds; used by the tests)."""
    input:
        montecarlo_outputs("montecarlo_smoke"),
