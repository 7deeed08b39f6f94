"""Snakemake entry point of rule `scp_coefficient_plots`: logic in consortia.estimate.steps."""

from consortia.estimate.steps import coefficient_plots_step
from consortia.files import stems_by_name
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    params = snakemake.params  # noqa: F821
    coefficient_plots_step(
        figures=params.figures,
        fit_jsons=dict(zip(params.fit_names, snakemake.input.fits, strict=True)),  # noqa: F821
        figure_stems=stems_by_name(snakemake.output),  # noqa: F821
        labels=params.labels,
    )
