"""Snakemake entry point of rule `claims`: all logic is in consortia.claims.steps.claims_step."""

from consortia.claims.steps import claims_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    claims_step(
        registry_path=snakemake.input.registry,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        json_path=snakemake.output.json,  # noqa: F821
        tasks_path=snakemake.input.get("tasks"),  # noqa: F821
        consortia_path=snakemake.input.consortia,  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
    )
