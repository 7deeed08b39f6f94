"""Snakemake entry point of rule `montecarlo_summary`: all logic is in consortia.montecarlo."""

from consortia.montecarlo.steps import summary_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    summary_step(
        batch_paths=list(snakemake.input.batches),  # noqa: F821
        table_stem=snakemake.output.table[0].rsplit(".", 1)[0],  # noqa: F821
        figure_stem=snakemake.output.figure[0].rsplit(".", 1)[0],  # noqa: F821
        study=snakemake.params.study,  # noqa: F821
        truths=snakemake.params.truths,  # noqa: F821
        registry_path=snakemake.input.registry,  # noqa: F821
    )
