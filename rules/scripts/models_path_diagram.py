"""Snakemake entry point of rule `scp_path_diagram`: logic in consortia.estimate.steps."""

from consortia.estimate.steps import path_diagram_step
from consortia.files import stems_by_name
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    (stem,) = stems_by_name(snakemake.output).values()  # noqa: F821
    path_diagram_step(
        mediation_jsons=list(snakemake.input),  # noqa: F821
        stem=stem,
        title=snakemake.params.title,  # noqa: F821
        labels=snakemake.params.labels,  # noqa: F821
    )
