"""Snakemake entry point of rule `montecarlo_batch`: all logic is in consortia.montecarlo."""

from consortia.montecarlo.steps import batch_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    batch_step(
        output_path=snakemake.output[0],  # noqa: F821
        registry_path=snakemake.input.registry,  # noqa: F821
        truth_name=snakemake.wildcards.truth,  # noqa: F821
        overrides=snakemake.params.overrides,  # noqa: F821
        batch_index=int(snakemake.wildcards.batch),  # noqa: F821
        n_worlds=snakemake.params.n_worlds,  # noqa: F821
        n_consortia=int(snakemake.wildcards.size),  # noqa: F821
        claims=snakemake.params.claims,  # noqa: F821
        world=snakemake.params.world,  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
    )
