"""Snakemake entry point of rule `claims_km`: logic in consortia.claims.steps.km_figure_step."""

from consortia.claims.steps import km_figure_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    km_figure_step(
        tasks_path=snakemake.input.tasks,  # noqa: F821
        figure_stem=snakemake.output.png.rsplit(".", 1)[0],  # noqa: F821
        json_path=snakemake.input.claims,  # noqa: F821
        labels=snakemake.params.labels,  # noqa: F821
    )
