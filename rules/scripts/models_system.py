"""Snakemake entry point of rule `system_fit`: all logic is in consortia.estimate.steps."""

from consortia.estimate.steps import system_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    for system, out_json in zip(snakemake.params.systems, snakemake.output, strict=True):  # noqa: F821
        system_step(
            system=system,
            equations=snakemake.params.equations[system["name"]],  # noqa: F821
            derived=snakemake.params.derived,  # noqa: F821
            panel_path=snakemake.input.panel,  # noqa: F821
            out_json=out_json,
        )
