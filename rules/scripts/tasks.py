"""Snakemake entry point of rule `tasks`: all logic is in consortia.workflow.tasks_step."""

from consortia.workflow import logged_step, tasks_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    tasks_step(
        clean_tasks_path=snakemake.input.tasks,  # noqa: F821
        clean_consortia_path=snakemake.input.consortia,  # noqa: F821
        tasks_path=snakemake.output.tasks,  # noqa: F821
        censoring_date=snakemake.params.censoring_date,  # noqa: F821
    )
