"""Snakemake entry point of rule `table1`: all logic is in consortia.workflow.table1_step."""

from consortia.workflow import logged_step, table1_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    table1_step(
        panel_path=snakemake.input.panel,  # noqa: F821
        metadata_path=snakemake.input.metadata,  # noqa: F821
        outputs=list(snakemake.output),  # noqa: F821
        labels=snakemake.params.labels,  # noqa: F821
    )
