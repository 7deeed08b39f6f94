"""Snakemake entry point of rule `figure_transfer_rate`: logic in consortia.workflow."""

from consortia.workflow import figure_transfer_rate_step, logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    figure_transfer_rate_step(
        panel_path=snakemake.input.panel,  # noqa: F821
        outputs=list(snakemake.output),  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
    )
