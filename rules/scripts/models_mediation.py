"""Snakemake entry point of rule `mediation`: all logic is in consortia.estimate.steps."""

from consortia.estimate.steps import mediation_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    entries = snakemake.params.entries  # noqa: F821
    mediation_step(
        entries=entries,
        derived=snakemake.params.derived,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
        out_paths=dict(zip([e["name"] for e in entries], snakemake.output, strict=True)),  # noqa: F821
    )
