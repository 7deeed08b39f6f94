"""Snakemake entry point of rule `fit_models`: all logic is in consortia.estimate.steps."""

from consortia.estimate.steps import fit_models_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    specs = snakemake.params.specs  # noqa: F821
    fit_models_step(
        entries=specs,
        derived=snakemake.params.derived,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        fit_paths=dict(zip([s["name"] for s in specs], snakemake.output.fits, strict=True)),  # noqa: F821
        manifest_path=snakemake.output.manifest,  # noqa: F821
        planned_skips=snakemake.params.planned_skips,  # noqa: F821
    )
