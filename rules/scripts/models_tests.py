"""Snakemake entry point of rule `specification_tests`: logic in consortia.estimate.pipeline."""

from consortia.estimate.pipeline import specification_tests_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    pairs = snakemake.params.pairs  # noqa: F821
    specification_tests_step(
        pairs=pairs,
        models=snakemake.params.specs,  # noqa: F821
        derived=snakemake.params.derived,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        out_paths=dict(zip(pairs, snakemake.output, strict=True)),  # noqa: F821
    )
