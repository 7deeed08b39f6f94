"""Snakemake entry point of rule `panel`: all logic is in consortia.workflow.panel_step."""

from consortia.workflow import logged_step, panel_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    panel_step(
        clean_paths=dict(snakemake.input.items()),  # noqa: F821
        panel_path=snakemake.output.panel,  # noqa: F821
        measures_path=snakemake.output.measures,  # noqa: F821
    )
