"""Snakemake entry point of rule `metadata`: all logic is in consortia.workflow.metadata_step."""

from consortia.workflow import logged_step, metadata_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    metadata_step(
        inputs=dict(snakemake.input.items()),  # noqa: F821
        metadata_path=snakemake.output.metadata,  # noqa: F821
        **snakemake.params,  # noqa: F821
    )
