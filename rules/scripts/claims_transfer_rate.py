"""Snakemake entry point of rule `claims_transfer_rate`: logic in
consortia.claims.steps.transfer_figure_step."""

from consortia.claims.steps import transfer_figure_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    transfer_figure_step(
        registry_path=snakemake.input.registry,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        figure_stem=snakemake.output.png.rsplit(".", 1)[0],  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
    )
