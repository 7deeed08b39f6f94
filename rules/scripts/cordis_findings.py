"""Snakemake entry point of rule `cordis_findings`: all logic is in consortia.cordis_findings."""

from consortia.cordis_findings import findings_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    findings_step(
        consortia_path=snakemake.input.consortia,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        tasks_path=snakemake.input.tasks,  # noqa: F821
        history_years=snakemake.params.history_years,  # noqa: F821
        json_path=snakemake.output.json,  # noqa: F821
        markdown_path=snakemake.output.markdown,  # noqa: F821
        figure_stem=snakemake.params.figure_stem,  # noqa: F821
    )
